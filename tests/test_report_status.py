"""Status changes reach every resident following a cluster, exactly once, through the
durable outbox: over the real stack (PostGIS, the SDK, the LINE stand-in over HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service import reports, sandbox
from service.line import outbox
from service.line.notices import NoticeMessages
from service.line.platform import LinePlatform
from service.sandbox import LinePlatformStandIn, WebhookSender
from service.settings import AlertSettings, OutboxSettings, ReportSettings
from service.vocabulary import Lang
from tests.utils.app import TEST_SECRET, RunningApp, make_settings
from tests.utils.resident import delivered_texts

OJI = (139.736233, 35.758357)  # lon, lat
ALICE, BOB, CAROL = "U" + "a" * 32, "U" + "b" * 32, "U" + "c" * 32
SETTINGS = ReportSettings()
NOTICES = NoticeMessages(SETTINGS, AlertSettings())


async def _file(engine: AsyncEngine, user: str, lang: Lang, dlon: float = 0.0) -> reports.Submitted:
    report = reports.NewReport(
        category="road",
        lon=OJI[0] + dlon,
        lat=OJI[1],
        line_user_id=user,
        language=lang,
    )
    async with engine.begin() as conn:
        return await reports.submit_report(conn, report, duplicate_metres=30)


async def _change(engine: AsyncEngine, cluster: int, status: str, note: str = "") -> int:
    async with engine.begin() as conn:
        return await reports.change_status(conn, cluster, status, actor="crew:tanaka", note=note)


@pytest_asyncio.fixture
async def engine(running_app: RunningApp) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(running_app.database_url)
    yield engine
    await engine.dispose()


@pytest.mark.asyncio
async def test_status_change_reaches_every_follower_once_in_their_language(
    running_app: RunningApp, standin: LinePlatformStandIn, engine: AsyncEngine
) -> None:
    for user in (ALICE, BOB, CAROL):
        standin.add_user(user)
    first = await _file(engine, ALICE, "ja")
    second = await _file(engine, BOB, "en", dlon=0.0001)  # about 9 m away: same cluster
    third = await _file(engine, CAROL, "ja", dlon=-0.0001)
    assert second.cluster_id == third.cluster_id == first.cluster_id
    # Carol blocks the account: she must not be pushed to.
    sender = WebhookSender(running_app.webhook_url, TEST_SECRET)
    sender.send([sandbox.unfollow_event(standin, CAROL)])
    for _ in range(50):
        async with engine.connect() as conn:
            following = await conn.scalar(
                text("SELECT following FROM line_users WHERE user_id = :u"), {"u": CAROL}
            )
        if following is False:
            break
        await asyncio.sleep(0.1)

    standin.fail_next("push", 429, times=1, retry_after=0)
    queued = await _change(engine, first.cluster_id, "in_progress", note="明日補修します")
    assert queued == 2
    await asyncio.to_thread(standin.wait_for_deliveries, 1, ALICE)
    await asyncio.to_thread(standin.wait_for_deliveries, 1, BOB)
    await asyncio.sleep(0.8)  # a duplicate push would show up by now
    assert delivered_texts(standin, ALICE) == [
        f"通報 No.{first.report_id}（道路の穴・段差）の対応状況が「対応中」になりました。\n"
        "区からのメモ: 明日補修します"
    ]
    assert delivered_texts(standin, BOB) == [
        f'Report No.{second.report_id} (Road damage) is now "in progress".\n'
        "Note from the city: 明日補修します"
    ]
    assert standin.delivered(CAROL) == []
    assert [c.status for c in standin.calls("push")].count(429) == 1
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT status, actor, note FROM cluster_events"))).all()
    assert ("in_progress", "crew:tanaka", "明日補修します") in [tuple(r) for r in rows]


@pytest.mark.asyncio
async def test_a_push_accepted_before_a_crash_is_not_sent_again(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
) -> None:
    settings = make_settings(kita_url, standin_server[1])
    engine = create_async_engine(kita_url)
    platform = LinePlatform(settings.line, settings.line_api_url, settings.line_data_api_url)
    standin.add_user(ALICE)
    try:
        filed = await _file(engine, ALICE, "ja")
        await _change(engine, filed.cluster_id, "resolved")
        # A worker claims the push, LINE accepts it, and the worker dies before recording it.
        async with engine.begin() as conn:
            item = await outbox.claim_next(conn, lease_seconds=0.3)
        assert item is not None
        assert item.line_user_id is not None  # a push to one resident, not a multicast
        messages = NOTICES.render(item.notice(), outbox.push_language(item))
        await platform.push(item.line_user_id, messages, item.retry_key)
        await asyncio.sleep(0.4)
        # A restarted worker finds the push still unrecorded and sends it again…
        workers = outbox.OutboxWorkers(engine, platform, OutboxSettings(), NOTICES)
        assert await workers.drain() == 1
        async with engine.connect() as conn:
            status = await conn.scalar(text("SELECT status FROM line_outbox"))
    finally:
        await platform.aclose()
        await engine.dispose()
    # …with the same retry key: LINE answers 409, and the resident got it once.
    assert [c.status for c in standin.calls("push")] == [200, 409]
    assert len(standin.delivered(ALICE)) == 1
    assert status == "sent"


@pytest.mark.asyncio
async def test_unknown_status_or_cluster_is_refused(engine: AsyncEngine) -> None:
    filed = await _file(engine, ALICE, "ja")
    with pytest.raises(reports.WorkflowError, match="unknown status"):
        await _change(engine, filed.cluster_id, "fixed")
    with pytest.raises(reports.WorkflowError, match="no report cluster"):
        await _change(engine, 999_999, "resolved")


@pytest.mark.asyncio
async def test_forget_unlinks_reporters_of_long_closed_reports_only(
    engine: AsyncEngine,
) -> None:
    old = await _file(engine, ALICE, "ja")
    still_open = await _file(engine, BOB, "ja", dlon=0.01)  # 900 m away: its own cluster
    await _change(engine, old.cluster_id, "resolved")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE report_clusters SET closed_at = now() - interval '400 days' WHERE id = :c"
            ),
            {"c": old.cluster_id},
        )
        done = await reports.forget_reporters(conn, datetime.now(UTC) - timedelta(days=365))
    assert done.reports == 1
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, line_user_id FROM reports"))).all()
        users: dict[int, str | None] = {row.id: row.line_user_id for row in rows}
    assert users[old.report_id] is None
    assert users[still_open.report_id] == BOB


def test_status_notice_messages_are_valid_for_line() -> None:
    from service.line.report_messages import status_notice

    for status in ("received", "accepted", "in_progress", "resolved", "rejected", "duplicate"):
        for lang in ("ja", "en"):
            messages = status_notice(1, SETTINGS.category("road"), status, "x" * 4000, lang)
            assert sandbox.message_errors(json.loads(json.dumps(messages))) == []
