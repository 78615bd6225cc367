"""The durable webhook inbox and the workers that drain it.

The webhook stores each event under its `webhookEventId` before answering 200, so an event is
never lost and a redelivered one is stored once. Workers claim events with
`FOR UPDATE SKIP LOCKED`; an event is only claimable when no earlier event of the same source
is still waiting or being handled, so one user's events run in order and never two at once.
A claim is a lease: if a worker dies, the event becomes claimable again when it runs out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.line.payload import PayloadError, StorableEvent
from service.logs import event_context
from service.metrics import Metrics
from service.settings import InboxSettings
from service.tables import line_inbox
from service.workers import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxEvent:
    """A claimed event."""

    event_id: str
    source_key: str
    event_type: str
    event_time: datetime
    received_at: datetime
    attempts: int
    payload: dict[str, Any]


async def store_events(conn: AsyncConnection, events: Iterable[StorableEvent]) -> int:
    """Store events, each once by webhookEventId; a rejected one as such, with its reason.
    Returns how many were new."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": event.event_id,
            "source_key": event.source_key,
            "event_type": event.event_type,
            "event_time": event.event_time or now,
            "payload": event.payload,
            "status": "rejected" if event.rejected else "pending",
            "last_error": event.rejected,
        }
        for event in events
    ]
    if not rows:
        return 0
    stmt = insert(line_inbox).on_conflict_do_nothing(index_elements=[line_inbox.c.event_id])
    result = await conn.execute(stmt.returning(line_inbox.c.event_id), rows)
    return len(result.all())


_CLAIM = text("""
    WITH next AS (
        SELECT e.event_id FROM line_inbox e
        WHERE ((e.status = 'pending' AND e.next_attempt_at <= now())
               OR (e.status = 'processing' AND e.locked_until < now()))
          AND NOT EXISTS (
              SELECT 1 FROM line_inbox p
              WHERE p.source_key = e.source_key
                AND p.status IN ('pending', 'processing')
                AND (p.event_time, p.event_id) < (e.event_time, e.event_id))
        ORDER BY e.event_time, e.event_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE line_inbox i
    SET status = 'processing', attempts = i.attempts + 1,
        locked_until = now() + make_interval(secs => :lease)
    FROM next WHERE i.event_id = next.event_id
    RETURNING i.event_id, i.source_key, i.event_type, i.event_time, i.received_at,
              i.attempts, i.payload
""")


async def claim_next(conn: AsyncConnection, lease_seconds: float) -> InboxEvent | None:
    """Claim the next event that may run now, or None."""
    row = (await conn.execute(_CLAIM, {"lease": lease_seconds})).first()
    if row is None:
        return None
    return InboxEvent(
        event_id=row.event_id,
        source_key=row.source_key,
        event_type=row.event_type,
        event_time=row.event_time,
        received_at=row.received_at,
        attempts=row.attempts,
        payload=row.payload,
    )


_DONE = text("""
    UPDATE line_inbox SET status = :status, handled_at = now(), locked_until = NULL,
                          last_error = :error
    WHERE event_id = :event_id
""")

_FAILED = text("""
    UPDATE line_inbox
    SET status = CASE WHEN attempts >= :max_attempts THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay),
        locked_until = NULL, last_error = :error
    WHERE event_id = :event_id
    RETURNING status
""")


async def mark_done(
    conn: AsyncConnection, event_id: str, *, ignored: bool = False, error: str | None = None
) -> None:
    """Record that an event was handled (or deliberately ignored, and why)."""
    status = "ignored" if ignored else "done"
    await conn.execute(_DONE, {"event_id": event_id, "status": status, "error": error})


async def mark_failed(
    conn: AsyncConnection, event: InboxEvent, error: str, settings: InboxSettings
) -> str:
    """Schedule a retry with exponential backoff, or mark the event failed for good."""
    delay = settings.retry_base_seconds * 2 ** (event.attempts - 1)
    row = await conn.execute(
        _FAILED,
        {
            "event_id": event.event_id,
            "error": error[:2000],
            "delay": delay,
            "max_attempts": settings.max_attempts,
        },
    )
    return str(row.scalar_one())


_COUNTS = text("SELECT status, count(*) AS n FROM line_inbox GROUP BY status ORDER BY status")


async def status_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many events are in each state."""
    return {row.status: row.n for row in await conn.execute(_COUNTS)}


Handler = Callable[[InboxEvent], Awaitable[bool]]
"""Handles one event; returns False when the event was ignored. Raises PayloadError for an
event that cannot be handled as it is (not retried), anything else to retry it."""


class InboxWorkers(WorkerPool):
    """Workers draining the inbox, inside the app or in a `civic worker` process."""

    def __init__(
        self,
        engine: AsyncEngine,
        handler: Handler,
        settings: InboxSettings,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__("inbox-worker", self.run_one, settings.poll_seconds)
        self._engine = engine
        self._handler = handler
        self._settings = settings
        self._metrics = metrics or Metrics()

    async def run_one(self) -> bool:
        """Claim and handle one event. Returns False when nothing was claimable."""
        async with self._engine.begin() as conn:
            event = await claim_next(conn, self._settings.lease_seconds)
        if event is None:
            return False
        with event_context(event.event_id):
            await self._handle(event)
        return True

    async def _handle(self, event: InboxEvent) -> None:
        claimed = time.monotonic()
        try:
            handled = await self._handler(event)
        except PayloadError as exc:
            # The event itself is wrong: no retry can help, and it must not hold back the
            # resident's next events.
            async with self._engine.begin() as conn:
                await mark_done(conn, event.event_id, ignored=True, error=f"malformed: {exc}")
            self._metrics.inbox_handled.labels("ignored").inc()
            log.info("inbox event %s is malformed, ignored: %s", event.event_id, exc)
            return
        except Exception as exc:
            async with self._engine.begin() as conn:
                status = await mark_failed(conn, event, repr(exc), self._settings)
            self._metrics.inbox_handled.labels("failed" if status == "failed" else "retry").inc()
            log.warning(
                "inbox event %s failed (attempt %d, now %s): %r",
                event.event_id,
                event.attempts,
                status,
                exc,
                exc_info=status == "failed",
            )
            return
        async with self._engine.begin() as conn:
            await mark_done(conn, event.event_id, ignored=not handled)
        self._metrics.inbox_handled.labels("done" if handled else "ignored").inc()
        self._metrics.handling_seconds.observe(time.monotonic() - claimed)
        self._metrics.event_age_seconds.observe(
            (datetime.now(UTC) - event.event_time).total_seconds()
        )
