"""The hazard layers of each registered spot kept on its row (an indexed array of layer ids),
so that an alert to a whole layer counts its residents without a spatial search. Filled here
for the spots registered before it; registration and `civic load` keep it up to date.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "resident_areas",
        sa.Column(
            "hazard_layer_ids",
            ARRAY(sa.Integer),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    # What service.resident_layers works out, when this revision was written; only the spots
    # some layer holds are written.
    op.execute("""
        UPDATE resident_areas r SET hazard_layer_ids = n.ids
        FROM (
            SELECT a.user_id,
                   ARRAY(SELECT DISTINCT p.layer_id FROM hazard_layer_area_parts p
                         WHERE ST_Covers(p.geom, a.geom) ORDER BY p.layer_id) AS ids
            FROM resident_areas a
        ) n
        WHERE r.user_id = n.user_id AND r.hazard_layer_ids <> n.ids
    """)
    op.create_index(
        "resident_areas_hazard_layers_idx",
        "resident_areas",
        ["hazard_layer_ids"],
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("resident_areas_hazard_layers_idx", table_name="resident_areas")
    op.drop_column("resident_areas", "hazard_layer_ids")
