"""Tables of the LINE channel. They share the spatial core's metadata so one migration
history covers the whole database."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB

from gis.tables import metadata

# The durable webhook inbox: one row per LINE webhook event, keyed by webhookEventId.
line_inbox = Table(
    "line_inbox",
    metadata,
    Column("event_id", Text, primary_key=True),
    # Events of one source (user, group or room) are handled in order, one at a time.
    Column("source_key", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("payload", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("handled_at", DateTime(timezone=True)),
    Index("line_inbox_due_idx", "status", "next_attempt_at"),
    Index("line_inbox_source_idx", "source_key", "event_time"),
)

# What we keep of a LINE user: only what answering needs (language, whether they follow).
line_users = Table(
    "line_users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("language", Text),
    Column("following", Boolean, nullable=False, server_default=text("true")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
