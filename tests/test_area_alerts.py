"""Area registration in the chat and area alerts (chat, `civic alert`, crew page), over the
real stack: the app on loopback, PostGIS with the real Kita-ku data, the line-bot-sdk talking
HTTP to the LINE stand-in.

The residents are synthetic: made-up LINE user IDs at real Kita-ku coordinates, registered
through the chat in the first test and written straight to the database elsewhere.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from typer.testing import CliRunner

from service import alerts, sandbox
from service.cli import app as cli_app
from service.line.area_messages import CONSENT_VERSION, alert_message
from service.line.notices import NoticeMessages
from service.line.outbox import OutboxWorkers
from service.line.platform import LinePlatform
from service.sandbox import LinePlatformStandIn, WebhookSender
from service.settings import AlertSettings, OutboxSettings
from tests.utils.app import TEST_SECRET, RunningApp
from tests.utils.cli import civic
from tests.utils.crew import PASSWORD, Browser, add_ready_account
from tests.utils.database import db, in_transaction
from tests.utils.resident import Resident, quick_actions

# (lat, lon): 王子, a spot about 200 m from it, 赤羽 (2.4 km away, still Kita-ku), 新宿 (outside).
OJI = (35.758357, 139.736233)
NEAR_OJI = (35.7601, 139.7370)
AKABANE = (35.7778, 139.7209)
SHINJUKU = (35.6896, 139.7006)
OJI_CIRCLE = f"{OJI[0]},{OJI[1]},500"


def _actions(value: Any) -> list[dict[str, Any]]:
    """Every action in a message (Flex buttons and quick replies), in order."""
    if isinstance(value, dict):
        found = [value["action"]] if isinstance(value.get("action"), dict) else []
        return found + [a for k, v in value.items() if k != "action" for a in _actions(v)]
    if isinstance(value, list):
        return [a for item in value for a in _actions(item)]
    return []


def _button(message: dict[str, Any], label: str) -> str:
    for action in _actions(message):
        if action.get("label") == label:
            return str(action["data"])
    raise AssertionError(f"no button {label!r} in {[a.get('label') for a in _actions(message)]}")


def _topics(app: RunningApp, user_id: str) -> list[str] | None:
    rows = db(app, "SELECT topics FROM resident_areas WHERE user_id = :u", u=user_id)
    return sorted(rows[0].topics) if rows else None


def test_a_resident_registers_with_consent_chooses_topics_and_withdraws(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    hanako = Resident(running_app, standin, "U" + "a" * 32, "ja")
    (ask,) = hanako.say("地域登録")
    assert "地点" in ask["text"]
    assert [a["type"] for a in quick_actions(ask)] == ["location"]

    # Outside Kita-ku: refused kindly, nothing stored.
    (refused,) = hanako.locate(*SHINJUKU)
    assert "東京都北区の外のため、登録できません" in refused["text"]
    assert _topics(running_app, hanako.user_id) is None

    # Inside: the consent question says what is kept, why, and how to withdraw.
    hanako.say("ＲＥＧＩＳＴＥＲ　ＡＲＥＡ")  # full-width: NFKC makes it "register area"
    (question,) = hanako.locate(*OJI)
    assert question["type"] == "flex"
    words = question["altText"]
    assert "保存するもの: この地点" in words and "選んだお知らせの種類だけ" in words
    assert "お知らせを送るためだけに使います" in words and "「登録解除」" in words
    assert _topics(running_app, hanako.user_id) is None  # nothing kept before consent

    (declined,) = hanako.tap(_button(question, "登録しない"))
    assert "登録しませんでした" in declined["text"]
    assert _topics(running_app, hanako.user_id) is None

    hanako.say("登録")
    (question,) = hanako.locate(*OJI)
    done, menu = hanako.tap(_button(question, "同意して登録"))
    assert "地域を登録しました" in done["text"]
    assert "防災・災害: 受信中" in menu["altText"] and "道路・公園: 停止中" in menu["altText"]
    (row,) = db(
        running_app,
        "SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon, consent_version FROM resident_areas",
    )
    assert (round(row.lat, 6), round(row.lon, 6), row.consent_version) == (
        *OJI,
        CONSENT_VERSION,
    )
    assert _topics(running_app, hanako.user_id) == ["disaster"]

    # Topic switches: on, off, and a second tap of a stale button changes nothing.
    roads_on = _button(menu, "受け取る")
    assert roads_on == "topics=on&code=roads"
    (menu,) = hanako.tap(roads_on)
    assert "道路・公園: 受信中" in menu["altText"]
    (menu,) = hanako.tap("topics=off&code=disaster")
    (menu,) = hanako.tap("topics=off&code=disaster")
    assert _topics(running_app, hanako.user_id) == ["roads"]
    (menu,) = hanako.say("配信設定")
    assert "防災・災害: 停止中" in menu["altText"] and "道路・公園: 受信中" in menu["altText"]

    (bye,) = hanako.say("登録解除")
    assert "登録地点と配信設定は削除" in bye["text"]
    assert _topics(running_app, hanako.user_id) is None
    (none,) = hanako.say("配信設定")
    assert "まだ登録されていません" in none["text"]


def test_english_residents_are_asked_in_english(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    john = Resident(running_app, standin, "U" + "b" * 32, "en")
    john.say("Register area")
    (question,) = john.locate(*NEAR_OJI)
    assert "What we keep: only this spot" in question["altText"]
    done, menu = john.tap(_button(question, "Agree and register"))
    assert done["text"].startswith("Registered.")
    assert "Disasters: On" in menu["altText"]


async def _add_resident(
    conn: AsyncConnection,
    user_id: str,
    where: tuple[float, float],
    topics: list[str],
    *,
    language: str = "ja",
    following: bool = True,
) -> None:
    """A synthetic resident who registered `where` (lat, lon) with `topics`."""
    await conn.execute(
        text("INSERT INTO line_users (user_id, language, following) VALUES (:u, :l, :f)"),
        {"u": user_id, "l": language, "f": following},
    )
    await conn.execute(
        text("""
            INSERT INTO resident_areas (user_id, geom, topics, consent_version)
            VALUES (:u, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :t, :v)
        """),
        {"u": user_id, "lat": where[0], "lon": where[1], "t": topics, "v": CONSENT_VERSION},
    )


def _uid(n: int) -> str:
    return f"U{n}" + "0" * 31


# Sorted by user ID, as batches are filled: A, B | WITHDRAWS, C | UNFOLLOWS in Japanese,
# E in English; the rest must never be in any batch.
A, B, WITHDRAWS, C, UNFOLLOWS, E = (_uid(n) for n in range(1, 7))
ROADS_ONLY, FAR, BLOCKED = _uid(7), _uid(8), _uid(9)


async def _seed_residents(conn: AsyncConnection) -> None:
    for user_id in (A, B, WITHDRAWS, C, UNFOLLOWS):
        await _add_resident(conn, user_id, OJI, ["disaster"])
    await _add_resident(conn, E, NEAR_OJI, ["roads", "disaster"], language="en")
    await _add_resident(conn, ROADS_ONLY, OJI, ["roads"])
    await _add_resident(conn, FAR, AKABANE, ["disaster"])
    await _add_resident(conn, BLOCKED, NEAR_OJI, ["disaster"], following=False)


@pytest_asyncio.fixture
async def engine(running_app: RunningApp) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(running_app.database_url)
    yield engine
    await engine.dispose()


async def _wait_unfollowed(engine: AsyncEngine, user_id: str) -> None:
    for _ in range(100):
        async with engine.connect() as conn:
            following = await conn.scalar(
                text("SELECT following FROM line_users WHERE user_id = :u"), {"u": user_id}
            )
        if following is False:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{user_id} still following")


SMALL_BATCHES_NO_WORKER = {
    "alerts": AlertSettings(ALERT_BATCH_SIZE=2),
    # The test sends the outbox itself, after residents changed their minds.
    "outbox": OutboxSettings(OUTBOX_WORKERS=0),
}


@pytest.mark.parametrize("app_overrides", [SMALL_BATCHES_NO_WORKER], indirect=True)
@pytest.mark.asyncio
async def test_an_alert_reaches_exactly_the_residents_inside_who_chose_the_topic(
    running_app: RunningApp, standin: LinePlatformStandIn, engine: AsyncEngine
) -> None:
    settings = running_app.settings
    for user_id in (A, B, WITHDRAWS, C, UNFOLLOWS, E, ROADS_ONLY, FAR, BLOCKED):
        # Everyone is a friend on the stand-in: only our own filtering keeps them out.
        standin.add_user(user_id, language="en" if user_id == E else "ja")
    async with engine.begin() as conn:
        await _seed_residents(conn)
    async with engine.connect() as conn:
        area = await alerts.area_from_circle(conn, *OJI, 500)
        assert await alerts.preview(conn, settings.alerts, area, "disaster") == alerts.Reach(6, 4)
    async with engine.begin() as conn:
        queued = await alerts.queue_alert(
            conn, settings.alerts, area, "disaster", "避難指示が出ました。", created_by="test"
        )
    assert queued.reach == alerts.Reach(6, 4)

    # After queueing, before sending: one withdraws consent in the chat, one blocks us.
    withdrawing = Resident(running_app, standin, WITHDRAWS, "ja")
    assert "削除" in withdrawing.say("登録解除")[0]["text"]
    with WebhookSender(running_app.webhook_url, TEST_SECRET) as sender:
        sender.send([sandbox.unfollow_event(standin, UNFOLLOWS)])
    await _wait_unfollowed(engine, UNFOLLOWS)
    standin.set_blocked(UNFOLLOWS, False)  # so only our own check can keep the alert away

    standin.fail_next("multicast", 500, accepted=True)  # accepted, then retried: 409
    platform = LinePlatform(settings.line, settings.line_api_url, settings.line_data_api_url)
    try:
        notices = NoticeMessages(settings.reports, settings.alerts)
        outbox = OutboxSettings(OUTBOX_RETRY_BASE_SECONDS=0)
        workers = OutboxWorkers(engine, platform, outbox, notices)
        assert await workers.drain() == 5
    finally:
        await platform.aclose()

    # [A, B] was delivered but answered 500; its retry with the same key got 409 (sent).
    # At sending time WITHDRAWS was dropped from [WITHDRAWS, C], and [UNFOLLOWS] was skipped.
    calls = [(c.status, c.body["to"]) for c in standin.calls("multicast")]
    assert calls == [(500, [A, B]), (409, [A, B]), (200, [C]), (200, [E])]
    got = {d.to: d.messages[0]["text"] for d in standin.delivered() if d.via == "multicast"}
    assert sorted(got) == [A, B, C, E]
    assert got[A].startswith("【防災・災害】登録地域のお知らせ\n\n避難指示が出ました。")
    assert got[E].startswith("[Disasters] Alert for your area\n\n避難指示が出ました。")
    assert len([d for d in standin.delivered(A) if d.via == "multicast"]) == 1
    async with engine.connect() as conn:
        alert = (await conn.execute(text("SELECT * FROM alerts"))).one()
        statuses = (
            await conn.execute(text("SELECT status FROM line_outbox ORDER BY id"))
        ).scalars()
        assert list(statuses) == ["sent", "sent", "skipped", "sent"]
    assert (alert.recipient_count, alert.batch_count, alert.created_by) == (6, 4, "test")


def test_a_long_alert_is_clipped_to_the_limit_keeping_its_footer() -> None:
    topic = AlertSettings().topics[0]
    message = alert_message(topic, "あ" * 6000, "ja")
    assert sandbox.message_errors([message]) == []
    assert message["text"].endswith("と送ってください。")


def _polygon_file(path: Path, lat: float, lon: float, half_side_m: float) -> Path:
    """A square around lat, lon, written in JGD2011 plane rectangular IX (EPSG:6677) with a
    crs member, so the alert has to reproject it."""
    x, y = Transformer.from_crs(4326, 6677, always_xy=True).transform(lon, lat)
    d = half_side_m
    ring = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]]
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6677"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def cli_residents(running_app: RunningApp) -> Iterator[str]:
    """Three residents by 王子 who want disaster alerts, one at 赤羽; the database URL."""

    async def work(conn: AsyncConnection) -> None:
        for user_id in (A, B, C):
            await _add_resident(conn, user_id, OJI, ["disaster"])
        await _add_resident(conn, FAR, AKABANE, ["disaster"])

    in_transaction(running_app.database_url, work)
    yield running_app.database_url


BATCH_OF_2 = {"ALERT_BATCH_SIZE": "2"}


def test_civic_alert_dry_run_then_real_run(
    cli_residents: str, standin: LinePlatformStandIn, tmp_path: Path
) -> None:
    dry = civic(cli_residents, "alert", "--topic", "disaster", "--text", "訓練です",
                "--circle", OJI_CIRCLE, "--dry-run", env=BATCH_OF_2)  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 3 residents in 2 batches" in dry.stdout
    assert (
        in_transaction(cli_residents, lambda c: c.scalar(text("SELECT count(*) FROM line_outbox")))
        == 0
    )

    area = _polygon_file(tmp_path / "oji.geojson", *OJI, 300)
    for user_id in (A, B, C):
        standin.add_user(user_id)
    real = civic(cli_residents, "alert", "--topic", "disaster", "--text", "断水のお知らせ",
                 "--area", str(area), "--by", "防災課", env=BATCH_OF_2)  # fmt: skip
    assert real.returncode == 0, real.stderr
    assert "queued: 3 residents in 2 batches (oji.geojson)" in real.stdout

    async def stored(conn: AsyncConnection) -> tuple[Any, list[Any]]:
        alert = (await conn.execute(text("SELECT * FROM alerts"))).one()
        rows = (await conn.execute(text("SELECT recipients FROM line_outbox ORDER BY id"))).all()
        return alert, [sorted(row.recipients) for row in rows]

    alert, batches = in_transaction(cli_residents, stored)
    assert (alert.recipient_count, alert.batch_count, alert.created_by) == (3, 2, "防災課")
    assert batches == [[A, B], [C]]
    # The running service's outbox worker sends them.
    deliveries = standin.wait_for_deliveries(3)
    assert sorted(d.to for d in deliveries if d.via == "multicast") == [A, B, C]


def test_civic_alert_refuses_bad_input_clearly(cli_residents: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DATABASE_URL": cli_residents}
    not_json = tmp_path / "bad.geojson"
    not_json.write_text("{oops")
    point = tmp_path / "point.geojson"
    point.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [139.7, 35.7]},
                    }
                ],
            }
        )
    )
    text_x = ["--topic", "disaster", "--text", "x"]
    cases = [
        (["--topic", "weather", "--text", "x", "--circle", OJI_CIRCLE], "unknown topic 'weather'"),
        (["--topic", "disaster", "--text", "  ", "--circle", OJI_CIRCLE], "alert text is empty"),
        ([*text_x, "--area", str(not_json)], "bad.geojson: invalid JSON"),
        (
            [*text_x, "--area", str(point)],
            "point.geojson: feature 1, field geometry: expected MultiPolygon or Polygon, got Point",
        ),
        ([*text_x, "--area", str(tmp_path / "none.geojson")], "none.geojson"),
        (
            [*text_x, "--hazard-layer", "tsunami"],
            "no hazard layer named 'tsunami'; loaded layers: ",
        ),
        ([*text_x, "--circle", "139.73,35.75,500"], "latitude must be within"),
        ([*text_x, "--circle", "35.75,139.73"], "expected LAT,LON,METRES"),
        (text_x, "exactly one of --area, --hazard-layer, --circle"),
    ]
    for args, expected in cases:
        result = runner.invoke(cli_app, ["alert", *args, "--dry-run"], env=env)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output, (args, result.output)
    assert (
        in_transaction(cli_residents, lambda c: c.scalar(text("SELECT count(*) FROM alerts"))) == 0
    )


def test_a_hazard_layer_is_an_area(cli_residents: str) -> None:
    async def work(conn: AsyncConnection) -> tuple[alerts.AlertArea, alerts.Reach]:
        (name,) = [n for n in await alerts.hazard_layer_names(conn) if n.startswith("landslide")]
        area = await alerts.area_from_hazard_layer(conn, name)
        return area, await alerts.preview(conn, AlertSettings(), area, "disaster")

    area, reach = in_transaction(cli_residents, work)
    assert area.label.startswith("hazard layer landslide")
    assert area.geometry.is_valid and area.geometry.area > 0
    assert reach == alerts.Reach(0, 0)  # nobody lives in a landslide zone here


def _hidden(page: str) -> dict[str, str]:
    """The hidden fields of the confirm (send) form."""
    form = re.search(r'<form method="post" action="/crew/alerts/send">(.*?)</form>', page, re.S)
    assert form, page
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1))
    return {name: html.unescape(value) for name, value in found}


def test_admins_preview_and_send_an_alert_from_the_crew_pages(
    running_app: RunningApp,
    cli_residents: str,
    standin: LinePlatformStandIn,
    browsers: Callable[[], Browser],
    tmp_path: Path,
) -> None:
    for user_id in (A, B, C, FAR):
        standin.add_user(user_id)
    crew, admin, stranger = browsers(), browsers(), browsers()
    assert stranger.get("/crew/alerts").headers["location"] == "/crew/login?next=%2Fcrew%2Falerts"
    refused = stranger.post("/crew/alerts/send", data={"topic": "disaster"})
    assert (refused.status_code, refused.headers["cache-control"]) == (401, "no-store")
    add_ready_account(running_app, "tanaka")
    add_ready_account(running_app, "sato", role="admin")
    assert crew.login("tanaka", PASSWORD).status_code == 303
    assert crew.get("/crew/alerts").status_code == 403
    assert "/crew/alerts" not in crew.get("/crew/").text
    assert admin.login("sato", PASSWORD).status_code == 303
    assert 'href="/crew/alerts"' in admin.get("/crew/").text

    form = {"topic": "disaster", "text": "給水所を開設しました", "area_kind": "circle",
            "lat": str(OJI[0]), "lon": str(OJI[1]), "radius": "500"}  # fmt: skip
    csrf = admin.csrf_token("/crew/alerts")
    assert admin.post("/crew/alerts/preview", data=form).status_code == 403  # no CSRF token
    crew_csrf = crew.csrf_token("/crew/password")
    assert crew.post("/crew/alerts/send", data={**form, "csrf_token": crew_csrf}).status_code == 403

    preview = admin.post("/crew/alerts/preview", data={**form, "csrf_token": csrf})
    assert preview.status_code == 200
    assert "<strong>3人</strong>に届きます（送信1回）" in preview.text
    assert all(user_id not in preview.text for user_id in (A, B, C, FAR))
    assert (
        in_transaction(cli_residents, lambda c: c.scalar(text("SELECT count(*) FROM alerts"))) == 0
    )

    sent = admin.post("/crew/alerts/send", data=_hidden(preview.text))
    assert (sent.status_code, sent.headers["location"]) == (303, "/crew/alerts?sent=1")
    page = admin.get(sent.headers["location"]).text
    assert "Alert No.1 queued: 3 residents in 1 batch." in page
    assert "給水所を開設しました" in page and "crew:sato" in page
    deliveries = standin.wait_for_deliveries(3)
    assert sorted(d.to for d in deliveries) == [A, B, C]

    # A GeoJSON upload: previewed, then sent from the area carried in the confirm form.
    square = _polygon_file(tmp_path / "akabane.geojson", *AKABANE, 200)
    upload = {"upload": ("akabane.geojson", square.read_bytes(), "application/geo+json")}
    fields = {**form, "area_kind": "file", "text": "赤羽の訓練", "csrf_token": csrf}
    preview = admin.post("/crew/alerts/preview", data=fields, files=upload)
    assert "<strong>1人</strong>に届きます" in preview.text
    sent = admin.post("/crew/alerts/send", data=_hidden(preview.text))
    assert sent.headers["location"] == "/crew/alerts?sent=2"
    assert [d.to for d in standin.wait_for_deliveries(4)][3:] == [FAR]

    bad = {"upload": ("broken.geojson", b"{", "application/geo+json")}
    refused = admin.post("/crew/alerts/preview", data=fields, files=bad)
    assert refused.status_code == 400
    assert "broken.geojson: invalid JSON" in refused.text
