"""The durable webhook inbox and the workers that drain it.

The webhook stores each event under its `webhookEventId` before answering 200, so an event is
never lost and a redelivered one is stored once. Workers claim events with
`FOR UPDATE SKIP LOCKED`; an event is only claimable when no earlier event of the same source
is still waiting or being handled, so one user's events run in order and never two at once.

A claim is a lease held by a worker process, which beats every few seconds (inbox_workers):
if the process dies, its events are claimed again once its heartbeat is
INBOX_HEARTBEAT_SECONDS old, or at the latest when the lease runs out. Each worker loop
records the outcome of the event it handled in the statement that claims its next one (one
round trip), retrying on database errors and keeping the outcome until it is recorded; the
claim's attempt number fences out a worker whose event was taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.line.payload import PayloadError, StorableEvent
from service.logs import event_context
from service.metrics import Metrics
from service.settings import InboxSettings
from service.tables import line_inbox
from service.workers import Step, WorkerPool

log = logging.getLogger(__name__)

# Recording an outcome or claiming: tries on database errors, the first wait (doubling).
_DB_ATTEMPTS = 6
_DB_FIRST_WAIT = 0.05


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
    # Claimed from a worker that stopped without recording an outcome: what it did (a reply,
    # a push) may have gone through.
    taken_over: bool = False


async def store_events(conn: AsyncConnection, events: Iterable[StorableEvent]) -> int:
    """Store events, each once by webhookEventId; a rejected one as such, with its reason.
    Returns how many were new. One statement: all are stored or none."""
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


@dataclass(frozen=True)
class Outcome:
    """How a claimed event ended: done, ignored, pending (a retry after `retry_in`
    seconds) or failed."""

    event_id: str
    attempts: int
    status: str
    error: str | None = None
    retry_in: float = 0.0


# One statement: record the outcome of the event a worker finished (if any, and only if its
# claim still holds: same attempt, still processing), then claim the next event that may run
# now. The finished event no longer holds back its source's next event unless it is to be
# retried; everything else in the statement sees the table as it was before it.
_RECORD_AND_CLAIM = text("""
    WITH finished AS (
        UPDATE line_inbox
        SET status = :status,
            handled_at = CASE WHEN :status IN ('done', 'ignored') THEN now() END,
            next_attempt_at = now() + make_interval(secs => :retry_in),
            locked_until = NULL, worker_id = NULL, last_error = :error
        WHERE event_id = CAST(:finished_id AS text) AND attempts = :finished_attempts
          AND status = 'processing'
        RETURNING event_id, status
    ),
    next AS (
        SELECT e.event_id, e.status AS was FROM line_inbox e
        WHERE :claim
          AND ((e.status = 'pending' AND e.next_attempt_at <= now())
               OR (e.status = 'processing'
                   AND (e.locked_until < now()
                        OR (NOT EXISTS (
                                SELECT 1 FROM inbox_workers w
                                WHERE w.id = e.worker_id
                                  AND w.last_seen >= now() - make_interval(secs => :heartbeat))
                            -- Only a worker that has itself been beating that long judges:
                            -- after a database outage every heartbeat is old.
                            AND EXISTS (
                                SELECT 1 FROM inbox_workers me
                                WHERE me.id = CAST(:worker_id AS uuid)
                                  AND me.alive_since
                                      <= now() - make_interval(secs => :heartbeat))))))
          AND e.event_id IS DISTINCT FROM CAST(:finished_id AS text)
          AND NOT EXISTS (
              SELECT 1 FROM line_inbox p
              WHERE p.source_key = e.source_key
                AND p.status IN ('pending', 'processing')
                AND (p.event_time, p.event_id) < (e.event_time, e.event_id)
                AND p.event_id NOT IN (
                    SELECT event_id FROM finished WHERE status <> 'pending'))
        ORDER BY e.event_time, e.event_id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE line_inbox i
    SET status = 'processing', attempts = i.attempts + 1,
        locked_until = now() + make_interval(secs => :lease),
        worker_id = CAST(:worker_id AS uuid)
    FROM next WHERE i.event_id = next.event_id
    RETURNING i.event_id, i.source_key, i.event_type, i.event_time, i.received_at,
              i.attempts, i.payload, next.was = 'processing' AS taken_over
""")


async def claim_next(
    conn: AsyncConnection,
    lease_seconds: float,
    *,
    worker_id: uuid.UUID | None = None,
    heartbeat_seconds: float = 0.0,
    finished: Outcome | None = None,
    claim: bool = True,
) -> InboxEvent | None:
    """Record `finished` (if given) and claim the next event that may run now for
    `worker_id`, in one statement; None when nothing is claimable (or `claim` is False).
    A claim may take over an event whose worker's heartbeat is `heartbeat_seconds` old."""
    params = {
        "lease": lease_seconds,
        "worker_id": worker_id,
        "heartbeat": heartbeat_seconds,
        "claim": claim,
        "finished_id": finished.event_id if finished else None,
        "finished_attempts": finished.attempts if finished else 0,
        "status": finished.status if finished else "pending",
        "error": finished.error[:2000] if finished and finished.error else None,
        "retry_in": finished.retry_in if finished else 0.0,
    }
    row = (await conn.execute(_RECORD_AND_CLAIM, params)).first()
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
        taken_over=row.taken_over,
    )


