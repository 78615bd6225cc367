"""Tables of the LINE channel. They share the spatial core's metadata so one migration
history covers the whole database."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, Table, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

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

# A report being put together in the chat; one per user, deleted on submit or cancel.
report_drafts = Table(
    "report_drafts",
    metadata,
    Column("line_user_id", Text, primary_key=True),
    Column("category", Text),
    Column("lon", Float),
    Column("lat", Float),
    Column("address", Text),
    Column("photo_keys", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    # Image sets in flight: {set id: {"total": n, "seen": [indexes]}}.
    Column("image_sets", JSONB, nullable=False, server_default=text("'{}'")),
    Column("photos_done", Boolean, nullable=False, server_default=text("false")),
    Column("description", Text),
    # What the bot asked last: category, location, photos, description, confirm.
    Column("awaiting", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Pushes to residents, committed with the change that causes them and sent by a worker:
# never lost if the process dies, never sent twice thanks to the LINE retry key.
line_outbox = Table(
    "line_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("line_user_id", Text, nullable=False),
    Column("messages", JSONB, nullable=False),
    Column("retry_key", UUID(as_uuid=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Index("line_outbox_due_idx", "status", "next_attempt_at"),
)
