"""Notices in the outbox are rendered in each resident's language when they are sent: a
resident who changed language after the change was queued gets the new one, a batch whose
residents now speak different languages goes out as one multicast per language, each with a
retry key of its own that stays the same on every attempt, and rows queued by the previous
version (LINE messages) are turned into notices by the migration. Over the real stack: PostGIS,
the SDK and the LINE stand-in over HTTP.

The residents are synthetic: made-up LINE user IDs at real Kita-ku coordinates.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service import alerts, localdb, reports
from service.line.notices import NoticeMessages
from service.line.outbox import OutboxWorkers
from service.line.platform import LinePlatform
from service.migrations import upgrade
from service.sandbox import LinePlatformStandIn
from service.settings import AlertSettings, OutboxSettings, ReportSettings
from tests.utils.app import make_settings
from tests.utils.resident import delivered_texts

OJI = (35.758357, 139.736233)  # lat, lon
ALICE, BOB, CAROL = "U" + "a1" * 16, "U" + "b2" * 16, "U" + "c3" * 16
REPORTS, ALERTS = ReportSettings(), AlertSettings()


@pytest_asyncio.fixture
async def engine(empty_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(empty_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def workers(
    empty_url: str, standin_server: tuple[LinePlatformStandIn, str], engine: AsyncEngine
) -> AsyncIterator[OutboxWorkers]:
    """Outbox workers the test drains itself."""
    settings = make_settings(empty_url, standin_server[1])
    platform = LinePlatform(settings.line, settings.line_api_url, settings.line_data_api_url)
    outbox = OutboxSettings(OUTBOX_RETRY_BASE_SECONDS=0)
    yield OutboxWorkers(engine, platform, outbox, NoticeMessages(REPORTS, ALERTS))
    await platform.aclose()


async def _resident(conn: AsyncConnection, user_id: str, language: str) -> None:
    """A follower who registered a spot at 王子 for disaster alerts."""
    await conn.execute(
        text("INSERT INTO line_users (user_id, language) VALUES (:u, :l)"),
        {"u": user_id, "l": language},
    )
    await conn.execute(
        text("""
            INSERT INTO resident_areas (user_id, geom, topics, consent_version)
            VALUES (:u, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), '{disaster}', 'test')
        """),
        {"u": user_id, "lat": OJI[0], "lon": OJI[1]},
    )


async def _set_language(engine: AsyncEngine, user_id: str, language: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE line_users SET language = :l WHERE user_id = :u"),
            {"u": user_id, "l": language},
        )


@pytest.mark.asyncio
async def test_a_status_notice_speaks_the_language_the_resident_has_when_it_is_sent(
    engine: AsyncEngine, workers: OutboxWorkers, standin: LinePlatformStandIn
) -> None:
    standin.add_user(ALICE)
    report = reports.NewReport("road", OJI[1], OJI[0], line_user_id=ALICE, language="ja")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO line_users (user_id, language) VALUES (:u, 'ja')"),
                           {"u": ALICE})  # fmt: skip
        filed = await reports.submit_report(conn, report, duplicate_metres=30)
        await reports.change_status(conn, filed.cluster_id, "resolved", actor="crew:test")
    await _set_language(engine, ALICE, "en")
    assert await workers.drain() == 1
    assert delivered_texts(standin, ALICE) == [
        f'Report No.{filed.report_id} (Road damage) is now "resolved".'
    ]


async def _queue_alert(engine: AsyncEngine, message: str) -> tuple[int, uuid.UUID]:
    """Queue a disaster alert around 王子; the id and retry key of its one batch."""
    async with engine.begin() as conn:
        area = await alerts.area_from_circle(conn, *OJI, 300)
        await alerts.queue_alert(conn, ALERTS, area, "disaster", message, created_by="test")
    async with engine.connect() as conn:
        (row,) = (await conn.execute(text("SELECT id, retry_key FROM line_outbox"))).all()
    return row.id, row.retry_key


@pytest.mark.asyncio
async def test_a_batch_goes_out_as_one_multicast_per_language_each_with_its_own_retry_key(
    engine: AsyncEngine, workers: OutboxWorkers, standin: LinePlatformStandIn
) -> None:
    for user_id in (ALICE, BOB, CAROL):
        standin.add_user(user_id)
    async with engine.begin() as conn:
        for user_id in (ALICE, BOB, CAROL):
            await _resident(conn, user_id, "ja")
    _, retry_key = await _queue_alert(engine, "避難指示が出ました。")
    # Queued as one Japanese batch; Bob switches to English before it is sent.
    await _set_language(engine, BOB, "en")
    # The English multicast goes through but answers 500: its retry must not repeat it.
    standin.fail_next("multicast", 500, accepted=True)
    assert await workers.drain() == 2  # the attempt that failed, and its retry

    calls = [
        (c.status, c.body["to"], c.headers["x-line-retry-key"]) for c in standin.calls("multicast")
    ]
    english, japanese = str(uuid.uuid5(retry_key, "en")), str(uuid.uuid5(retry_key, "ja"))
    assert calls == [
        (500, [BOB], english),
        (409, [BOB], english),
        (200, [ALICE, CAROL], japanese),
    ]
    assert [delivered_texts(standin, user) for user in (ALICE, BOB, CAROL)] == [
        [_alert_ja("避難指示が出ました。")],
        ["[Disasters] Alert for your area\n\n避難指示が出ました。\n\n" + _FOOTER_EN],
        [_alert_ja("避難指示が出ました。")],
    ]


_FOOTER_EN = 'An alert for your registered area. Send "settings" to choose, "unregister" to stop.'


def _alert_ja(message: str) -> str:
    return (
        f"【防災・災害】登録地域のお知らせ\n\n{message}\n\n"
        "登録した地域に向けたお知らせです。種類の変更は「配信設定」、"
        "登録の解除は「登録解除」と送ってください。"
    )


@pytest.mark.asyncio
async def test_a_batch_half_sent_before_a_crash_is_sent_only_to_the_rest(
    engine: AsyncEngine, workers: OutboxWorkers, standin: LinePlatformStandIn
) -> None:
    for user_id in (ALICE, BOB):
        standin.add_user(user_id)
    async with engine.begin() as conn:
        await _resident(conn, ALICE, "ja")
        await _resident(conn, BOB, "ja")
    row_id, _ = await _queue_alert(engine, "断水のお知らせ")
    await _set_language(engine, ALICE, "en")
    # A worker sent the English multicast, recorded it, and died before the Japanese one.
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE line_outbox SET sent_to = :sent WHERE id = :id"),
            {"sent": [ALICE], "id": row_id},
        )
    assert await workers.drain() == 1
    assert [c.body["to"] for c in standin.calls("multicast")] == [[BOB]]
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, sent_to FROM line_outbox"))).one()
    assert (row.status, sorted(row.sent_to)) == ("sent", sorted([ALICE, BOB]))


@pytest.mark.asyncio
async def test_a_row_of_an_unknown_kind_fails_with_the_reason_and_sends_nothing(
    engine: AsyncEngine, workers: OutboxWorkers, standin: LinePlatformStandIn
) -> None:
    standin.add_user(ALICE)
    async with engine.begin() as conn:
        # Synthetic: a notice kind this version does not know (written by a newer one).
        await conn.execute(
            text("""
                INSERT INTO line_outbox (line_user_id, kind, params, language, retry_key, reason)
                VALUES (:u, 'survey', '{}', 'ja', :key, 'test')
            """),
            {"u": ALICE, "key": uuid.uuid4()},
        )
    assert await workers.drain() == 1
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, last_error FROM line_outbox"))).one()
    assert (row.status, row.last_error) == ("failed", "unknown notice kind 'survey'")
    assert standin.calls() == []


@pytest.fixture
def before_notices(cluster: localdb.LocalCluster) -> str:
    """A database at the revision before notices (0006)."""
    name = f"test_0006_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    localdb.ensure_database(cluster, name)
    url = cluster.url(name)
    upgrade(url, "0006")
    return url


# Synthetic: a report cluster with one report filed in English, and an alert.
_LEGACY = [
    """INSERT INTO report_clusters (id, category, geom)
       VALUES (7, 'road', ST_SetSRID(ST_MakePoint(139.73, 35.75), 4326))""",
    """INSERT INTO reports (id, cluster_id, category, geom, line_user_id, language)
       VALUES (41, 7, 'road', ST_SetSRID(ST_MakePoint(139.73, 35.75), 4326), :alice, 'en')""",
    """INSERT INTO cluster_events (cluster_id, status, actor, note)
       VALUES (7, 'in_progress', 'crew:test', '明日補修します')""",
    """INSERT INTO alerts (id, topic, text, area_label, geom, recipient_count, batch_count,
                           created_by)
       VALUES (3, 'disaster', '訓練です', 'test',
               ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(139.73, 35.75), 4326), 0.01)), 1, 1,
               'test')""",
]


@pytest.mark.asyncio
async def test_the_migration_turns_queued_messages_into_notices(
    before_notices: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
) -> None:
    engine = create_async_engine(before_notices)
    legacy: list[dict[str, Any]] = [
        {"user": ALICE, "recipients": None, "alert": None, "reason": "cluster 7: in_progress",
         "text": 'Report No.41 (Road damage) is now "in progress".'},
        {"user": None, "recipients": [BOB], "alert": 3, "reason": "alert 3: disaster",
         "text": "【防災・災害】登録地域のお知らせ\n\n訓練です"},
        {"user": CAROL, "recipients": None, "alert": None, "reason": "test",
         "text": "something else"},
    ]  # fmt: skip
    async with engine.begin() as conn:
        for statement in _LEGACY:
            await conn.execute(text(statement), {"alice": ALICE})
        for row in legacy:
            await conn.execute(
                text("""
                    INSERT INTO line_outbox
                        (line_user_id, recipients, alert_id, messages, retry_key, reason)
                    VALUES (:user, :recipients, :alert, CAST(:messages AS jsonb), :key, :reason)
                """),
                {
                    **{k: row[k] for k in ("user", "recipients", "alert", "reason")},
                    "messages": json.dumps([{"type": "text", "text": row["text"]}]),
                    "key": uuid.uuid4(),
                },
            )
    upgrade(before_notices)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT kind, params, language, status, last_error FROM line_outbox ORDER BY id"
                )
            )
        ).all()
    # The status push goes out as the resident would have got it; nobody wants the alert.
    settings = make_settings(before_notices, standin_server[1])
    platform = LinePlatform(settings.line, settings.line_api_url, settings.line_data_api_url)
    standin.add_user(ALICE)
    try:
        workers = OutboxWorkers(engine, platform, settings.outbox, NoticeMessages(REPORTS, ALERTS))
        assert await workers.drain() == 2
    finally:
        await platform.aclose()
        await engine.dispose()
    assert delivered_texts(standin, ALICE) == [
        'Report No.41 (Road damage) is now "in progress".\nNote from the city: 明日補修します'
    ]
    assert [tuple(row) for row in rows] == [
        (
            "report_status",
            {
                "report_id": 41,
                "category": "road",
                "status": "in_progress",
                "note": "明日補修します",
            },
            "en",
            "pending",
            None,
        ),
        ("area_alert", {"topic": "disaster", "text": "訓練です"}, "ja", "pending", None),
        (
            "unconverted",
            {},
            "ja",
            "failed",
            "not a status push or an alert batch: not converted to a notice",
        ),
    ]
