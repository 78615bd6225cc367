"""Shelters, hazard zones, service area, and the LINE inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def _geometry(kind: str) -> Geometry:
    return Geometry(kind, srid=4326, spatial_index=False)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "shelters",
        sa.Column("common_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("municipality", sa.Text, nullable=False),
        sa.Column("hazards", ARRAY(sa.Text), nullable=False),
        sa.Column("is_emergency_site", sa.Boolean, nullable=False),
        sa.Column("is_shelter", sa.Boolean, nullable=False),
        sa.Column("shelter_common_id", sa.Text),
        sa.Column("accepts", sa.Text, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("shelters_geom_idx", "shelters", ["geom"], postgresql_using="gist")

    op.create_table(
        "hazard_layers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("feature_count", sa.Integer, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_table(
        "hazard_zones",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "layer_id",
            sa.Integer,
            sa.ForeignKey("hazard_layers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("feature_index", sa.Integer, nullable=False),
        sa.Column("zone_key", sa.Text),
        sa.Column("rank", sa.Integer),
        sa.Column("depth_min_m", sa.Float),
        sa.Column("depth_max_m", sa.Float),
        sa.Column("label_ja", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.Column("attributes", JSONB, nullable=False),
        sa.Column("geom", _geometry("MULTIPOLYGON"), nullable=False),
    )
    op.create_index("hazard_zones_geom_idx", "hazard_zones", ["geom"], postgresql_using="gist")
    op.create_table(
        "hazard_zone_parts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "zone_id",
            sa.Integer,
            sa.ForeignKey("hazard_zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", _geometry("GEOMETRY"), nullable=False),
    )
    op.create_index(
        "hazard_zone_parts_geom_idx", "hazard_zone_parts", ["geom"], postgresql_using="gist"
    )
    op.create_index(
        "hazard_zone_parts_geog_idx",
        "hazard_zone_parts",
        [sa.text("(geom::geography)")],
        postgresql_using="gist",
    )
    op.create_index("hazard_zone_parts_zone_idx", "hazard_zone_parts", ["zone_id"])

    op.create_table(
        "service_area",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("geom", _geometry("MULTIPOLYGON"), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )

    op.create_table(
        "line_inbox",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("handled_at", sa.DateTime(timezone=True)),
    )
    op.create_index("line_inbox_due_idx", "line_inbox", ["status", "next_attempt_at"])
    op.create_index("line_inbox_source_idx", "line_inbox", ["source_key", "event_time"])
    op.create_table(
        "line_users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("language", sa.Text),
        sa.Column("following", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )


def downgrade() -> None:
    for table in (
        "line_users",
        "line_inbox",
        "service_area",
        "hazard_zone_parts",
        "hazard_zones",
        "hazard_layers",
        "shelters",
    ):
        op.drop_table(table)
