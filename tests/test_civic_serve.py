"""The app as `civic serve` runs it, uvicorn and logging included: a huge body is refused
before it is read, forwarded headers from a client on the same machine are not believed,
and the logs hold neither API keys nor what residents wrote.

One `civic serve --sandbox` (JSON logs, a small body cap) serves the whole module.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from service import localdb, sandbox
from service.crew.auth import change_password, create_account
from service.settings import SANDBOX_CHANNEL_SECRET
from tests.utils.crew import PASSWORD, Browser
from tests.utils.database import copy_database, in_transaction
from tests.utils.photos import jpeg
from tests.utils.sandbox import civic_serve_sandbox

CAP = 20_000
SECRET_KEY = "k3y-that-must-never-be-logged"
SECRET_WORDS = "わたしの秘密のことば"


@dataclass
class Served:
    url: str
    database_url: str
    log: Path


@pytest.fixture(scope="module")
def served(
    cluster: localdb.LocalCluster, kita_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    database_url = copy_database(cluster, kita_template)
    work = tmp_path_factory.mktemp("served")
    env = {"LOG_FORMAT": "json", "REQUEST_MAX_BODY_BYTES": str(CAP)}
    with civic_serve_sandbox(database_url, work, **env) as url:
        yield Served(url, database_url, work / "app.log")


def _raw_answer(url: str, head: str) -> bytes:
    """Send `head` (request line and headers) and 1 kB of body; read the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode() + b"x" * 1000)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return len(body) >= length


@pytest.mark.parametrize("path", ["/open311/v2/requests.json", "/crew/login"])
def test_a_huge_form_is_refused_before_it_is_read(served: Served, path: str) -> None:
    # 210 MB announced, 1 kB sent: the answer can only come from the announcement.
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 210000000\r\n\r\n"
    )
    started = time.monotonic()
    answer = _raw_answer(served.url, head)
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 5
    if "open311" in path:
        assert b'[{"code": 413, "description": "the request body is larger than' in answer


def test_a_photo_upload_keeps_its_larger_limit(served: Served) -> None:
    photo = jpeg(size=(1600, 1200))
    assert len(photo) > CAP
    answer = httpx.post(
        served.url + "/sandbox/say/image",
        data={"user_id": "U" + "a1" * 16},
        files={"image": ("photo.jpg", photo, "image/jpeg")},
        trust_env=False,
        timeout=30,
    )
    assert answer.status_code == 200


def test_forwarded_for_from_this_machine_is_not_believed(served: Served) -> None:
    async def account(conn: AsyncConnection) -> None:
        await create_account(conn, "tanaka", "crew")
        await change_password(conn, 1, PASSWORD)

    in_transaction(served.database_url, account)
    browser = Browser(served.url)
    statuses = []
    for n in range(6):
        form = {"name": "tanaka", "password": "wrong", "csrf_token": ""}
        form["csrf_token"] = browser.csrf_token("/crew/login")
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}"}
        statuses.append(browser.post("/crew/login", data=form, headers=spoofed).status_code)
    browser.client.close()
    assert statuses == [401] * 5 + [429]


def test_the_logs_hold_no_api_key_and_no_residents_words(served: Served) -> None:
    with httpx.Client(base_url=served.url, trust_env=False, timeout=10) as client:
        assert client.get(f"/open311/v2/requests.json?api_key={SECRET_KEY}").status_code == 200
        assert client.post(
            "/sandbox/say", json={"user_id": "U" + "b2" * 16, "text": SECRET_WORDS}
        ).is_success
    # A text PostgreSQL cannot store: its error once quoted the whole event in the log.
    standin = sandbox.LinePlatformStandIn("unused")
    event = sandbox.text_event(standin, "U" + "c3" * 16, f"通報\u0000{SECRET_WORDS}")
    webhook = sandbox.WebhookSender(served.url + "/line/webhook", SANDBOX_CHANNEL_SECRET)
    webhook.send([event])
    time.sleep(1)
    log = served.log.read_text()
    assert "/open311/v2/requests.json?api_key=[hidden]" in log
    assert SECRET_KEY not in log
    assert SECRET_WORDS not in log and "\\u79d8\\u5bc6" not in log
