"""Tables of the LINE channel. They share the spatial core's metadata so one migration
history covers the whole database."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
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
    # The worker process (inbox_workers.id) that claimed the event being handled.
    Column("worker_id", UUID(as_uuid=True)),
    Index("line_inbox_due_idx", "status", "next_attempt_at"),
    Index("line_inbox_source_idx", "source_key", "event_time"),
)

# The processes draining the inbox, each beating every few seconds: a claim held by one not
# heard from for INBOX_HEARTBEAT_SECONDS is taken over without waiting for its lease.
inbox_workers = Table(
    "inbox_workers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Since when it has beaten without a gap (a database outage starts it again).
    Column("alive_since", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What we keep of a LINE user: only what answering needs (language, whether they follow).
line_users = Table(
    "line_users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("language", Text),
    Column("following", Boolean, nullable=False, server_default=text("true")),
    # What the bot asked this user for, that their next location answers ("shelter",
    # "area", "facility:aed" ...), and when; see service/line/pending.py.
    Column("pending", Text),
    Column("pending_at", DateTime(timezone=True)),
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

# Notices to residents (service/notifications.py), committed with the change that causes
# them and sent by a worker: never lost if the process dies, never sent twice thanks to the
# LINE retry key. A row holds what to tell (kind, params), never a LINE message: the worker
# renders it in each recipient's language when it sends it.
line_outbox = Table(
    "line_outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    # One resident (a push), or up to 500 (a multicast of an alert): stored uncompressed
    # (migration 0012), which writes an alert's batches 4x faster.
    Column("line_user_id", Text),
    Column("recipients", ARRAY(Text)),
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="CASCADE")),
    Column("kind", Text, nullable=False),
    Column("params", JSONB, nullable=False),
    # The language for a recipient with none on record when the row is sent.
    Column("language", Text, nullable=False),
    # Recipients of a batch already sent to: a batch goes out as one multicast per language,
    # and a retry sends only to the others.
    Column("sent_to", ARRAY(Text), nullable=False, server_default=text("'{}'")),
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
    CheckConstraint(
        "(line_user_id IS NULL) <> (recipients IS NULL)", name="line_outbox_one_addressing"
    ),
)

# A resident's registered home area and chosen topics, kept only with their consent: the
# row exists from the moment they agree, and withdrawing deletes it.
resident_areas = Table(
    "resident_areas",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    # Topic codes from ALERT_TOPICS.
    Column("topics", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    # Which wording of the consent question they agreed to, and when.
    Column("consent_version", Text, nullable=False),
    Column("consented_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The loaded hazard layers (hazard_layers.id) whose area covers the spot, worked out when
    # the spot is registered or moved and when a layer is loaded (service.resident_layers):
    # an alert to whole layers finds its residents through this index, not a spatial search.
    Column("hazard_layer_ids", ARRAY(Integer), nullable=False, server_default=text("'{}'")),
    Index("resident_areas_geom_idx", "geom", postgresql_using="gist"),
    Index("resident_areas_hazard_layers_idx", "hazard_layer_ids", postgresql_using="gin"),
)

# An alert sent to the residents of an area who chose its topic.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("topic", Text, nullable=False),
    Column("text", Text, nullable=False),
    # What the area was: a file name, a hazard layer, or "circle 500 m around lat,lon".
    Column("area_label", Text, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("recipient_count", Integer, nullable=False),
    Column("batch_count", Integer, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Keys of systems allowed to file reports through Open311. Only a SHA-256 of the key is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)
