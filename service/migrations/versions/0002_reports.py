"""Defect reports: clusters, reports, photos, status history, drafts, the push outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def _timestamp(name: str, **kwargs: object) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "report_clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'received'")),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        _timestamp("updated_at", nullable=False, server_default=_NOW),
        _timestamp("closed_at"),
    )
    op.create_index(
        "report_clusters_geom_idx", "report_clusters", ["geom"], postgresql_using="gist"
    )
    op.create_index("report_clusters_status_idx", "report_clusters", ["status", "category"])

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cluster_id", sa.Integer, sa.ForeignKey("report_clusters.id"), nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("address", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("line_user_id", sa.Text),
        sa.Column("language", sa.Text, nullable=False, server_default=sa.text("'ja'")),
        sa.Column("source", sa.Text, nullable=False, server_default=sa.text("'line'")),
        _timestamp("created_at", nullable=False, server_default=_NOW),
    )
    op.create_index("reports_geom_idx", "reports", ["geom"], postgresql_using="gist")
    op.create_index(
        "reports_geog_idx", "reports", [sa.text("(geom::geography)")], postgresql_using="gist"
    )
    op.create_index("reports_cluster_idx", "reports", ["cluster_id"])
    op.create_index("reports_user_idx", "reports", ["line_user_id", "created_at"])

    op.create_table(
        "report_photos",
        sa.Column(
            "report_id",
            sa.Integer,
            sa.ForeignKey("reports.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("photo_key", sa.Text, nullable=False),
    )
    op.create_table(
        "cluster_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "cluster_id",
            sa.Integer,
            sa.ForeignKey("report_clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
        _timestamp("at", nullable=False, server_default=_NOW),
    )
    op.create_index("cluster_events_cluster_idx", "cluster_events", ["cluster_id", "at"])

    op.create_table(
        "report_drafts",
        sa.Column("line_user_id", sa.Text, primary_key=True),
        sa.Column("category", sa.Text),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("address", sa.Text),
        sa.Column("photo_keys", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("image_sets", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("photos_done", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("description", sa.Text),
        sa.Column("awaiting", sa.Text, nullable=False),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        _timestamp("updated_at", nullable=False, server_default=_NOW),
    )
    op.create_table(
        "line_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("line_user_id", sa.Text, nullable=False),
        sa.Column("messages", JSONB, nullable=False),
        sa.Column("retry_key", UUID(as_uuid=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _timestamp("next_attempt_at", nullable=False, server_default=_NOW),
        _timestamp("locked_until"),
        sa.Column("last_error", sa.Text),
        _timestamp("created_at", nullable=False, server_default=_NOW),
        _timestamp("sent_at"),
    )
    op.create_index("line_outbox_due_idx", "line_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    for table in (
        "line_outbox",
        "report_drafts",
        "cluster_events",
        "report_photos",
        "reports",
        "report_clusters",
    ):
        op.drop_table(table)
