"""Request bodies have a size cap, answered 413 before anything reads them.

An unauthenticated client must not make the app parse (and hold in memory) a form of any
size: the Open311 endpoint would read it before checking the key, the crew login before
the password. `BodyLimit` refuses a body whose Content-Length is over its route's limit
without reading a byte, and one sent without a length as soon as the bytes read go over it.
Every route has REQUEST_MAX_BODY_BYTES but those given a limit of their own (photo uploads)
and those that read and limit their body themselves (the webhook, which counts what it
refuses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """A request body over its limit (answered by service/errors.py, or by BodyLimit)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def route_path(scope: Scope) -> str:
    """The path the app routes on: without the reverse proxy's prefix (ROOT_PATH)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root + "/"):
        return path[len(root) :]
    return path


class BodyLimit:
    """ASGI middleware: bodies over `default` bytes, or over their path's own limit in
    `limits`, get the answer `refuse` makes for the path and the limit. A path whose limit
    is None limits its body itself."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int,
        limits: Mapping[str, int | None],
        refuse: Callable[[str, int], Response],
    ) -> None:
        self.app = app
        self.default = default
        self.limits = limits
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a receive that counts, or refuse it at once."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        limit = self.limits.get(path, self.default)
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self.refuse(path, limit)(scope, receive, send)
            return
        read = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Raised where nothing answered it (outside a route): answer here if we still can.
            if started:
                raise
            await self.refuse(path, limit)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
