"""The platform client: the one place that talks to the LINE Messaging API.

It wraps the official line-bot-sdk async clients. Transient failures (429, 5xx, network
errors) are retried with backoff; a reply whose token is no longer accepted goes out as a
push, unless our own earlier try spent the token; pushes and multicasts carry an
`X-Line-Retry-Key` so that a retry can never deliver twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar

import aiohttp
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from service.metrics import Metrics
from service.settings import LineSettings

log = logging.getLogger(__name__)

Message = dict[str, Any]
"""A message in LINE's JSON form (as built by service.line.messages)."""

T = TypeVar("T")

_MAX_BACKOFF_SECONDS = 30.0
# LINE's multicast takes at most this many user IDs.
MULTICAST_MAX = 500


class PlatformError(RuntimeError):
    """LINE refused a call, or kept failing after every retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ApiException):
        return exc.status == 429 or (exc.status or 0) >= 500
    return isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError)


def _retry_after(exc: Exception) -> float | None:
    headers = getattr(exc, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _invalid_reply_token(exc: ApiException) -> bool:
    body = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
    return exc.status == 400 and "reply token" in body.lower()


class LinePlatform:
    """Sends messages and reads profiles through the SDK, with LINE's retry rules."""

    def __init__(
        self,
        settings: LineSettings,
        api_url: str,
        data_api_url: str,
        *,
        backoff_base: float = 0.5,
        metrics: Metrics | None = None,
    ) -> None:
        # AsyncApiClient must be created inside the running loop: construct LinePlatform in
        # the app's lifespan, never at import time. Configuration(host=...) redirects every
        # call of a client, so the content API (api-data) has a client of its own.
        self._settings = settings
        self._backoff_base = backoff_base
        self._metrics = metrics or Metrics()
        self._api_client = AsyncApiClient(
            Configuration(access_token=settings.access_token, host=api_url)
        )
        self._data_client = AsyncApiClient(
            Configuration(access_token=settings.access_token, host=data_api_url)
        )
        self._api = AsyncMessagingApi(self._api_client)
        self._blob = AsyncMessagingApiBlob(self._data_client)

    async def aclose(self) -> None:
        """Close the HTTP sessions."""
        await self._api_client.close()
        await self._data_client.close()

    async def _with_retries(
        self, what: str, call: Callable[[], Awaitable[T]], attempts: int | None = None
    ) -> T:
        attempts = attempts or self._settings.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except Exception as exc:
                status = exc.status if isinstance(exc, ApiException) else None
                self._metrics.platform_errors.labels(what, str(status or "network")).inc()
                if not _transient(exc) or attempt == attempts:
                    raise
                delay = _retry_after(exc) or self._backoff_base * 2 ** (attempt - 1)
                delay = min(delay, _MAX_BACKOFF_SECONDS) * (1 + random.random() / 4)  # noqa: S311
                log.warning("LINE %s failed (%s), retry %d in %.1fs", what, exc, attempt, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def reply(self, reply_token: str, messages: Sequence[Message]) -> None:
        """Reply with a reply token (free, single use, valid about a minute).

        A retry whose token LINE refuses after a try that may have gone through (a 5xx or a
        network error) counts as delivered: the token is ours alone, and LINE spends it only
        on a reply it accepted."""
        request = ReplyMessageRequest.from_dict(
            {"replyToken": reply_token, "messages": list(messages)}
        )
        timeout = self._settings.request_timeout
        uncertain = False

        async def send() -> None:
            nonlocal uncertain
            try:
                await self._api.reply_message(request, _request_timeout=timeout)
            except ApiException as exc:
                if uncertain and _invalid_reply_token(exc):
                    log.info("reply token spent by an earlier try that went through")
                    return
                uncertain = uncertain or exc.status is None or exc.status >= 500
                raise
            except Exception:
                uncertain = True
                raise

        await self._with_retries("reply", send)

    async def push(
        self,
        user_id: str,
        messages: Sequence[Message],
        retry_key: uuid.UUID | None = None,
        *,
        attempts: int | None = None,
    ) -> None:
        """Push to one user. The retry key makes every retry of this push idempotent, also
        across processes (the outbox keeps it); `attempts` bounds the in-call retries."""
        request = PushMessageRequest.from_dict({"to": user_id, "messages": list(messages)})
        key = str(retry_key or uuid.uuid4())
        timeout = self._settings.request_timeout
        await self._keyed(
            "push",
            lambda: self._api.push_message(request, x_line_retry_key=key, _request_timeout=timeout),
            attempts,
        )

    async def multicast(
        self,
        user_ids: Sequence[str],
        messages: Sequence[Message],
        retry_key: uuid.UUID | None = None,
        *,
        attempts: int | None = None,
    ) -> None:
        """Send the same messages to up to MULTICAST_MAX users, with the same retry rules as
        `push`. LINE skips users who blocked the account without an error."""
        if not 1 <= len(user_ids) <= MULTICAST_MAX:
            raise ValueError(f"a multicast takes 1 to {MULTICAST_MAX} users, not {len(user_ids)}")
        request = MulticastRequest.from_dict({"to": list(user_ids), "messages": list(messages)})
        key = str(retry_key or uuid.uuid4())
        timeout = self._settings.request_timeout
        await self._keyed(
            "multicast",
            lambda: self._api.multicast(request, x_line_retry_key=key, _request_timeout=timeout),
            attempts,
        )

    async def _keyed(
        self, what: str, call: Callable[[], Awaitable[object]], attempts: int | None
    ) -> None:
        """A call carrying a retry key, with retries."""
        try:
            await self._with_retries(what, call, attempts)
        except ApiException as exc:
            # 409: a request with this retry key was already accepted: it was delivered.
            if exc.status != 409:
                raise

    async def answer(
        self,
        *,
        user_id: str | None,
        reply_token: str | None,
        event_age_seconds: float,
        messages: Sequence[Message],
        answer_key: uuid.UUID | None = None,
        retaken: bool = False,
    ) -> Literal["reply", "push", "answered before"]:
        """Answer an event: by reply while its token is fresh, else (or if LINE refuses the
        token) by push to the user. Returns how it went out.

        For an event `retaken` from a worker that died while handling it, a fresh token that
        LINE refuses was spent by that worker's reply, which LINE accepted: the resident has
        their answer, and a push would be a second one. The push carries `answer_key` (the
        same in every attempt at the event), so LINE delivers one push however many workers
        send it."""
        fresh = event_age_seconds < self._settings.reply_token_max_age
        if reply_token and fresh:
            try:
                await self.reply(reply_token, messages)
                return "reply"
            except ApiException as exc:
                if not _invalid_reply_token(exc):
                    raise
                if retaken:
                    return "answered before"
                if not user_id:
                    raise
                log.info("reply token refused, pushing instead")
        if not user_id:
            raise PlatformError("the reply token has expired and the source has no user ID")
        await self.push(user_id, messages, answer_key)
        return "push"

    async def profile_language(self, user_id: str) -> str | None:
        """The user's LINE language (e.g. "ja", "en"), or None when LINE does not say."""
        try:
            profile = await self._with_retries(
                "profile",
                lambda: self._api.get_profile(
                    user_id, _request_timeout=self._settings.request_timeout
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        language = getattr(profile, "language", None)
        return str(language) if language else None

    async def message_content(self, message_id: str) -> tuple[bytes, str]:
        """The bytes and content type of a message's content (a photo). LINE keeps content
        only for a while: fetch it as soon as the event is handled."""
        response = await self._with_retries(
            "content",
            lambda: self._blob.get_message_content_with_http_info(
                message_id, _request_timeout=self._settings.request_timeout
            ),
        )
        headers = response.headers or {}
        content_type = headers.get("Content-Type") or headers.get("content-type") or ""
        return bytes(response.data), str(content_type)
