"""Tables of crew accounts, their sessions and failed logins, on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)

from gis.tables import metadata

crew_accounts = Table(
    "crew_accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    # argon2id, in the PHC string format ($argon2id$v=19$m=…).
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    # Set with the one-time password `civic crew add` prints.
    Column("must_change_password", Boolean, nullable=False, server_default=text("true")),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("role IN ('crew', 'admin')", name="crew_accounts_role_check"),
)

# Keyed by the SHA-256 of the session token: a copy of this table opens no session.
crew_sessions = Table(
    "crew_sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column(
        "account_id",
        Integer,
        ForeignKey("crew_accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("crew_sessions_account_idx", "account_id"),
)

# Failed logins within the throttle windows, counted per name and address and per name.
crew_login_failures = Table(
    "crew_login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    Column("client_ip", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("crew_login_failures_name_idx", "name", "at"),
    Index("crew_login_failures_ip_idx", "client_ip", "at"),
)

# Where each account signed in from lately: the per-name login limit spares these addresses.
crew_known_addresses = Table(
    "crew_known_addresses",
    metadata,
    Column(
        "account_id",
        Integer,
        ForeignKey("crew_accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("client_ip", Text, primary_key=True),
    Column("last_login_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
