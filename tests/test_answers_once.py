"""An answer reaches the resident once, whatever stops a worker half-way: a reply LINE
carried out but answered 5xx, a worker that died after its reply or its push, a worker
process killed with SIGKILL while it held an event (taken over within seconds, not when its
two-minute lease runs out)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from service import sandbox
from service.line.inbox import claim_next, store_events
from service.line.payload import storable
from service.line.platform import LinePlatform
from service.metrics import Metrics
from service.runtime import running
from service.sandbox import LinePlatformStandIn, WebhookSender
from service.settings import InboxSettings
from tests.utils.app import TEST_SECRET, TEST_TOKEN, RunningApp, make_settings
from tests.utils.cli import civic_process

USER = "U" + "c" * 32
ANSWER = [{"type": "text", "text": "避難所はこちら"}]
# Our workers judge another dead after a second without its heartbeat.
QUICK = InboxSettings(
    INBOX_POLL_SECONDS=0.2, INBOX_RETRY_BASE_SECONDS=0.1, INBOX_HEARTBEAT_SECONDS=1
)


def _wait_done(database_url: str, event_id: str, timeout: float = 15.0) -> Any:
    """The event's inbox row once it is done."""
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                row = conn.execute(
                    text("SELECT status, attempts FROM line_inbox WHERE event_id = :id"),
                    {"id": event_id},
                ).first()
            if row is not None and row.status == "done":
                return row
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"event {event_id} not done: {row}")


def test_a_reply_carried_out_but_answered_5xx_is_not_pushed_after_it(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    standin.fail_next("reply", 500, accepted=True)
    event = sandbox.text_event(standin, USER, "避難所")
    WebhookSender(running_app.webhook_url, TEST_SECRET).send([event])
    _wait_done(running_app.database_url, event["webhookEventId"])
    time.sleep(0.5)  # a push after the reply would come now
    assert [d.via for d in standin.delivered(USER)] == ["reply"]


def _crashed_worker(database_url: str, event: dict[str, Any], lease: float) -> None:
    """Store `event` and claim it for a worker that never beats again, as one that died."""

    async def run() -> None:
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await store_events(conn, [storable(event)])
            await claim_next(conn, lease, worker_id=uuid.uuid4())
        await engine.dispose()

    asyncio.run(run())


def _reply_and_die(standin_url: str, app: RunningApp, event: dict[str, Any]) -> None:
    """What the dead worker did before it died: it replied, and LINE accepted the reply."""

    async def run() -> None:
        platform = LinePlatform(app.settings.line, standin_url, standin_url)
        try:
            await platform.reply(event["replyToken"], ANSWER)
        finally:
            await platform.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("app_overrides", [{"inbox": QUICK}], indirect=True)
def test_a_worker_that_died_after_its_reply_is_not_answered_for_again(
    running_app: RunningApp,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
) -> None:
    event = sandbox.text_event(standin, USER, "避難所")
    _crashed_worker(running_app.database_url, event, lease=1)
    _reply_and_die(standin_server[1], running_app, event)
    row = _wait_done(running_app.database_url, event["webhookEventId"])
    assert row.attempts == 2
    time.sleep(0.5)
    assert [d.messages for d in standin.delivered(USER)] == [ANSWER]


def test_an_answers_push_repeated_after_a_crash_is_delivered_once(
    running_app: RunningApp,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
) -> None:
    event = sandbox.text_event(standin, USER, "x")

    async def answer_twice() -> None:
        platform = LinePlatform(running_app.settings.line, standin_server[1], standin_server[1])
        try:
            for _ in range(2):  # the attempt that died after its push, and the next one
                await platform.answer(
                    event_id=event["webhookEventId"],
                    user_id=USER,
                    reply_token=None,
                    event_age_seconds=120,
                    repeat=True,
                    messages=ANSWER,
                )
        finally:
            await platform.aclose()

    asyncio.run(answer_twice())
    assert [d.via for d in standin.delivered(USER)] == ["push"]
    assert [c.status for c in standin.calls("push")] == [200, 409]


@pytest.fixture
def worker_process(
    kita_url: str, standin_server: tuple[LinePlatformStandIn, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`civic worker` in a process of its own, on the test's database and the stand-in."""
    url = standin_server[1]
    env = {
        **os.environ,
        "DATABASE_URL": kita_url,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_URL": url,
        "LINE_DATA_API_URL": url,
        "INBOX_HEARTBEAT_SECONDS": "1",
        "INBOX_POLL_SECONDS": "0.2",
        "PHOTO_DIR": str(tmp_path / "photos"),
        "BASEMAP_URL": "none",
    }
    with civic_process(["worker", "--count", "1"], env, tmp_path / "worker.log") as process:
        yield process


def test_a_worker_process_killed_mid_event_is_taken_over_within_seconds(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
    worker_process: subprocess.Popen[bytes],
) -> None:
    # LINE keeps the killed worker busy: its reply waits out a Retry-After.
    standin.fail_next("reply", 503, times=5, retry_after=20)
    event = sandbox.text_event(standin, USER, "避難所")

    async def scenario() -> float:
        engine = create_async_engine(kita_url)
        async with engine.begin() as conn:
            await store_events(conn, [storable(event)])
        deadline = time.monotonic() + 60
        while not standin.calls("reply"):  # the worker process has claimed it and replied
            assert time.monotonic() < deadline, "the worker process never took the event"
            await asyncio.sleep(0.1)
        worker_process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        standin.clear()  # LINE is fine again
        settings = make_settings(kita_url, standin_server[1], inbox=QUICK)
        async with running(settings, inbox_workers=1, outbox_workers=0, metrics=Metrics()):
            await asyncio.to_thread(standin.wait_for_deliveries, 1, USER, 30)
            taken_over = time.monotonic() - killed
            await asyncio.sleep(0.5)  # a second answer would come now
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT status, attempts FROM line_inbox WHERE event_id = :id"),
                    {"id": event["webhookEventId"]},
                )
            ).one()
        await engine.dispose()
        assert (row.status, row.attempts) == ("done", 2)
        return taken_over

    taken_over = asyncio.run(scenario())
    assert len(standin.delivered(USER)) == 1
    assert taken_over < 20 < InboxSettings().lease_seconds
