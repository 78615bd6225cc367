"""Crew login throttle: the addresses each account signed in from lately, which the slower
per-name limit leaves alone (an attacker elsewhere cannot lock the office out).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crew_known_addresses",
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("crew_accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client_ip", sa.Text, primary_key=True),
        sa.Column(
            "last_login_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )


def downgrade() -> None:
    op.drop_table("crew_known_addresses")