# A beat: the worker's row, created or refreshed. A gap longer than the heartbeat (an outage)
# starts its unbroken run again. Workers not heard from for a day are forgotten on the way.
_BEAT = text("""
    WITH gone AS (
        DELETE FROM inbox_workers WHERE last_seen < now() - interval '1 day' AND id <> :id
    )
    INSERT INTO inbox_workers AS w (id, host, pid) VALUES (:id, :host, :pid)
    ON CONFLICT (id) DO UPDATE
    SET alive_since = CASE WHEN w.last_seen < now() - make_interval(secs => :heartbeat)
                           THEN now() ELSE w.alive_since END,
        last_seen = now()
""")
_LEAVE = text("DELETE FROM inbox_workers WHERE id = :id")


async def beat(conn: AsyncConnection, worker_id: uuid.UUID, heartbeat_seconds: float) -> None:
    """Say that the worker process `worker_id` is alive."""
    await conn.execute(
        _BEAT,
        {
            "id": worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "heartbeat": heartbeat_seconds,
        },
    )


_COUNTS = text("SELECT status, count(*) AS n FROM line_inbox GROUP BY status ORDER BY status")


async def status_counts(conn: AsyncConnection) -> dict[str, int]:
    """How many events are in each state."""
    return {row.status: row.n for row in await conn.execute(_COUNTS)}


Handler = Callable[[InboxEvent], Awaitable[bool]]
"""Handles one event; returns False when the event was ignored. Raises PayloadError for an
event that cannot be handled as it is (not retried), anything else to retry it."""


