"""Report clusters keep their first/last report time and whether they have a photo.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("report_clusters", sa.Column("first_report_at", sa.DateTime(timezone=True)))
    op.add_column("report_clusters", sa.Column("last_report_at", sa.DateTime(timezone=True)))
    op.add_column(
        "report_clusters",
        sa.Column("has_photo", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.execute("""
        UPDATE report_clusters c
        SET first_report_at = m.first_at, last_report_at = m.last_at, has_photo = m.photo
        FROM (
            SELECT r.cluster_id, min(r.created_at) AS first_at, max(r.created_at) AS last_at,
                   bool_or(EXISTS (SELECT 1 FROM report_photos p WHERE p.report_id = r.id))
                       AS photo
            FROM reports r GROUP BY r.cluster_id
        ) m
        WHERE m.cluster_id = c.id
    """)


def downgrade() -> None:
    for column in ("has_photo", "last_report_at", "first_report_at"):
        op.drop_column("report_clusters", column)
