"""A local stand-in of the LINE Messaging API, and helpers that play the user's side.

Sandbox mode (no LINE credentials) and the tests point the real line-bot-sdk client at this
stand-in over real HTTP (``Configuration(host=...)``). It answers at LINE's own paths, applies
LINE's rules where they shape our code (single-use reply tokens that expire, retry keys,
message counts and the size limits only LINE's server checks), and records every call and
every message LINE would have delivered, so tests can assert on what a resident saw.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from service.sandbox.ids import message_id, quote_token
from service.sandbox.validation import detail, message_errors, notification_errors

#: Endpoints that ``fail_next`` can make fail.
ENDPOINTS: Final[tuple[str, ...]] = ("reply", "push", "multicast", "profile", "content")
# LINE's limits on a request (the message limits are in validation.py).
MAX_MULTICAST_RECIPIENTS: Final = 500
MAX_BODY_BYTES: Final = 2_000_000

AUTH_FAILED: Final = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
_STATUS_MESSAGES: Final[dict[int, str]] = {
    400: "Bad Request",
    401: AUTH_FAILED,
    403: "Access to this API is not available for your account",
    404: "Not found",
    409: "The retry key is already accepted",
    410: "Gone",
    413: "Request Entity Too Large",
    429: "The API rate limit has been exceeded. Try again later.",
    500: "Internal server error",
    503: "Service unavailable",
}
_RETRY_KEY_RE: Final = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_RETRY_KEY: Final = "x-line-retry-key"

# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordedCall:
    """One request the stand-in answered."""

    endpoint: str
    method: str
    path: str
    status: int
    body: Any
    headers: dict[str, str]
    at: float


@dataclass(frozen=True)
class Delivery:
    """Messages LINE accepted for one user (one per recipient for a multicast)."""

    via: Literal["reply", "push", "multicast"]
    to: str
    messages: list[dict[str, Any]]
    at: float
    notification_disabled: bool = False


@dataclass
class _User:
    user_id: str
    display_name: str
    language: str | None
    picture_url: str | None
    blocked: bool = False


@dataclass
class _ReplyToken:
    user_id: str
    issued: float
    used: bool = False
    expired: bool = False


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: int | None
    accepted: bool


@dataclass
class _Answer:
    status: int
    body: Any = None  # JSON-able, or bytes with ``media_type``
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"
    deliveries: list[Delivery] = field(default_factory=list)


def _error(status: int, message: str | None = None, **extra: Any) -> _Answer:
    return _Answer(status, {"message": message or _STATUS_MESSAGES.get(status, "Error"), **extra})


def _invalid(details: list[dict[str, str]]) -> _Answer:
    return _error(400, f"The request body has {len(details)} error(s)", details=details)


def _sent_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    sent = []
    for msg in messages:
        entry = {"id": message_id()}
        if msg.get("type") in ("text", "textV2", "sticker", "image", "video", "location"):
            entry["quoteToken"] = quote_token()
        sent.append(entry)
    return sent


# --------------------------------------------------------------------------- the stand-in


class LinePlatformStandIn:
    """State of the stand-in LINE platform: users, reply tokens, content and the record.

    Thread-safe: the HTTP server runs in one thread while tests read from another.
    """

    def __init__(self, access_token: str, reply_token_ttl: float = 60.0) -> None:
        """Accept ``Bearer access_token``; reply tokens live ``reply_token_ttl`` seconds."""
        self.access_token = access_token
        self.reply_token_ttl = reply_token_ttl
        self.bot_user_id = "U" + hashlib.sha256(access_token.encode()).hexdigest()[:32]
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _ReplyToken] = {}
        self._content: dict[str, tuple[bytes, str]] = {}
        self._gone: set[str] = set()
        self._failures: dict[str, deque[_Failure]] = {name: deque() for name in ENDPOINTS}
        # retry key -> (accepted request id, sentMessages); LINE keeps them 24 h.
        self._retry_keys: dict[str, tuple[str, list[dict[str, str]]]] = {}
        self._calls: list[RecordedCall] = []
        self._deliveries: list[Delivery] = []

    # -- users

    def add_user(
        self,
        user_id: str,
        display_name: str = "Sandbox User",
        language: str | None = "ja",
        picture_url: str | None = None,
    ) -> None:
        """Make ``user_id`` a friend of the bot (replaces an existing profile)."""
        with self._lock:
            self._users[user_id] = _User(user_id, display_name, language, picture_url)

    def known_user(self, user_id: str) -> bool:
        """Whether ``user_id`` exists for this bot (blocked or not)."""
        with self._lock:
            return user_id in self._users

    def set_blocked(self, user_id: str, blocked: bool = True) -> None:
        """Block or unblock the bot for a user: LINE then accepts pushes but delivers nothing."""
        with self._lock:
            self._user(user_id).blocked = blocked

    def _user(self, user_id: str) -> _User:
        # A user who sends an event exists on LINE: create one with defaults on first sight.
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = _User(user_id, "Sandbox User", "ja", None)
        return user

    # -- reply tokens

    def issue_reply_token(self, user_id: str) -> str:
        """A fresh reply token for an event of ``user_id`` (adds the user if unknown)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._user(user_id)
            self._tokens[token] = _ReplyToken(user_id, time.monotonic())
        return token

    def expire_reply_tokens(self) -> None:
        """Expire every issued reply token, as if the worker got to its events too late."""
        with self._lock:
            for token in self._tokens.values():
                token.expired = True

    # -- content

    def put_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """Content a user sent, served at ``/v2/bot/message/{message_id}/content``."""
        with self._lock:
            self._content[message_id] = (data, content_type)
            self._gone.discard(message_id)

    def expire_content(self, message_id: str) -> None:
        """Drop content so that it answers 410 Gone, as LINE does after its retention."""
        with self._lock:
            self._content.pop(message_id, None)
            self._gone.add(message_id)

    # -- failure injection

    def fail_next(
        self,
        endpoint: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        *,
        accepted: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``endpoint`` answer ``status``.

        ``retry_after`` adds a ``Retry-After`` header. With ``accepted=True`` the request is
        still carried out (messages delivered, retry key remembered) before the error is
        answered: the "5xx but it went through" case retry keys exist for.
        """
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}, not {endpoint!r}")
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an error status, not {status}")
        with self._lock:
            for _ in range(times):
                self._failures[endpoint].append(_Failure(status, retry_after, accepted))

    # -- the record

    def calls(self, endpoint: str | None = None) -> list[RecordedCall]:
        """Recorded calls, oldest first, optionally of one endpoint."""
        with self._lock:
            return [c for c in self._calls if endpoint is None or c.endpoint == endpoint]

    def delivered(self, user_id: str | None = None) -> list[Delivery]:
        """Messages LINE accepted and delivered, oldest first, optionally to one user."""
        with self._lock:
            return self._select(user_id)

    def wait_for_deliveries(
        self, n: int, user_id: str | None = None, timeout: float = 10.0
    ) -> list[Delivery]:
        """Block until at least ``n`` deliveries (to ``user_id``) exist, and return them all.

        Raises TimeoutError describing what was received so far.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._select(user_id)
                if len(found) >= n:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._describe_shortfall(n, user_id, found))
                self._changed.wait(remaining)

    def clear(self) -> None:
        """Forget recorded calls, deliveries and pending failures (users, tokens stay)."""
        with self._lock:
            self._calls.clear()
            self._deliveries.clear()
            for queue in self._failures.values():
                queue.clear()

    def _select(self, user_id: str | None) -> list[Delivery]:
        return [d for d in self._deliveries if user_id is None or d.to == user_id]

    def _describe_shortfall(self, n: int, user_id: str | None, found: list[Delivery]) -> str:
        whom = f" to {user_id}" if user_id else ""
        got = [(d.via, d.to, [m.get("text", m.get("type")) for m in d.messages]) for d in found]
        calls = [(c.endpoint, c.status) for c in self._calls]
        return f"expected {n} deliveries{whom}, got {len(found)}: {got}; calls so far: {calls}"

    # -- request handling (called by the app, one request at a time under the lock)

    def _handle(
        self,
        endpoint: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        raw: bytes,
        param: str = "",
    ) -> _Answer:
        request_id = uuid.uuid4().hex
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        with self._lock:
            answer = self._answer(endpoint, headers, raw, body, param, request_id)
            answer.headers.setdefault("x-line-request-id", request_id)
            now = time.time()
            kept = {k: headers[k] for k in (_RETRY_KEY, "content-type") if k in headers}
            self._calls.append(RecordedCall(endpoint, method, path, answer.status, body, kept, now))
            self._deliveries += answer.deliveries
            self._changed.notify_all()
        return answer

    def _answer(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        raw: bytes,
        body: Any,
        param: str,
        request_id: str,
    ) -> _Answer:
        if headers.get("authorization", "") != f"Bearer {self.access_token}":
            return _error(401)
        failure = self._failures[endpoint].popleft() if self._failures.get(endpoint) else None
        if failure is not None and not failure.accepted:
            return self._failed(failure)
        if len(raw) > MAX_BODY_BYTES:
            answer = _error(413)
        elif endpoint in ("reply", "push", "multicast", "validate") and not isinstance(body, dict):
            answer = _error(400, "The request body is not a valid JSON object")
        elif endpoint == "reply":
            answer = self._reply(headers, body)
        elif endpoint == "push":
            answer = self._push(headers, body, request_id)
        elif endpoint == "multicast":
            answer = self._multicast(headers, body, request_id)
        elif endpoint == "validate":
            errors = message_errors(body.get("messages"))
            answer = _invalid(errors) if errors else _Answer(200, {})
        elif endpoint == "profile":
            answer = self._profile(param)
        elif endpoint == "content":
            answer = self._get_content(param)
        elif endpoint == "info":
            answer = self._info()
        else:
            answer = _error(404)
        if failure is not None:
            # Carried out, but answered with the injected error anyway.
            failed = self._failed(failure)
            failed.deliveries = answer.deliveries
            return failed
        return answer

    @staticmethod
    def _failed(failure: _Failure) -> _Answer:
        answer = _error(failure.status)
        if failure.retry_after is not None:
            answer.headers["Retry-After"] = str(failure.retry_after)
        return answer

    def _reply(self, headers: Mapping[str, str], body: dict[str, Any]) -> _Answer:
        if _RETRY_KEY in headers:
            return _error(400, "X-Line-Retry-Key is not supported by this API")
        errors: list[dict[str, str]] = []
        token = body.get("replyToken")
        if not isinstance(token, str) or not token:
            errors.append(detail("replyToken", "May not be empty"))
        errors += notification_errors(body) + message_errors(body.get("messages"))
        if errors:
            return _invalid(errors)
        entry = self._tokens.get(str(token))
        if (
            entry is None
            or entry.used
            or entry.expired
            or time.monotonic() - entry.issued > self.reply_token_ttl
        ):
            return _error(400, "Invalid reply token")
        entry.used = True
        messages: list[dict[str, Any]] = body["messages"]
        user = self._user(entry.user_id)
        deliveries = []
        if not user.blocked:
            quiet = bool(body.get("notificationDisabled", False))
            deliveries.append(Delivery("reply", user.user_id, messages, time.time(), quiet))
        return _Answer(200, {"sentMessages": _sent_messages(messages)}, deliveries=deliveries)

    def _retry_key(self, headers: Mapping[str, str]) -> tuple[str | None, _Answer | None]:
        key = headers.get(_RETRY_KEY)
        if key is None:
            return None, None
        if not _RETRY_KEY_RE.match(key):
            return None, _error(400, "The retry key must be a UUID in hexadecimal format")
        seen = self._retry_keys.get(key.lower())
        if seen is not None:
            accepted_id, sent = seen
            conflict = _error(409)
            if sent:  # a push's 409 repeats what was sent the first time
                conflict.body["sentMessages"] = sent
            conflict.headers["x-line-accepted-request-id"] = accepted_id
            return key.lower(), conflict
        return key.lower(), None

    def _push(self, headers: Mapping[str, str], body: dict[str, Any], request_id: str) -> _Answer:
        key, refusal = self._retry_key(headers)
        if refusal is not None:
            return refusal
        errors: list[dict[str, str]] = []
        to = body.get("to")
        if not isinstance(to, str) or not to:
            errors.append(detail("to", "May not be empty"))
        errors += notification_errors(body) + message_errors(body.get("messages"))
        if errors:
            return _invalid(errors)
        user = self._users.get(str(to))
        if user is None:
            return _error(400, "Failed to send messages")
        messages: list[dict[str, Any]] = body["messages"]
        sent = _sent_messages(messages)
        if key is not None:
            self._retry_keys[key] = (request_id, sent)
        deliveries = []
        # A blocked user: LINE accepts (200) and delivers nothing.
        if not user.blocked:
            quiet = bool(body.get("notificationDisabled", False))
            deliveries.append(Delivery("push", user.user_id, messages, time.time(), quiet))
        return _Answer(200, {"sentMessages": sent}, deliveries=deliveries)

    def _multicast(
        self, headers: Mapping[str, str], body: dict[str, Any], request_id: str
    ) -> _Answer:
        key, refusal = self._retry_key(headers)
        if refusal is not None:
            return refusal
        errors: list[dict[str, str]] = []
        to = body.get("to")
        if (
            not isinstance(to, list)
            or not 1 <= len(to) <= MAX_MULTICAST_RECIPIENTS
            or not all(isinstance(u, str) and u for u in to)
        ):
            errors.append(detail("to", f"Size must be between 1 and {MAX_MULTICAST_RECIPIENTS}"))
        errors += notification_errors(body) + message_errors(body.get("messages"))
        if errors:
            return _invalid(errors)
        if key is not None:
            self._retry_keys[key] = (request_id, [])
        recipients: list[str] = body["to"]
        messages: list[dict[str, Any]] = body["messages"]
        quiet = bool(body.get("notificationDisabled", False))
        now = time.time()
        deliveries = []
        # Unknown and blocked recipients are skipped silently, as LINE does.
        for user_id in dict.fromkeys(recipients):
            user = self._users.get(user_id)
            if user is not None and not user.blocked:
                deliveries.append(Delivery("multicast", user_id, messages, now, quiet))
        return _Answer(200, {}, deliveries=deliveries)

    def _profile(self, user_id: str) -> _Answer:
        user = self._users.get(user_id)
        if user is None or user.blocked:
            return _error(404)
        profile: dict[str, str] = {"userId": user.user_id, "displayName": user.display_name}
        if user.picture_url:
            profile["pictureUrl"] = user.picture_url
        if user.language:
            profile["language"] = user.language
        return _Answer(200, profile)

    def _get_content(self, message_id: str) -> _Answer:
        if message_id in self._gone:
            return _error(410)
        found = self._content.get(message_id)
        if found is None:
            return _error(404)
        data, content_type = found
        return _Answer(200, data, media_type=content_type)

    def _info(self) -> _Answer:
        return _Answer(
            200,
            {
                "userId": self.bot_user_id,
                "basicId": "@sandbox",
                "displayName": "Civic GIS (sandbox)",
                "chatMode": "bot",
                "markAsReadMode": "auto",
            },
        )