class InboxWorkers(WorkerPool):
    """Workers draining the inbox, inside the app or in a `civic worker` process: one worker
    identity with a heartbeat for the process, several loops."""

    def __init__(
        self,
        engine: AsyncEngine,
        handler: Handler,
        settings: InboxSettings,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__("inbox-worker", self._new_loop, settings.poll_seconds)
        # Recording and claiming are single statements: no BEGIN and COMMIT round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._handler = handler
        self._settings = settings
        self._metrics = metrics or Metrics()
        self.worker_id = uuid.uuid4()
        self._loops: list[_Loop] = []
        self._heart: asyncio.Task[None] | None = None
        self._registered = asyncio.Event()

    def start(self, count: int) -> None:
        """Start the heartbeat and `count` worker loops."""
        if count > 0 and self._heart is None:
            self._heart = asyncio.create_task(self._beating(), name="inbox-heartbeat")
        super().start(count)

    async def stop(self) -> None:
        """Stop the loops, record the outcomes they still held, and leave: an event being
        handled is taken over at once by another process."""
        await super().stop()
        for loop in self._loops:
            if loop.finished is not None:
                with contextlib.suppress(DBAPIError, OSError):
                    await self._record_and_claim(loop.finished, claim=False)
        self._loops.clear()
        self._registered.clear()
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
            self._heart = None
            with contextlib.suppress(DBAPIError, OSError):
                async with self._engine.connect() as conn:
                    await conn.execute(_LEAVE, {"id": self.worker_id})

    async def drain(self) -> int:
        """Handle events until none is due now (with a heartbeat while it runs)."""
        if self._heart is not None:
            return await super().drain()
        self._heart = asyncio.create_task(self._beating(), name="inbox-heartbeat")
        try:
            return await super().drain()
        finally:
            await self.stop()

    def _new_loop(self) -> Step:
        loop = _Loop(self)
        self._loops.append(loop)
        return loop.run_one

    async def _beating(self) -> None:
        interval = self._settings.heartbeat_seconds / 3
        while True:
            try:
                async with self._engine.connect() as conn:
                    await beat(conn, self.worker_id, self._settings.heartbeat_seconds)
                self._registered.set()
            except Exception as exc:
                # Never stop beating while the loops run (a pool timeout is no DBAPIError):
                # a silent worker's events are taken from it.
                log.warning("inbox heartbeat failed: %r", exc)
            await asyncio.sleep(interval)

    async def _record_and_claim(
        self, finished: Outcome | None, *, claim: bool = True
    ) -> InboxEvent | None:
        """Record `finished` and claim the next event, retrying briefly on database errors
        (the caller keeps `finished` if they last longer)."""
        if claim:
            # Claims name this process: others must know it is alive first.
            await self._registered.wait()
        wait = _DB_FIRST_WAIT
        for attempt in range(1, _DB_ATTEMPTS + 1):
            try:
                async with self._engine.connect() as conn:
                    return await claim_next(
                        conn,
                        self._settings.lease_seconds,
                        worker_id=self.worker_id,
                        heartbeat_seconds=self._settings.heartbeat_seconds,
                        finished=finished,
                        claim=claim,
                    )
            except (DBAPIError, OSError) as exc:
                if attempt == _DB_ATTEMPTS:
                    raise
                log.warning("inbox: database error (%r), try %d again in %.2fs", exc, attempt, wait)
                await asyncio.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    async def _handle(self, event: InboxEvent) -> Outcome:
        claimed = time.monotonic()
        try:
            handled = await self._handler(event)
        except PayloadError as exc:
            # The event itself is wrong: no retry can help, and it must not hold back the
            # resident's next events.
            self._metrics.inbox_handled.labels("ignored").inc()
            log.info("inbox event %s is malformed, ignored: %s", event.event_id, exc)
            return Outcome(event.event_id, event.attempts, "ignored", f"malformed: {exc}")
        except Exception as exc:
            final = event.attempts >= self._settings.max_attempts
            status = "failed" if final else "pending"
            self._metrics.inbox_handled.labels("failed" if final else "retry").inc()
            log.warning(
                "inbox event %s failed (attempt %d, now %s): %r",
                event.event_id,
                event.attempts,
                status,
                exc,
                exc_info=final,
            )
            delay = self._settings.retry_base_seconds * 2 ** (event.attempts - 1)
            return Outcome(event.event_id, event.attempts, status, repr(exc), delay)
        self._metrics.inbox_handled.labels("done" if handled else "ignored").inc()
        self._metrics.handling_seconds.observe(time.monotonic() - claimed)
        self._metrics.event_age_seconds.observe(
            (datetime.now(UTC) - event.event_time).total_seconds()
        )
        return Outcome(event.event_id, event.attempts, "done" if handled else "ignored")


class _Loop:
    """One worker loop: the outcome of the event it handled goes with its next claim."""

    def __init__(self, workers: InboxWorkers) -> None:
        self._workers = workers
        # Handled, not yet recorded: kept until the database takes it.
        self.finished: Outcome | None = None

    async def run_one(self) -> bool:
        event = await self._workers._record_and_claim(self.finished)
        self.finished = None
        if event is None:
            return False
        with event_context(event.event_id):
            self.finished = await self._workers._handle(event)
        return True
