"""The durable outbox: notices to residents, rendered in their language and sent by
workers, each exactly once.

A row is committed with the change that causes it (a status change, an alert), so it survives
a crash. It holds what to tell (a notice: kind and parameters, service.notifications), never a
LINE message: the worker renders it in the recipient's language from `line_users` when it
sends. A row holds one resident (a push) or a batch of up to 500 (an area alert, sent by
multicast to those of the batch who still follow the account and still want its topic; one
multicast per language when their languages differ).

Workers claim rows with `FOR UPDATE SKIP LOCKED` under a lease and send with a retry key:
the row's own for a push, one derived from the row's and the language for each multicast of
a batch. If a worker dies after LINE accepted a request but before recording it, the next
attempt reuses the key, LINE answers 409, and it counts as sent. The recipients of a batch
already sent to are recorded after each multicast, so a retry sends only to the others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.line.notices import NoticeMessages
from service.line.platform import LinePlatform
from service.metrics import Metrics
from service.notifications import Notice, UnknownNotice, notice_from
from service.settings import OutboxSettings
from service.vocabulary import Lang, language_of
from service.workers import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxItem:
    """A claimed notice."""

    id: int
    line_user_id: str | None
    kind: str
    params: Mapping[str, Any]
    # The language for a recipient with none on record.
    language: Lang
    retry_key: uuid.UUID
    attempts: int
    following: bool
    # The push's resident's language on record now (None for a batch, or none on record).
    user_language: str | None = None
    # A multicast batch of an alert instead of one resident, and those already sent to.
    recipients: list[str] | None = None
    alert_id: int | None = None
    sent_to: tuple[str, ...] = ()

    def notice(self) -> Notice:
        """What to tell; UnknownNotice when the row holds no known notice."""
        return notice_from(self.kind, self.params)


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
    RETURNING o.id, o.line_user_id, o.kind, o.params, o.language, o.retry_key, o.attempts,
              o.recipients, o.alert_id, o.sent_to,
              coalesce((SELECT following FROM line_users u WHERE u.user_id = o.line_user_id),
                       true) AS following,
              (SELECT language FROM line_users u WHERE u.user_id = o.line_user_id)
                  AS user_language
""")


async def claim_next(conn: AsyncConnection, lease_seconds: float) -> OutboxItem | None:
    """Claim the next due notice, or None."""
    row = (await conn.execute(_CLAIM, {"lease": lease_seconds})).first()
    if row is None:
        return None
    return OutboxItem(
        id=row.id,
        line_user_id=row.line_user_id,
        kind=row.kind,
        params=row.params,
        language=row.language,
        retry_key=row.retry_key,
        attempts=row.attempts,
        following=row.following,
        user_language=row.user_language,
        recipients=row.recipients,
        alert_id=row.alert_id,
        sent_to=tuple(row.sent_to),
    )


def push_language(item: OutboxItem) -> Lang:
    """The language a push goes out in: the resident's now, else the row's."""
    return language_of(item.user_language or item.language)


# Consent can be withdrawn and the account blocked between queueing and sending: only those
# who still follow and still have the alert's topic on their registered area are sent to,
# in the language they have now.
_STILL_WANTED = text("""
    SELECT r.user_id, u.language FROM resident_areas r
    JOIN line_users u ON u.user_id = r.user_id
    JOIN alerts a ON a.id = :alert_id
    WHERE r.user_id = ANY(:recipients) AND u.following AND a.topic = ANY(r.topics)
""")


async def still_wanted(conn: AsyncConnection, item: OutboxItem) -> dict[Lang, list[str]]:
    """The recipients of an alert batch who may still be sent it and were not yet, by
    language, each in the batch's order."""
    rows = await conn.execute(
        _STILL_WANTED, {"alert_id": item.alert_id, "recipients": item.recipients or []}
    )
    languages = {row.user_id: language_of(row.language or item.language) for row in rows}
    by_language: dict[Lang, list[str]] = {}
    for user_id in item.recipients or []:
        if user_id in languages and user_id not in item.sent_to:
            by_language.setdefault(languages[user_id], []).append(user_id)
    return by_language


def batch_key(item: OutboxItem, lang: Lang) -> uuid.UUID:
    """The retry key of a batch's multicast in `lang`: the same on every attempt."""
    return uuid.uuid5(item.retry_key, lang)


_SENT_TO = text("""
    UPDATE line_outbox SET sent_to = sent_to || CAST(:users AS text[]) WHERE id = :id
""")
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
    """Workers sending the outbox's notices."""

    def __init__(
        self,
        engine: AsyncEngine,
        platform: LinePlatform,
        settings: OutboxSettings,
        notices: NoticeMessages,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__("outbox-worker", lambda: self.run_one, settings.poll_seconds)
        self._engine = engine
        self._platform = platform
        self._settings = settings
        self._notices = notices
        self._metrics = metrics or Metrics()

    async def run_one(self) -> bool:
        """Claim and send one notice. Returns False when nothing was due."""
        async with self._engine.begin() as conn:
            item = await claim_next(conn, self._settings.lease_seconds)
        if item is None:
            return False
        if not item.following:
            await self._finish(item, "skipped", "the resident blocked the account")
            return True
        try:
            notice = item.notice()
        except UnknownNotice as exc:
            await self._finish(item, "failed", str(exc))
            return True
        audience = None
        if item.recipients is not None:
            async with self._engine.connect() as conn:
                audience = await still_wanted(conn, item)
            if not audience:
                # Sent to some before a crash or a failed multicast, and nobody else is left.
                if item.sent_to:
                    await self._finish(item, "sent", None)
                else:
                    reason = "nobody left who follows and wants the topic"
                    await self._finish(item, "skipped", reason)
                return True
        try:
            await self._send(item, notice, audience)
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

    async def _send(
        self, item: OutboxItem, notice: Notice, audience: dict[Lang, list[str]] | None
    ) -> None:
        # One attempt per claim: the outbox's own backoff spaces out the retries.
        if audience is None:
            if item.line_user_id is not None:
                messages = self._notices.render(notice, push_language(item))
                await self._platform.push(item.line_user_id, messages, item.retry_key, attempts=1)
            return
        for lang, users in sorted(audience.items()):
            messages = self._notices.render(notice, lang)
            await self._platform.multicast(users, messages, batch_key(item, lang), attempts=1)
            async with self._engine.begin() as conn:
                await conn.execute(_SENT_TO, {"id": item.id, "users": users})

    async def _finish(self, item: OutboxItem, status: str, error: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(_FINISH, {"id": item.id, "status": status, "error": error})
        self._metrics.outbox.labels(status).inc()
