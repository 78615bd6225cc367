"""Photos no report holds are removed once their draft's lifetime is over.

A photo is stored when the resident sends it, before the report exists: if the draft is
cancelled or expires, nothing else refers to it. A photo is kept while a report holds it or
a draft still alive (changed within REPORT_DRAFT_MINUTES) does, and while it is younger than
that lifetime (it may belong to an event being handled right now). Everything else is
removed: by the running service every REPORT_DRAFT_MINUTES (`PhotoSweeper`), and by
`civic reports forget`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.photos import PhotoStore
from service.workers import WorkerPool

log = logging.getLogger(__name__)

# One sweep at a time across every process of the service.
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('civic-photo-sweep'))")
_HELD = text("""
    SELECT photo_key FROM report_photos WHERE photo_key = ANY(CAST(:keys AS text[]))
    UNION
    SELECT unnest(photo_keys) FROM report_drafts
    WHERE updated_at > now() - make_interval(secs => :lifetime)
""")
# Candidates asked about at once.
_BATCH = 10_000


async def _held(conn: AsyncConnection, keys: Sequence[str], lifetime: timedelta) -> set[str]:
    """The keys among `keys` that a report or a live draft holds."""
    held: set[str] = set()
    for start in range(0, len(keys), _BATCH):
        params = {"keys": list(keys[start : start + _BATCH]), "lifetime": lifetime.total_seconds()}
        held.update(await conn.scalars(_HELD, params))
    return held


async def remove_unreferenced_photos(
    engine: AsyncEngine, store: PhotoStore, lifetime: timedelta
) -> int:
    """Remove the photos of `store` that no report and no live draft holds and that were
    stored longer ago than `lifetime`; returns how many. Another process sweeping already:
    0."""
    async with engine.begin() as conn:
        if not await conn.scalar(_TRY_LOCK):
            return 0
        cutoff = datetime.now(UTC) - lifetime
        stored = await asyncio.to_thread(lambda: list(store.stored()))
        old = [photo.key for photo in stored if photo.stored_at < cutoff]
        held = await _held(conn, old, lifetime)
        removed = 0
        for key in old:
            if key in held:
                continue
            # Sent again since the listing (the same bytes make the same key): keep it.
            again = await asyncio.to_thread(store.stored_at, key)
            if again is None or again >= cutoff:
                continue
            await asyncio.to_thread(store.delete, key)
            removed += 1
    if removed:
        log.info("removed %d photos no report holds from %s", removed, store.location)
    return removed


class PhotoSweeper(WorkerPool):
    """Removes unreferenced photos every `lifetime`, inside a running service."""

    def __init__(self, engine: AsyncEngine, store: PhotoStore, lifetime: timedelta) -> None:
        super().__init__("photo-sweep", lambda: self._sweep, lifetime.total_seconds())
        self._engine = engine
        self._store = store
        self._lifetime = lifetime

    async def _sweep(self) -> bool:
        await remove_unreferenced_photos(self._engine, self._store, self._lifetime)
        return False  # then wait for the next round
