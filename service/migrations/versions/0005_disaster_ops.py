"""Disaster operations: shelter status, the active hazard and its history, residents' areas
and topics, alerts sent by multicast through the outbox, and Open311 API keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def _timestamp(name: str, **kwargs: object) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def _point() -> sa.Column[Geometry]:
    return sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False)


def upgrade() -> None:
    op.add_column("line_users", sa.Column("pending", sa.Text))
    op.add_column("line_users", _timestamp("pending_at"))
    op.create_table(
        "shelter_status",
        sa.Column(
            "common_id",
            sa.Text,
            sa.ForeignKey("shelters.common_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("updated_by", sa.Text, nullable=False),
        _timestamp("updated_at", nullable=False, server_default=_NOW),
        sa.CheckConstraint("status IN ('open', 'full', 'closed')", name="shelter_status_check"),
    )
    op.create_table(
        "shelter_status_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("common_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("actor", sa.Text, nullable=False),
        _timestamp("at", nullable=False, server_default=_NOW),
    )
    op.create_index("shelter_status_log_idx", "shelter_status_log", ["common_id", "at"])
    op.create_table(
        "active_hazard",
        sa.Column("id", sa.Integer, primary_key=True, server_default=sa.text("1")),
        sa.Column("hazard", sa.Text, nullable=False),
        sa.Column("declared_by", sa.Text, nullable=False),
        _timestamp("declared_at", nullable=False, server_default=_NOW),
        sa.CheckConstraint("id = 1", name="active_hazard_single_row"),
    )
    op.create_table(
        "hazard_declarations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hazard", sa.Text),
        sa.Column("actor", sa.Text, nullable=False),
        _timestamp("at", nullable=False, server_default=_NOW),
    )
    op.create_index("hazard_declarations_at_idx", "hazard_declarations", ["at"])
    op.create_table(
        "resident_areas",
        sa.Column("user_id", sa.Text, primary_key=True),
        _point(),
        sa.Column("topics", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("consent_version", sa.Text, nullable=False),
        _timestamp("consented_at", nullable=False, server_default=_NOW),
        _timestamp("updated_at", nullable=False, server_default=_NOW),
    )
    op.create_index("resident_areas_geom_idx", "resident_areas", ["geom"], postgresql_using="gist")
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("area_label", sa.Text, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("recipient_count", sa.Integer, nullable=False),
        sa.Column("batch_count", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _timestamp("created_at", nullable=False, server_default=_NOW),
    )
    op.alter_column("line_outbox", "line_user_id", nullable=True)
    op.add_column("line_outbox", sa.Column("recipients", ARRAY(sa.Text)))
    op.add_column(
        "line_outbox",
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE")),
    )
    op.create_check_constraint(
        "line_outbox_one_addressing",
        "line_outbox",
        "(line_user_id IS NULL) <> (recipients IS NULL)",
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        _timestamp("last_used_at"),
        _timestamp("revoked_at"),
    )
    op.add_column("reports", sa.Column("api_key_id", sa.Integer))
    op.add_column("reports", sa.Column("media_url", sa.Text))
    op.add_column("reports", sa.Column("token", sa.Text, unique=True))
    op.create_index("reports_created_idx", "reports", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("reports_created_idx", "reports")
    for column in ("token", "media_url", "api_key_id"):
        op.drop_column("reports", column)
    op.drop_table("api_keys")
    op.drop_constraint("line_outbox_one_addressing", "line_outbox")
    op.drop_column("line_outbox", "alert_id")
    op.drop_column("line_outbox", "recipients")
    op.execute("DELETE FROM line_outbox WHERE line_user_id IS NULL")
    op.alter_column("line_outbox", "line_user_id", nullable=False)
    for table in (
        "alerts",
        "resident_areas",
        "hazard_declarations",
        "active_hazard",
        "shelter_status_log",
    ):
        op.drop_table(table)
    op.drop_table("shelter_status")
    op.drop_column("line_users", "pending_at")
    op.drop_column("line_users", "pending")
