"""The platform client: the one place that talks to the LINE Messaging API.

It wraps the official line-bot-sdk async clients. Transient failures (429, 5xx, network
errors) are retried with backoff; a reply whose token is no longer accepted goes out as a
push; pushes and multicasts carry an `X-Line-Retry-Key` so that a retry can never deliver
twice (an answer's key comes from its event's ID, so also across attempts and processes).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Literal, TypeVar

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
# The namespace of the answers' retry keys (uuid5 of the webhookEventId).
_ANSWER_KEYS = uuid.UUID("5b0c6f1e-7c1d-4f43-9a53-2f1de1c2a7e4")
# LINE's multicast takes at most this many user IDs.
MULTICAST_MAX = 500


class PlatformError(RuntimeError):
    """LINE refused a call, or kept failing after every retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ReplyTokenUsed(PlatformError):
    """LINE refused a reply token that a failed try of ours may have used."""


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


def _may_have_gone_through(exc: Exception) -> bool:
    """A failed call LINE may still have carried out: 5xx, a timeout, a lost connection."""
    if isinstance(exc, ApiException):
        return (exc.status or 0) >= 500
    return isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError)


def answer_key(event_id: str) -> uuid.UUID:
    """The retry key of the push answering an event: the same on every attempt, so LINE
    delivers it once."""
    return uuid.uuid5(_ANSWER_KEYS, event_id)


def _invalid_reply_token(exc: ApiException) -> bool:
    body = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
    return exc.status == 400 and "reply token" in body.lower()


class _AsBuilt:
    """A request of the SDK holding messages as the JSON our builders made: sent as is.

    The builders' output is checked against LINE's rules by the stand-in in every test;
    parsing each Flex component into the SDK's pydantic models and serialising it back was
    a third of a worker's CPU in a surge of location events (bench/surge-profiles.txt)."""

    __fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The request's JSON, under LINE's names (what the SDK's own to_dict gives)."""
        values = ((field.alias, getattr(self, name)) for name, field in self.__fields__.items())
        return {alias: value for alias, value in values if value is not None}


# The SDK's models are untyped for mypy (linebot.* is ignored in pyproject.toml).
class _Reply(_AsBuilt, ReplyMessageRequest):  # type: ignore[misc]
    """A reply request built by us."""


class _Push(_AsBuilt, PushMessageRequest):  # type: ignore[misc]
    """A push request built by us."""


class _Multicast(_AsBuilt, MulticastRequest):  # type: ignore[misc]
    """A multicast request built by us."""


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
        """Reply with a reply token (free, single use, valid about a minute). Raises
        ReplyTokenUsed when LINE refuses the token after a try of ours that may have gone
        through (5xx, network): that try most likely delivered the reply."""
        request = _Reply.construct(replyToken=reply_token, messages=list(messages))
        timeout = self._settings.request_timeout
        uncertain = False

        async def call() -> object:
            nonlocal uncertain
            try:
                return await self._api.reply_message(request, _request_timeout=timeout)
            except Exception as exc:
                uncertain = uncertain or _may_have_gone_through(exc)
                raise

        try:
            await self._with_retries("reply", call)
        except ApiException as exc:
            if uncertain and _invalid_reply_token(exc):
                raise ReplyTokenUsed("the reply token was used by a try that failed") from exc
            raise

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
        request = _Push.construct(to=user_id, messages=list(messages))
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
        request = _Multicast.construct(to=list(user_ids), messages=list(messages))
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
        event_id: str,
        user_id: str | None,
        reply_token: str | None,
        event_age_seconds: float,
        repeat: bool,
        messages: Sequence[Message],
    ) -> Literal["reply", "push", "replied before"]:
        """Answer an event: by reply while its token is fresh, else (or if LINE refuses the
        token) by push to the user. Returns how it went out.

        Never twice for one event, even when this is a `repeat` (an earlier attempt at the
        event stopped without saying how it ended): the push's retry key comes from the
        event's ID, and a fresh token refused after a call of ours that may have gone through
        (that earlier attempt, or a reply here that failed with 5xx or on the network) was
        used by that call, so the answer is not pushed again. A repeat past the token's age
        can only push: whether an earlier attempt replied is not known then."""
        fresh = event_age_seconds < self._settings.reply_token_max_age
        if reply_token and fresh:
            try:
                await self.reply(reply_token, messages)
                return "reply"
            except ReplyTokenUsed:
                log.info("reply token used by a try that failed: not sent again")
                return "replied before"
            except ApiException as exc:
                if not _invalid_reply_token(exc):
                    raise
                if repeat:
                    log.info("reply token used by an earlier attempt: not sent again")
                    return "replied before"
                if not user_id:
                    raise
                log.info("reply token refused, pushing instead")
        if not user_id:
            raise PlatformError("the reply token has expired and the source has no user ID")
        await self.push(user_id, messages, answer_key(event_id))
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
