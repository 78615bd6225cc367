"""Public facilities from the standard open datasets (公共施設, 医療機関, AED).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=False, server_default=sa.text("''"))


def upgrade() -> None:
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("city_code", sa.Text, nullable=False),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=False),
        *(_text(name) for name in ("category_text", "kana", "address", "phone", "hours", "url")),
        _text("barrier_free"),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("attributes", JSONB, nullable=False, server_default=sa.text("'{}'")),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
        sa.UniqueConstraint("city_code", "dataset", "source_id", name="facilities_source_key"),
    )
    op.create_index("facilities_geom_idx", "facilities", ["geom"], postgresql_using="gist")
    op.create_index(
        "facilities_geog_idx",
        "facilities",
        [sa.text("(geom::geography)")],
        postgresql_using="gist",
    )
    op.create_index("facilities_category_idx", "facilities", ["category"])


def downgrade() -> None:
    op.drop_table("facilities")
