"""The app in sandbox mode, as a developer runs it: `civic serve --sandbox` on a free port,
on a copy of the Kita-ku database, with no LINE credentials in its environment (sandbox mode
talks to its own URL, which it must know before it starts). Its fixture (`sandbox_app`) is
loaded by conftest.py."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from service import localdb
from tests.utils.cli import civic_process
from tests.utils.database import copy_database
from tests.utils.servers import free_port

START_TIMEOUT = 60.0


@dataclass
class SandboxApp:
    """An app running in sandbox mode, and its database."""

    url: str
    database_url: str

    def query(self, sql: str, **params: Any) -> list[Any]:
        """Rows of `sql` on the app's database."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params))
        finally:
            engine.dispose()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox app exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the sandbox app did not start in {START_TIMEOUT} s:\n{log.read_text()}")


@contextmanager
def civic_serve_sandbox(database_url: str, work: Path, **env: str) -> Iterator[str]:
    """`civic serve --sandbox` on a loopback port, on `database_url`, with no LINE credentials
    in its environment and no base map (no test reaches the internet), its photos and log in
    `work`, and `env` on top; yields its URL."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LINE_")}
    environment |= {
        "DATABASE_URL": database_url,
        "PHOTO_DIR": str(work / "photos"),
        "INBOX_POLL_SECONDS": "0.2",
        "INBOX_RETRY_BASE_SECONDS": "0.1",
        "OUTBOX_POLL_SECONDS": "0.2",
        "OUTBOX_RETRY_BASE_SECONDS": "0.1",
        "BASEMAP_URL": "none",
        **env,
    }
    log = work / "app.log"
    args = ["serve", "--sandbox", "--host", "127.0.0.1", "--port", str(port)]
    with civic_process(args, environment, log) as process:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, process, log)
        yield url


@pytest.fixture(scope="module")
def sandbox_app(
    cluster: localdb.LocalCluster, kita_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxApp]:
    """`civic serve --sandbox` on a loopback port, on its own copy of the Kita-ku database."""
    database_url = copy_database(cluster, kita_template)
    with civic_serve_sandbox(database_url, tmp_path_factory.mktemp("sandbox")) as url:
        yield SandboxApp(url, database_url)
