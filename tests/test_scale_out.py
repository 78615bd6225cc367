"""Scale-out as the README describes it: two `civic serve` (INBOX_WORKERS=0: they only take
webhooks) and two `civic worker` processes on one PostGIS, talking to the LINE platform
stand-in. Residents send a burst of locations and whole reports to both serve processes;
one worker is killed with SIGKILL mid-burst. Every accepted event is answered exactly once
(the killed worker's claim is retaken when its short lease runs out), and when the crew then
changes the reports' status, each reporter is told exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection

from service import localdb, reports, sandbox
from service.sandbox import LinePlatformStandIn, WebhookSender
from tests.utils.app import TEST_SECRET, TEST_TOKEN
from tests.utils.cli import civic_process
from tests.utils.database import copy_database, in_transaction
from tests.utils.servers import free_port

LEASE_SECONDS = 5
# Every worker task's next reply goes through but is answered 500 with Retry-After: each task
# is caught holding a claimed event whose answer was delivered (waiting to retry) when one
# worker process is killed, the case that tempts a second answer. Shorter than the lease:
# the waiting workers that live on keep their claims.
RETRY_AFTER_SECONDS = 2
WORKER_TASKS = 4  # two `civic worker --count 2`
# Generous: a loaded 2-core machine runs four Python processes and PostgreSQL here.
START_TIMEOUT = 60.0
DONE_TIMEOUT = 60.0
LOCATORS = 16
REPORTERS = 8
# Spots in Kita-ku (lat, lon): 王子, 赤羽, 田端, 十条.
SPOTS = [(35.758357, 139.736233), (35.7778, 139.7209), (35.7381, 139.7608), (35.7636, 139.7222)]


def _environment(database_url: str, standin_url: str, work: Path, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LINE_")}
    return environment | {
        "DATABASE_URL": database_url,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_URL": standin_url,
        "LINE_DATA_API_URL": standin_url,
        "PHOTO_DIR": str(work / "photos"),
        "BASEMAP_URL": "none",
        "INBOX_POLL_SECONDS": "0.2",
        "INBOX_RETRY_BASE_SECONDS": "0.1",
        "INBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "OUTBOX_POLL_SECONDS": "0.2",
        "OUTBOX_RETRY_BASE_SECONDS": "0.1",
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        **extra,
    }


def _wait(what: str, ready: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None else ""
    raise AssertionError(f"{what} within {timeout:g} s\n{tail}")


def _up(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"civic serve exited with {process.returncode}")
    try:
        return httpx.get(url + "/healthz", timeout=1, trust_env=False).status_code == 200
    except httpx.TransportError:
        return False


def _serve(stack: ExitStack, env: dict[str, str], work: Path, name: str) -> str:
    port = free_port()
    log = work / f"{name}.log"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    process = stack.enter_context(civic_process(args, env, log))
    url = f"http://127.0.0.1:{port}"
    _wait(f"{name} up", lambda: _up(url, process), START_TIMEOUT, log)
    return url


def _worker(
    stack: ExitStack, env: dict[str, str], work: Path, name: str
) -> subprocess.Popen[bytes]:
    log = work / f"{name}.log"
    process = stack.enter_context(civic_process(["worker", "--count", "2"], env, log))

    def started() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited:\n{log.read_text(errors='replace')[-3000:]}")
        return "inbox workers" in log.read_text(errors="replace")

    _wait(f"{name} started", started, START_TIMEOUT, log)
    return process


def _conversations(standin: LinePlatformStandIn) -> list[list[dict[str, Any]]]:
    """Each resident's events, in the order they send them: locators send two locations,
    reporters a whole report (the text, the category, the spot, no photo, no description,
    send), each at their own spot. A resident's events are 10 ms apart, as LINE stamps them
    (the inbox runs them in that order)."""
    now = time.time_ns() // 1_000_000
    spoken: list[list[dict[str, Any]]] = []
    for n in range(LOCATORS):
        user = f"U{n:032x}"
        lat, lon = SPOTS[n % len(SPOTS)]
        spoken.append(
            [
                sandbox.location_event(standin, user, lat, lon, timestamp_ms=now + 10 * step)
                for step in range(2)
            ]
        )
    for n in range(REPORTERS):
        user = f"U{0xFFFF - n:032x}"
        # About 300 m apart: no report joins another's cluster (which asks the reporter).
        lat, lon = SPOTS[n % len(SPOTS)]
        lat += 0.003 * (n // len(SPOTS))
        at = [now + 10 * step for step in range(6)]
        spoken.append(
            [
                sandbox.text_event(standin, user, "通報", timestamp_ms=at[0]),
                sandbox.postback_event(
                    standin, user, "report=category&code=road", timestamp_ms=at[1]
                ),
                sandbox.location_event(
                    standin, user, lat, lon, address="東京都北区", timestamp_ms=at[2]
                ),
                sandbox.postback_event(standin, user, "report=photos_done", timestamp_ms=at[3]),
                sandbox.postback_event(standin, user, "report=no_description", timestamp_ms=at[4]),
                sandbox.postback_event(standin, user, "report=submit", timestamp_ms=at[5]),
            ]
        )
    return spoken


def _say(webhooks: list[str], events: list[dict[str, Any]]) -> list[int]:
    """One resident's events in order, each to the next serve process in turn (a load
    balancer's round robin); the HTTP status of each."""
    statuses = []
    for number, event in enumerate(events):
        with WebhookSender(webhooks[number % len(webhooks)], TEST_SECRET) as sender:
            statuses.append(sender.send([event]).status_code)
    return statuses


