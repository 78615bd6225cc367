"""Run ASGI apps on a loopback port for tests that need real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (``serve`` itself keeps its socket bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yield its base URL ``http://host:port``.

    The lifespan runs ("on"); an exception in its startup is re-raised here, and a server
    that has not started within 10 s is an error. The server is stopped on exit.
    """
    # Bind first and hand uvicorn the socket: no window for another process to take the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    startup_errors: list[BaseException] = []

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        # Starlette re-raises a lifespan startup error after reporting it to uvicorn, which
        # only logs it: keep it so the test sees the real cause.
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        try:
            await app(scope, receive, send)
        except BaseException as exc:
            startup_errors.append(exc)
            raise

    # As `civic serve` runs it: forwarded headers are the app's (FORWARDED_ALLOW_IPS) to read.
    config = uvicorn.Config(
        guarded, host=host, port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    exit_errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # uvicorn calls sys.exit() when startup fails
            exit_errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not server.started:
            if not thread.is_alive():
                if startup_errors:
                    raise startup_errors[0]
                raise RuntimeError(
                    f"server for {app!r} exited during startup: {exit_errors or 'no error'}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"server for {app!r} did not start within {START_TIMEOUT} s")
            time.sleep(0.01)
    except BaseException:
        _stop(server, thread)
        sock.close()
        raise
    try:
        yield f"http://{host}:{port}"
    finally:
        _stop(server, thread)
        sock.close()


def _stop(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(STOP_TIMEOUT)
    if thread.is_alive():  # connections that will not close: stop without waiting
        server.force_exit = True
        thread.join(STOP_TIMEOUT)
