"""The durable inbox: per-user order, one event of a user at a time, retries, leases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import sandbox
from service.line.inbox import InboxEvent, InboxWorkers, claim_next, store_events
from service.line.payload import PayloadError, storable
from service.settings import InboxSettings

ALICE = "U" + "a" * 32
BOB = "U" + "b" * 32


def _event(user: str, text_: str, timestamp_ms: int) -> dict[str, Any]:
    return sandbox.text_event("reply-token", user, text_, timestamp_ms=timestamp_ms)


@pytest_asyncio.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(empty_url)
    yield engine
    await engine.dispose()


async def _store(engine: AsyncEngine, *events: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await store_events(conn, [storable(event) for event in events])


async def _claim(engine: AsyncEngine, lease: float = 60) -> InboxEvent | None:
    async with engine.begin() as conn:
        return await claim_next(conn, lease)


async def _statuses(engine: AsyncEngine) -> dict[str, tuple[str, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id, status, attempts FROM line_inbox"))
        return {row.event_id: (row.status, row.attempts) for row in rows}


def _settings(**values: Any) -> InboxSettings:
    defaults: dict[str, Any] = {
        "INBOX_RETRY_BASE_SECONDS": 0.05,
        "INBOX_POLL_SECONDS": 0.05,
        "INBOX_MAX_ATTEMPTS": 3,
    }
    return InboxSettings(**(defaults | values))


@pytest.mark.asyncio
async def test_events_of_one_user_are_claimed_in_timestamp_order_one_at_a_time(
    engine: AsyncEngine,
) -> None:
    # Delivered out of order: the later event arrives first.
    second = _event(ALICE, "2", 2_000)
    first = _event(ALICE, "1", 1_000)
    other = _event(BOB, "b", 1_500)
    await _store(engine, second, first, other)

    claimed = await _claim(engine)
    assert claimed is not None and claimed.event_id == first["webhookEventId"]
    # While Alice's first event is being handled, her second is not claimable; Bob's is.
    claimed_next = await _claim(engine)
    assert claimed_next is not None and claimed_next.event_id == other["webhookEventId"]
    assert await _claim(engine) is None


@pytest.mark.asyncio
async def test_concurrent_workers_keep_each_users_order(engine: AsyncEngine) -> None:
    events = [_event(user, str(i), 1_000 + i) for i in range(12) for user in (ALICE, BOB)]
    await _store(engine, *events)
    handled: list[tuple[str, str]] = []
    running: dict[str, int] = {ALICE: 0, BOB: 0}
    overlaps: list[str] = []

    async def handler(event: InboxEvent) -> bool:
        user = event.payload["source"]["userId"]
        running[user] += 1
        if running[user] > 1:
            overlaps.append(user)
        await asyncio.sleep(0.01)
        handled.append((user, event.payload["message"]["text"]))
        running[user] -= 1
        return True

    workers = InboxWorkers(engine, handler, _settings())
    workers.start(4)
    for _ in range(200):
        if len(handled) == len(events):
            break
        await asyncio.sleep(0.05)
    await workers.stop()
    assert overlaps == []
    for user in (ALICE, BOB):
        assert [t for u, t in handled if u == user] == [str(i) for i in range(12)]


@pytest.mark.asyncio
async def test_failures_retry_with_backoff_then_stay_visible_as_failed(
    engine: AsyncEngine,
) -> None:
    flaky = _event(ALICE, "flaky", 1_000)
    broken = _event(BOB, "broken", 1_000)
    await _store(engine, flaky, broken)
    calls: dict[str, int] = {}

    async def handler(event: InboxEvent) -> bool:
        calls[event.event_id] = calls.get(event.event_id, 0) + 1
        if event.event_id == broken["webhookEventId"] or calls[event.event_id] < 2:
            raise RuntimeError("platform down")
        return True

    workers = InboxWorkers(engine, handler, _settings())
    workers.start(1)
    for _ in range(100):
        statuses = await _statuses(engine)
        if statuses[broken["webhookEventId"]][0] == "failed":
            break
        await asyncio.sleep(0.05)
    await workers.stop()
    statuses = await _statuses(engine)
    assert statuses[flaky["webhookEventId"]] == ("done", 2)
    assert statuses[broken["webhookEventId"]] == ("failed", 3)
    async with engine.connect() as conn:
        error = await conn.scalar(
            text("SELECT last_error FROM line_inbox WHERE event_id = :id"),
            {"id": broken["webhookEventId"]},
        )
    assert "platform down" in error


@pytest.mark.asyncio
async def test_a_crashed_workers_event_is_claimed_again_when_its_lease_runs_out(
    engine: AsyncEngine,
) -> None:
    event = _event(ALICE, "x", 1_000)
    await _store(engine, event)
    assert await _claim(engine, lease=0.2) is not None  # this worker then "dies"
    assert await _claim(engine) is None
    await asyncio.sleep(0.3)
    again = await _claim(engine)
    assert again is not None and again.event_id == event["webhookEventId"]
    assert again.attempts == 2


@pytest.mark.asyncio
async def test_a_failed_event_does_not_block_the_users_later_events(
    engine: AsyncEngine,
) -> None:
    first = _event(ALICE, "1", 1_000)
    later = _event(ALICE, "2", 2_000)
    await _store(engine, first, later)

    async def handler(event: InboxEvent) -> bool:
        if event.event_id == first["webhookEventId"]:
            raise ValueError("bad event")
        return True

    workers = InboxWorkers(engine, handler, _settings(INBOX_MAX_ATTEMPTS=1))
    assert await workers.drain() == 2
    statuses = await _statuses(engine)
    assert statuses[first["webhookEventId"]][0] == "failed"
    assert statuses[later["webhookEventId"]][0] == "done"


@pytest.mark.asyncio
async def test_a_malformed_event_is_ignored_at_once_and_the_users_next_event_runs(
    engine: AsyncEngine,
) -> None:
    malformed = _event(ALICE, "1", 1_000)
    later = _event(ALICE, "2", 2_000)
    await _store(engine, malformed, later)

    async def handler(event: InboxEvent) -> bool:
        if event.event_id == malformed["webhookEventId"]:
            raise PayloadError("latitude is not a number")
        return True

    workers = InboxWorkers(engine, handler, _settings())
    assert await workers.drain() == 2
    statuses = await _statuses(engine)
    assert statuses[malformed["webhookEventId"]] == ("ignored", 1)
    assert statuses[later["webhookEventId"]] == ("done", 1)