def _inbox(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) AS n FROM line_inbox GROUP BY 1"))
            return {row.status: row.n for row in rows}
    finally:
        engine.dispose()


def _refused(standin: LinePlatformStandIn) -> int:
    return sum(c.status == 500 for c in standin.calls("reply"))


def _retaken(database_url: str) -> int:
    """How many events a second worker claimed."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM line_inbox WHERE attempts > 1")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_two_serve_and_two_worker_processes_answer_every_event_once_when_a_worker_dies(
    cluster: localdb.LocalCluster,
    kita_template: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
    tmp_path: Path,
) -> None:
    database_url = copy_database(cluster, kita_template)
    env = _environment(database_url, standin_server[1], tmp_path)
    serve_env = env | {"INBOX_WORKERS": "0", "OUTBOX_WORKERS": "0"}
    spoken = _conversations(standin)
    events_sent = sum(len(events) for events in spoken)
    with ExitStack() as stack:
        webhooks = [
            _serve(stack, serve_env, tmp_path, name) + "/line/webhook"
            for name in ("serve-1", "serve-2")
        ]
        doomed = _worker(stack, env, tmp_path, "worker-1")
        _worker(stack, env, tmp_path, "worker-2")

        standin.fail_next(
            "reply", 500, WORKER_TASKS, retry_after=RETRY_AFTER_SECONDS, accepted=True
        )
        with ThreadPoolExecutor(max_workers=8) as pool:
            sent = [pool.submit(_say, webhooks, events) for events in spoken]
            # Mid-burst, every worker task holding a claimed event it has answered.
            _wait(
                "every worker task answered 500 once",
                lambda: _refused(standin) == WORKER_TASKS,
                DONE_TIMEOUT,
            )
            doomed.send_signal(signal.SIGKILL)
            statuses = [status for future in sent for status in future.result()]
        assert statuses == [200] * events_sent  # every event accepted
        assert doomed.wait(10) == -signal.SIGKILL

        _wait(
            "every event answered",
            lambda: _inbox(database_url) == {"done": events_sent},
            DONE_TIMEOUT,
        )
        # Each resident got one reply per event, and nothing by push.
        answered = Counter((d.to, d.via) for d in standin.delivered())
        assert answered == {
            (events[0]["source"]["userId"], "reply"): len(events) for events in spoken
        }
        assert _retaken(database_url) >= 1  # the killed worker's claims, once their lease ran out

        reporters = sorted({events[0]["source"]["userId"] for events in spoken[LOCATORS:]})
        for reporter in reporters:  # each report filed: its number is in the last answer
            assert "受付番号" in str(standin.delivered(reporter)[-1].messages)
        # A replacement worker, as an orchestrator would start; then the crew works every
        # report and each reporter is told, by whichever worker takes the notice.
        _worker(stack, env, tmp_path, "worker-3")

        async def start_work(conn: AsyncConnection) -> int:
            clusters = (await conn.execute(text("SELECT id FROM report_clusters"))).scalars()
            return sum(
                [
                    await reports.change_status(conn, c, "in_progress", actor="test")
                    for c in clusters
                ]
            )

        assert in_transaction(database_url, start_work) == len(reporters)
        standin.wait_for_deliveries(events_sent + len(reporters), timeout=DONE_TIMEOUT)
        _wait("the outbox sent", lambda: _outbox_sent(database_url), DONE_TIMEOUT)
        pushed = Counter(d.to for d in standin.delivered() if d.via == "push")
        assert pushed == dict.fromkeys(reporters, 1)


def _outbox_sent(database_url: str) -> bool:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            statuses = conn.execute(text("SELECT DISTINCT status FROM line_outbox")).scalars()
            return list(statuses) == ["sent"]
    finally:
        engine.dispose()
