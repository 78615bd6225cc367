"""The durable outbox: pushes to residents, sent by workers, each exactly once.

A row is committed with the change that causes it (a status change), so it survives a crash.
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
from service.settings import OutboxSettings
from service.workers import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed push."""

    id: int
    line_user_id: str
    messages: list[dict[str, Any]]
    retry_key: uuid.UUID
    attempts: int
    following: bool


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
    RETURNING o.id, o.line_user_id, o.messages, o.retry_key, o.attempts,
              coalesce((SELECT following FROM line_users u WHERE u.user_id = o.line_user_id),
                       true) AS following
""")


async def claim_next(conn: AsyncConnection, lease_seconds: float) -> OutboxItem | None:
    """Claim the next due push, or None."""
    row = (await conn.execute(_CLAIM, {"lease": lease_seconds})).first()
    if row is None:
        return None
    return OutboxItem(
        row.id, row.line_user_id, row.messages, row.retry_key, row.attempts, row.following
    )


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
        self, engine: AsyncEngine, platform: LinePlatform, settings: OutboxSettings
    ) -> None:
        super().__init__("outbox-worker", self.run_one, settings.poll_seconds)
        self._engine = engine
        self._platform = platform
        self._settings = settings

    async def run_one(self) -> bool:
        """Claim and send one push. Returns False when nothing was due."""
        async with self._engine.begin() as conn:
            item = await claim_next(conn, self._settings.lease_seconds)
        if item is None:
            return False
        if not item.following:
            await self._finish(item, "skipped", "the resident blocked the account")
            return True
        try:
            # One attempt per claim: the outbox's own backoff spaces out the retries.
            await self._platform.push(item.line_user_id, item.messages, item.retry_key, attempts=1)
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
            log.warning("push %d failed (%r), now %s", item.id, exc, result.scalar_one())
            return True
        await self._finish(item, "sent", None)
        return True

    async def _finish(self, item: OutboxItem, status: str, error: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_FINISH, {"id": item.id, "status": status, "error": error})
