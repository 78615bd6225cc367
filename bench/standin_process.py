"""The LINE platform stand-in in a process of its own, for the surge bench.

The stand-in (service.sandbox) serves LINE's paths as in the tests. Two things are added
for a load generator in another process: `/_bench/tokens` issues reply tokens for a list of
users in one request (the bench builds its events ahead), `/_bench/content/{id}` holds a
photo for download; and every reply and push is reported through a pipe as
(kind, reply token or user, HTTP status, time.time() once answered), so that the bench
learns of each answer as it is sent without polling.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import time
from multiprocessing.connection import Connection
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from service.sandbox import LinePlatformStandIn, create_standin_app

_WATCHED = {"/v2/bot/message/reply": "reply", "/v2/bot/message/push": "push"}

Answer = tuple[str, str, int, float]
"""(reply or push, the reply token or the user, HTTP status, when it was answered)."""


def _reporting(app: Any, pipe: Connection) -> Any:
    """`app`, reporting each reply and push through `pipe` once answered."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        kind = _WATCHED.get(scope.get("path", "")) if scope["type"] == "http" else None
        if kind is None:
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status = 0

        async def body() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def answered(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await app(scope, body, answered)
        sent = json.loads(b"".join(chunks) or b"{}")
        key = sent.get("replyToken" if kind == "reply" else "to", "")
        pipe.send((kind, str(key), status, time.time()))

    return wrapped


def _app(standin: LinePlatformStandIn, pipe: Connection) -> Any:
    control = FastAPI()

    @control.post("/_bench/tokens")
    async def tokens(request: Request) -> Response:
        users = (await request.json())["users"]
        return JSONResponse({"tokens": [standin.issue_reply_token(user) for user in users]})

    @control.post("/_bench/content/{message_id}")
    async def content(request: Request, message_id: str) -> Response:
        standin.put_content(message_id, await request.body())
        return Response(status_code=204)

    line = create_standin_app(standin)

    async def both(scope: Any, receive: Any, send: Any) -> None:
        target = control if scope.get("path", "").startswith("/_bench/") else line
        await target(scope, receive, send)

    return _reporting(both, pipe)


def _run(sock: socket.socket, token: str, pipe: Connection) -> None:
    # Reply tokens outlive the run: the bench issues them ahead of the events.
    standin = LinePlatformStandIn(token, reply_token_ttl=3600)
    config = uvicorn.Config(_app(standin, pipe), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


class StandInProcess:
    """The stand-in, serving on a loopback port in a child process; `answers` receives
    its reports."""

    def __init__(self, token: str) -> None:
        """Start it; `url` is its base URL once this returns."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        context = multiprocessing.get_context("spawn")
        self.answers, child_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_run, args=(sock, token, child_end), name="line-standin", daemon=True
        )
        self._process.start()
        child_end.close()
        port = sock.getsockname()[1]
        sock.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or not self._process.is_alive():
                    raise RuntimeError("the stand-in process did not start") from None
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return int(self._process.pid or 0)

    def stop(self) -> None:
        """Stop the child process."""
        self._process.terminate()
        self._process.join(timeout=10)
