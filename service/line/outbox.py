"""The durable outbox: pushes to residents, sent by workers, each exactly once.

A row is committed with the change that causes it (a status change, an alert), so it survives
a crash. A row holds one resident (a push) or a batch of up to 500 (an area alert, sent by
multicast to those of the batch who still follow the account and still want its topic).
Workers claim rows with `FOR UPDATE SKIP LOCKED` under a lease and push with the row's own
`X-Line-Retry-Key`: if a worker dies after LINE accepted the push but before recording it,
the next attempt reuses the key, LINE answers 409, and the row is recorded as sent.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.line.platform import LinePlatform
from service.metrics import Metrics
from service.settings import OutboxSettings
from service.workers import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed push."""

    id: int
    line_user_id: str | None
    messages: list[dict[str, Any]]
    retry_key: uuid.UUID
    attempts: int
    following: bool
    # A multicast batch of an alert instead of one resident.
    recipients: list[str] | None = None
    alert_id: int | None = None


_CLAIM = text("""
    WITH next AS (
        SELECT id FROM line_outbox
        WHERE (status = 'pending' AND next_attempt_at <= now())
           OR (status = 'sending' AND locked_until < now())
        ORDER BY id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    UPDATE line_outbox o
    SET status = 'sending', attempts = o.attempts + 1,
        locked_until = now() + make_interval(secs => :lease)
    FROM next WHERE o.id = next.id
    RETURNING o.id, o.line_user_id, o.messages, o.retry_key, o.attempts, o.recipients,
              o.alert_id,
              coalesce((SELECT following FROM line_users u WHERE u.user_id = o.line_user_id),
                       true) AS following
""")


async def claim_next(conn: AsyncConnection, lease_seconds: float) -> OutboxItem | None:
    """Claim the next due push, or None."""
    row = (await conn.execute(_CLAIM, {"lease": lease_seconds})).first()
    if row is None:
        return None
    return OutboxItem(
        row.id,
        row.line_user_id,
        row.messages,
        row.retry_key,
        row.attempts,
        row.following,
        row.recipients,
        row.alert_id,
    )


# Consent can be withdrawn and the account blocked between queueing and sending: only those
# who still follow and still have the alert's topic on their registered area are sent to.
_STILL_WANTED = text("""
    SELECT r.user_id FROM resident_areas r
    JOIN line_users u ON u.user_id = r.user_id
    JOIN alerts a ON a.id = :alert_id
    WHERE r.user_id = ANY(:recipients) AND u.following AND a.topic = ANY(r.topics)
""")


async def still_wanted(conn: AsyncConnection, item: OutboxItem) -> list[str]:
    """The recipients of an alert batch who may still be sent it, in the batch's order."""
    rows = await conn.execute(
        _STILL_WANTED, {"alert_id": item.alert_id, "recipients": item.recipients or []}
    )
    kept = {row.user_id for row in rows}
    return [user_id for user_id in item.recipients or [] if user_id in kept]


_FINISH = text("""
    UPDATE line_outbox SET status = :status, sent_at = now(), locked_until = NULL,
                           last_error = :error
    WHERE id = :id
""")

_RETRY = text("""
    UPDATE line_outbox
    SET status = CASE WHEN attempts >= :max_attempts THEN 'failed' ELSE 'pending' END,
        next_attempt_at = now() + make_interval(secs => :delay),
        locked_until = NULL, last_error = :error
    WHERE id = :id
    RETURNING status
""")


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500
    return True  # network errors and the like


class OutboxWorkers(WorkerPool):
    """Workers sending the outbox's pushes."""

    def __init__(
        self,
        engine: AsyncEngine,
        platform: LinePlatform,
        settings: OutboxSettings,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__("outbox-worker", self.run_one, settings.poll_seconds)
        self._engine = engine
        self._platform = platform
        self._settings = settings
        self._metrics = metrics or Metrics()

    async def run_one(self) -> bool:
        """Claim and send one push. Returns False when nothing was due."""
        async with self._engine.begin() as conn:
            item = await claim_next(conn, self._settings.lease_seconds)
        if item is None:
            return False
        if not item.following:
            await self._finish(item, "skipped", "the resident blocked the account")
            return True
        recipients = None
        if item.recipients is not None:
            async with self._engine.connect() as conn:
                recipients = await still_wanted(conn, item)
            if not recipients:
                await self._finish(item, "skipped", "nobody left who follows and wants the topic")
                return True
        try:
            await self._send(item, recipients)
        except Exception as exc:
            if not _retryable(exc):
                await self._finish(item, "failed", repr(exc))
                return True
            delay = self._settings.retry_base_seconds * 2 ** (item.attempts - 1)
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    _RETRY,
                    {
                        "id": item.id,
                        "delay": delay,
                        "error": repr(exc)[:2000],
                        "max_attempts": self._settings.max_attempts,
                    },
                )
            status = result.scalar_one()
            self._metrics.outbox.labels("failed" if status == "failed" else "retried").inc()
            log.warning("push %d failed (%r), now %s", item.id, exc, status)
            return True
        await self._finish(item, "sent", None)
        return True

    async def _send(self, item: OutboxItem, recipients: list[str] | None) -> None:
        # One attempt per claim: the outbox's own backoff spaces out the retries.
        if recipients is not None:
            await self._platform.multicast(recipients, item.messages, item.retry_key, attempts=1)
        elif item.line_user_id is not None:
            await self._platform.push(item.line_user_id, item.messages, item.retry_key, attempts=1)

    async def _finish(self, item: OutboxItem, status: str, error: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_FINISH, {"id": item.id, "status": status, "error": error})
        self._metrics.outbox.labels(status).inc()
