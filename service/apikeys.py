"""API keys of the systems allowed to file reports through Open311 (`civic apikey`).

A key is shown once, when it is made; the database keeps only its SHA-256. A key is looked
up by that hash, so checking one compares no secret byte by byte (nothing to time), and a
stolen database holds no usable key.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Names show in listings and logs as they are: letters (any script), digits and . _ @ -.
_NAME = re.compile(r"[\w.@-]{1,64}")


class ApiKeyError(ValueError):
    """A key request refused: a bad or taken name, an unknown or already revoked key."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What `list_keys` shows of a key (never the key itself)."""

    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_INSERT = text("""
    INSERT INTO api_keys (name, key_hash) VALUES (:name, :hash)
    ON CONFLICT (name) DO NOTHING
    RETURNING id
""")


async def create_key(conn: AsyncConnection, name: str) -> str:
    """Make a key named `name` and return it: this is the only time it can be seen.
    Raises ApiKeyError for a malformed or taken name (revoked keys keep theirs)."""
    if not _NAME.fullmatch(name):
        raise ApiKeyError("a key name is 1 to 64 letters, digits or . _ @ -")
    key = secrets.token_urlsafe(32)
    created = await conn.execute(_INSERT, {"name": name, "hash": _digest(key)})
    if created.scalar_one_or_none() is None:
        raise ApiKeyError(f"an API key named {name!r} already exists (revoked keys keep theirs)")
    return key


_USE = text("""
    UPDATE api_keys SET last_used_at = now()
    WHERE key_hash = :hash AND revoked_at IS NULL
    RETURNING id
""")


async def verify_key(conn: AsyncConnection, key: str) -> int | None:
    """The id of the live key `key`, noting that it was used; None for an unknown or
    revoked key."""
    if not key:
        return None
    found = (await conn.execute(_USE, {"hash": _digest(key)})).scalar_one_or_none()
    return None if found is None else int(found)


_LIST = text("SELECT name, created_at, last_used_at, revoked_at FROM api_keys ORDER BY name")


async def list_keys(conn: AsyncConnection) -> list[ApiKeyInfo]:
    """Every key, revoked ones too, by name."""
    return [
        ApiKeyInfo(row.name, row.created_at, row.last_used_at, row.revoked_at)
        for row in await conn.execute(_LIST)
    ]


_REVOKE = text("""
    UPDATE api_keys SET revoked_at = now()
    WHERE name = :name AND revoked_at IS NULL
    RETURNING id
""")
_EXISTS = text("SELECT revoked_at FROM api_keys WHERE name = :name")


async def revoke_key(conn: AsyncConnection, name: str) -> None:
    """Revoke the key named `name`: from now on it is refused. Raises ApiKeyError when
    there is no such key or it was already revoked."""
    if (await conn.execute(_REVOKE, {"name": name})).first() is not None:
        return
    if (await conn.execute(_EXISTS, {"name": name})).first() is None:
        raise ApiKeyError(f"no API key named {name!r}")
    raise ApiKeyError(f"the API key {name!r} was already revoked")
