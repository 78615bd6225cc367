"""Crew accounts, sessions and failed logins.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def _timestamp(name: str, **kwargs: object) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "crew_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column(
            "must_change_password", sa.Boolean, nullable=False, server_default=sa.text("true")
        ),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        sa.CheckConstraint("role IN ('crew', 'admin')", name="crew_accounts_role_check"),
    )
    op.create_table(
        "crew_sessions",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("crew_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.Text, nullable=False),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        _timestamp("expires_at", nullable=False),
        _timestamp("last_seen_at", nullable=False, server_default=_NOW),
    )
    op.create_index("crew_sessions_account_idx", "crew_sessions", ["account_id"])
    op.create_table(
        "crew_login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("client_ip", sa.Text, nullable=False),
        _timestamp("at", nullable=False, server_default=_NOW),
    )
    op.create_index("crew_login_failures_name_idx", "crew_login_failures", ["name", "at"])
    op.create_index("crew_login_failures_ip_idx", "crew_login_failures", ["client_ip", "at"])


def downgrade() -> None:
    for table in ("crew_login_failures", "crew_sessions", "crew_accounts"):
        op.drop_table(table)
