"""Each hazard layer's area kept at load time: the union of its zones and that union cut into
small indexed pieces, so that an alert to a whole layer no longer unions it per request.
Filled here for the layers already loaded; `civic load` keeps it up to date.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# gis.load.SUBDIVIDE_MAX_VERTICES when this revision was written.
_PIECE_VERTICES = 128


def _geometry(kind: str) -> Geometry:
    return Geometry(kind, srid=4326, spatial_index=False)


def upgrade() -> None:
    op.create_table(
        "hazard_layer_areas",
        sa.Column(
            "layer_id",
            sa.Integer,
            sa.ForeignKey("hazard_layers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("geom", _geometry("MULTIPOLYGON"), nullable=False),
    )
    op.create_table(
        "hazard_layer_area_parts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "layer_id",
            sa.Integer,
            sa.ForeignKey("hazard_layer_areas.layer_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", _geometry("GEOMETRY"), nullable=False),
    )
    op.create_index(
        "hazard_layer_area_parts_geom_idx",
        "hazard_layer_area_parts",
        ["geom"],
        postgresql_using="gist",
    )
    op.create_index("hazard_layer_area_parts_layer_idx", "hazard_layer_area_parts", ["layer_id"])
    op.execute("""
        INSERT INTO hazard_layer_areas (layer_id, geom)
        SELECT layer_id, ST_Multi(ST_CollectionExtract(ST_Union(geom), 3))
        FROM hazard_zones GROUP BY layer_id
    """)
    op.execute(
        sa.text("""
            INSERT INTO hazard_layer_area_parts (layer_id, geom)
            SELECT layer_id, ST_Subdivide(geom, :vertices) FROM hazard_layer_areas
        """).bindparams(vertices=_PIECE_VERTICES)
    )


def downgrade() -> None:
    op.drop_table("hazard_layer_area_parts")
    op.drop_table("hazard_layer_areas")