# --------------------------------------------------------------------------- the HTTP app


def create_standin_app(standin: LinePlatformStandIn) -> FastAPI:
    """A FastAPI app serving ``standin`` at LINE's own paths (both API hosts in one)."""
    app = FastAPI(title="LINE platform stand-in", docs_url=None, redoc_url=None, openapi_url=None)

    async def answer(request: Request, endpoint: str, param: str = "") -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        result = standin._handle(endpoint, request.method, request.url.path, headers, raw, param)
        if isinstance(result.body, bytes):
            return Response(result.body, result.status, result.headers, result.media_type)
        return JSONResponse(result.body, result.status, result.headers)

    @app.post("/v2/bot/message/reply")
    async def reply(request: Request) -> Response:
        return await answer(request, "reply")

    @app.post("/v2/bot/message/push")
    async def push(request: Request) -> Response:
        return await answer(request, "push")

    @app.post("/v2/bot/message/multicast")
    async def multicast(request: Request) -> Response:
        return await answer(request, "multicast")

    @app.post("/v2/bot/message/validate/{kind}")
    async def validate(request: Request, kind: str) -> Response:
        return await answer(request, "validate", kind)

    @app.get("/v2/bot/profile/{user_id}")
    async def profile(request: Request, user_id: str) -> Response:
        return await answer(request, "profile", user_id)

    @app.get("/v2/bot/message/{message_id}/content")
    async def content(request: Request, message_id: str) -> Response:
        return await answer(request, "content", message_id)

    @app.get("/v2/bot/info")
    async def info(request: Request) -> Response:
        return await answer(request, "info")

    # Unauthenticated views for the browser sandbox and for humans.
    @app.get("/_standin/calls")
    async def recorded_calls(endpoint: str | None = None) -> Response:
        return JSONResponse([asdict(c) for c in standin.calls(endpoint)])

    @app.get("/_standin/deliveries")
    async def deliveries(user_id: str | None = None) -> Response:
        return JSONResponse([asdict(d) for d in standin.delivered(user_id)])

    return app
