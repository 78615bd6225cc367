"""The durable inbox: per-user order, one event of a user at a time, retries, leases, and
workers whose heartbeat stops."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import sandbox
from service.line.inbox import InboxEvent, InboxWorkers, beat, claim_next, store_events
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
@pytest.mark.parametrize(
    ("error", "max_attempts", "ends"),
    [
        (ValueError("bad event"), 1, ("failed", 1)),
        # Malformed: never retried, however many attempts are allowed.
        (PayloadError("latitude is not a number"), 3, ("ignored", 1)),
    ],
    ids=["failed", "malformed"],
)
async def test_an_event_that_ends_badly_does_not_block_the_users_later_events(
    engine: AsyncEngine, error: Exception, max_attempts: int, ends: tuple[str, int]
) -> None:
    first = _event(ALICE, "1", 1_000)
    later = _event(ALICE, "2", 2_000)
    await _store(engine, first, later)

    async def handler(event: InboxEvent) -> bool:
        if event.event_id == first["webhookEventId"]:
            raise error
        return True

    workers = InboxWorkers(engine, handler, _settings(INBOX_MAX_ATTEMPTS=max_attempts))
    assert await workers.drain() == 2
    statuses = await _statuses(engine)
    assert statuses[first["webhookEventId"]] == ends
    assert statuses[later["webhookEventId"]] == ("done", 1)


async def _claim_as(engine: AsyncEngine, worker: uuid.UUID, *events: dict[str, Any]) -> None:
    """Store `events` and claim the first for `worker`, for the whole default lease."""
    async with engine.begin() as conn:
        await store_events(conn, [storable(event) for event in events])
        claimed = await claim_next(conn, InboxSettings().lease_seconds, worker_id=worker)
    assert claimed is not None


async def _worker_row(engine: AsyncEngine, worker: uuid.UUID, seen_seconds_ago: float) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("""
                INSERT INTO inbox_workers (id, host, pid, alive_since, last_seen)
                VALUES (:id, 'elsewhere', 1, now() - make_interval(secs => :ago),
                        now() - make_interval(secs => :ago))
            """),
            {"id": worker, "ago": seen_seconds_ago},
        )


@pytest.mark.asyncio
async def test_a_dead_workers_events_are_taken_over_within_seconds_not_the_lease(
    engine: AsyncEngine,
) -> None:
    dead = uuid.uuid4()
    await _worker_row(engine, dead, seen_seconds_ago=60)
    first, later = _event(ALICE, "1", 1_000), _event(ALICE, "2", 2_000)
    await _claim_as(engine, dead, first, later)
    handled: list[tuple[str, bool]] = []
    both = asyncio.Event()

    async def handler(event: InboxEvent) -> bool:
        handled.append((event.payload["message"]["text"], event.taken_over))
        if len(handled) == 2:
            both.set()
        return True

    workers = InboxWorkers(engine, handler, _settings(INBOX_HEARTBEAT_SECONDS=0.5))
    started = time.monotonic()
    workers.start(1)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(both.wait(), 10)
    await workers.stop()
    # In order, the first as a repeat of what the dead worker may have done.
    assert handled == [("1", True), ("2", False)]
    assert time.monotonic() - started < 10 < InboxSettings().lease_seconds
    statuses = await _statuses(engine)
    assert statuses[first["webhookEventId"]] == ("done", 2)


@pytest.mark.asyncio
async def test_a_live_workers_claim_is_left_alone(engine: AsyncEngine) -> None:
    alive = uuid.uuid4()
    await _worker_row(engine, alive, seen_seconds_ago=0)
    event = _event(ALICE, "1", 1_000)
    await _claim_as(engine, alive, event)
    workers = InboxWorkers(engine, _never_called, _settings(INBOX_HEARTBEAT_SECONDS=0.3))
    workers.start(1)
    # Keep the claimed event's worker alive while ours has been alive long enough to judge.
    for _ in range(15):
        async with engine.begin() as conn:
            await beat(conn, alive, 0.3)
        await asyncio.sleep(0.1)
    await workers.stop()
    assert (await _statuses(engine))[event["webhookEventId"]] == ("processing", 1)


async def _never_called(event: InboxEvent) -> bool:
    raise AssertionError(f"{event.event_id} was taken from a live worker")


@pytest.mark.asyncio
async def test_an_outcome_is_recorded_through_a_lost_database_connection(
    engine: AsyncEngine, empty_url: str
) -> None:
    event = _event(ALICE, "1", 1_000)
    await _store(engine, event)
    admin = create_async_engine(empty_url)

    async def handler(claimed: InboxEvent) -> bool:
        # Every other connection to the database is cut, the workers' pooled ones included,
        # as when the database restarts while the event is handled.
        async with admin.connect() as conn:
            await conn.execute(
                text("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid()
                """)
            )
        return True

    try:
        assert await InboxWorkers(engine, handler, _settings()).drain() == 1
    finally:
        await admin.dispose()
    assert (await _statuses(engine))[event["webhookEventId"]] == ("done", 1)


@pytest.mark.asyncio
async def test_an_outcome_outlives_a_database_outage_and_the_event_is_not_redone(
    engine: AsyncEngine, empty_url: str
) -> None:
    event = _event(ALICE, "1", 1_000)
    await _store(engine, event)
    name = make_url(empty_url).database
    admin = create_async_engine(
        make_url(empty_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    handled: list[str] = []
    cut = asyncio.Event()

    async def outage(allow: bool) -> None:
        async with admin.connect() as conn:
            await conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}'))
            if not allow:
                await conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name"
                    ),
                    {"name": name},
                )

    async def handler(claimed: InboxEvent) -> bool:
        handled.append(claimed.event_id)
        # The database goes away for longer than a worker's quick retries (about 1.5 s).
        await outage(allow=False)
        cut.set()
        return True

    workers = InboxWorkers(engine, handler, _settings())
    workers.start(1)
    try:
        await asyncio.wait_for(cut.wait(), 10)
        await asyncio.sleep(3)
        await outage(allow=True)
        deadline = time.monotonic() + 10
        while (await _statuses(engine))[event["webhookEventId"]][0] != "done":
            assert time.monotonic() < deadline, await _statuses(engine)
            await asyncio.sleep(0.1)
    finally:
        await workers.stop()
        await outage(allow=True)
        await admin.dispose()
    assert handled == [event["webhookEventId"]]
    assert (await _statuses(engine))[event["webhookEventId"]] == ("done", 1)
