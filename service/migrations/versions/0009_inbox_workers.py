"""Inbox workers with a heartbeat: each claim records the worker process that holds it, and
a claim held by a worker no longer heard from is taken over without waiting for its lease.

Events claimed before this revision have no worker: their lease alone frees them, as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NOW = sa.func.now()


def upgrade() -> None:
    op.create_table(
        "inbox_workers",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("alive_since", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.add_column("line_inbox", sa.Column("worker_id", UUID(as_uuid=True)))


def downgrade() -> None:
    op.drop_column("line_inbox", "worker_id")
    op.drop_table("inbox_workers")
