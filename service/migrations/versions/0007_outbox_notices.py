"""The outbox holds notices (what to tell whom), rendered in the recipient's language when
sent, instead of LINE messages rendered when queued.

Rows queued before this revision are turned into notices: a status push (reason "cluster N:
status") into `report_status` with the resident's report, the cluster's category and the
note of that status event; an alert batch into `area_alert` with its alert's topic and text,
in the language its header was written in. A row that is neither (none is ever queued by the
service) keeps kind `unconverted` and, if not yet sent, is marked failed, never sent.

Downgrading cannot render notices into LINE messages: rows not yet sent are marked failed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ALERT_BATCHES = """
    UPDATE line_outbox o
    SET kind = 'area_alert',
        params = jsonb_build_object('topic', a.topic, 'text', a.text),
        -- The Japanese header is 【topic】…, the English one [topic] ….
        language = CASE WHEN o.messages -> 0 ->> 'text' LIKE '[%' THEN 'en' ELSE 'ja' END
    FROM alerts a
    WHERE a.id = o.alert_id
"""
_STATUS_PUSHES = r"""
    WITH parsed AS (
        SELECT id, line_user_id, regexp_match(reason, '^cluster (\d+): (\w+)$') AS m
        FROM line_outbox
        WHERE kind IS NULL AND line_user_id IS NOT NULL
    )
    UPDATE line_outbox o
    SET kind = 'report_status',
        params = jsonb_build_object(
            'report_id', r.id, 'category', r.category, 'status', p.m[2],
            'note', coalesce(e.note, '')
        ),
        language = coalesce(r.language, 'ja')
    FROM parsed p
    -- The resident's first report of the cluster, as the status change picked it.
    JOIN LATERAL (
        SELECT id, category, language FROM reports
        WHERE cluster_id = p.m[1]::integer AND line_user_id = p.line_user_id
        ORDER BY id LIMIT 1
    ) r ON true
    LEFT JOIN LATERAL (
        SELECT note FROM cluster_events
        WHERE cluster_id = p.m[1]::integer AND status = p.m[2]
        ORDER BY at DESC, id DESC LIMIT 1
    ) e ON true
    WHERE o.id = p.id AND p.m IS NOT NULL
"""
_UNCONVERTED = """
    UPDATE line_outbox
    SET kind = 'unconverted', params = '{}', language = 'ja',
        status = CASE WHEN status IN ('pending', 'sending') THEN 'failed' ELSE status END,
        last_error = CASE WHEN status IN ('pending', 'sending')
                          THEN 'not a status push or an alert batch: not converted to a notice'
                          ELSE last_error END,
        locked_until = NULL
    WHERE kind IS NULL
"""


def upgrade() -> None:
    op.add_column("line_outbox", sa.Column("kind", sa.Text))
    op.add_column("line_outbox", sa.Column("params", JSONB))
    op.add_column("line_outbox", sa.Column("language", sa.Text))
    op.add_column(
        "line_outbox",
        sa.Column("sent_to", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")),
    )
    op.execute(_ALERT_BATCHES)
    op.execute(_STATUS_PUSHES)
    op.execute(_UNCONVERTED)
    for column in ("kind", "params", "language"):
        op.alter_column("line_outbox", column, nullable=False)
    op.drop_column("line_outbox", "messages")


def downgrade() -> None:
    op.add_column(
        "line_outbox",
        sa.Column("messages", JSONB, nullable=False, server_default=sa.text("'[]'")),
    )
    op.alter_column("line_outbox", "messages", server_default=None)
    op.execute("""
        UPDATE line_outbox
        SET status = 'failed', locked_until = NULL,
            last_error = 'queued as a notice: not rendered by the downgrade, not sent'
        WHERE status IN ('pending', 'sending')
    """)
    for column in ("sent_to", "language", "params", "kind"):
        op.drop_column("line_outbox", column)
