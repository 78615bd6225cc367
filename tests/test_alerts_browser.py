"""The alert page in a real browser (headless Debian Chromium driven by Playwright), as a
disaster-office admin uses it at a desk and on a phone: draw the area on the map, or click a
circle's centre, or tick hazard zones by their names; preview the reach and the message as
residents will see it; send. Screenshots of each step are saved (tests/utils/chromium.py).

The residents are synthetic: made-up LINE user IDs at real Kita-ku coordinates. Where the
map puts a drawing depends on the screen, so the test checks what the browser drew against
the database: the reach shown is the number of residents inside the area the page sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy.ext.asyncio import AsyncConnection

from service.line.notices import NoticeMessages
from service.notifications import AlertNotice
from service.sandbox import LinePlatformStandIn
from service.settings import MapSettings
from tests.utils.app import RunningApp
from tests.utils.axe import install_axe, violations
from tests.utils.chromium import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    log_in,
    off_loop,
    overflow,
    screenshot,
    skip_without_chromium,
    watch,
)
from tests.utils.database import in_transaction
from tests.utils.resident import add_registered_resident
from tests.utils.tiles import TileServer

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    Locator,
    Page,
    expect,
)

SERVICE_AREA = Path(__file__).resolve().parents[1] / "hazard_maps" / "service_area.geojson"


def _middle() -> tuple[float, float]:
    """(lat, lon) of the middle of Kita-ku's bounding box: the map opens fitted to it, so
    this is the middle of the map (十条 and 王子 lie around it)."""
    area = shape(json.loads(SERVICE_AREA.read_text())["features"][0]["geometry"])
    west, south, east, north = area.bounds
    return (south + north) / 2, (west + east) / 2


MIDDLE = _middle()
UKIMA = (35.7906, 139.6960)  # the ward's north-west corner
JA, EN, FAR = "U" + "1" * 32, "U" + "2" * 32, "U" + "3" * 32


@pytest.fixture
def app_overrides(tiles: TileServer) -> dict[str, object]:
    """The app's base map: the tile stand-in (the running_app fixture takes these)."""
    tiles.up = True
    maps = MapSettings(BASEMAP_URL=tiles.template, BASEMAP_ATTRIBUTION="テスト用タイル（合成）")
    return {"maps": maps}


@pytest.fixture
def residents(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> dict[str, tuple[float, float]]:
    """Two residents in the middle of the map (one reads Japanese, one English), one in the
    far corner; all want disaster alerts."""
    where = {JA: MIDDLE, EN: MIDDLE, FAR: UKIMA}

    async def work(conn: AsyncConnection) -> None:
        for user_id, spot in where.items():
            language = "en" if user_id == EN else "ja"
            await add_registered_resident(conn, user_id, spot, ["disaster"], language=language)

    off_loop(lambda: in_transaction(running_app.database_url, work))
    for user_id in where:
        standin.add_user(user_id, language="en" if user_id == EN else "ja")
    return where


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    made = chromium.new_context(viewport=DESKTOP, locale="ja-JP")
    made.set_default_timeout(TIMEOUT_MS)
    install_axe(made)
    yield made
    made.close()


def _at(page: Page, x: float, y: float) -> None:
    """Click the map at a fraction (x, y) of its width and height, moving there as a hand
    would (the drawing tools follow the pointer)."""
    the_map = page.locator("#alert-map")
    the_map.scroll_into_view_if_needed()
    box = the_map.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=5)
    page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)


def _preview(page: Page) -> None:
    with page.expect_navigation():
        page.click("#alert-form button[type=submit]")


def _inside(area: dict[str, Any], where: dict[str, tuple[float, float]]) -> list[str]:
    shapes = [shape(f["geometry"]) for f in area["features"]]
    return sorted(
        u for u, (lat, lon) in where.items() if any(s.covers(Point(lon, lat)) for s in shapes)
    )


def _bubble(page: Page, lang: str) -> Locator:
    return page.locator(f"#message-{lang} .line-bubble-bot")


def test_an_admin_draws_the_area_previews_the_message_and_sends_it(
    running_app: RunningApp,
    residents: dict[str, tuple[float, float]],
    standin: LinePlatformStandIn,
    tiles: TileServer,
    context: BrowserContext,
) -> None:
    page = context.new_page()
    problems = watch(page)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    log_in(page, running_app, "sato", "admin")
    page.goto(running_app.url + "/crew/alerts")
    expect(page.locator(".leaflet-pm-draw")).to_be_visible()
    # The crew map's base map, its tiles allowed by the page's CSP.
    expect(page.locator("#alert-map .leaflet-tile-loaded").first).to_be_visible()
    expect(page.locator("#alert-map .leaflet-control-attribution")).to_contain_text(
        "テスト用タイル"
    )

    words = "北区から：給水所を開設しました。"
    page.fill("#text", words)
    # A rectangle around the middle of the map, with the drawing tools.
    page.locator(".leaflet-pm-icon-rectangle").click()
    _at(page, 0.3, 0.3)
    _at(page, 0.7, 0.7)
    drawn = json.loads(page.input_value("#drawn"))
    inside = _inside(drawn, residents)
    assert inside == sorted([JA, EN])  # the middle, not the corner
    _preview(page)

    expect(page.locator("#reach")).to_contain_text("2人に届きます（送信2回）")
    # Each language's message, drawn as the LINE app shows it, worded as the outbox words it.
    settings = running_app.settings
    outbox = NoticeMessages(settings.reports, settings.alerts)
    for lang in ("ja", "en"):
        (message,) = outbox.render(AlertNotice("disaster", words), lang)
        expect(_bubble(page, lang)).to_have_text(message["text"])
    expect(page.locator(".leaflet-overlay-pane path")).to_have_count(3)  # ward, area, drawing
    send = page.locator("#send-form button[type=submit]")
    expect(send).to_have_text("2人に送信する Send to 2 residents")
    page.wait_for_load_state("networkidle")
    screenshot(page, "desktop", "alerts-preview")
    assert violations(page) == []

    # Changed after the preview: no sending what was not previewed.
    page.fill("#text", words + "（訂正）")
    expect(send).to_be_disabled()
    expect(page.locator("#stale")).to_be_visible()
    _preview(page)
    with page.expect_navigation():
        page.locator("#send-form button[type=submit]").click()
    expect(page.locator(".alert-sent")).to_contain_text("お知らせ No.1 を送信待ちにしました")
    delivered = off_loop(lambda: standin.wait_for_deliveries(2))
    assert sorted(d.to for d in delivered) == sorted([JA, EN])
    assert "（訂正）" in delivered[0].messages[0]["text"]
    assert problems == [], problems
    # Everything from the app, but the tiles: from the configured tile server only.
    tile_host = tiles.template.split("/tiles/")[0] + "/tiles/"
    assert [u for u in requested if not u.startswith((running_app.url, tile_host, "data:"))] == []
    assert any(u.startswith(tile_host) for u in requested)


def test_a_circle_by_a_click_and_hazard_zones_by_name(
    running_app: RunningApp, residents: dict[str, tuple[float, float]], context: BrowserContext
) -> None:
    page = context.new_page()
    problems = watch(page)
    log_in(page, running_app, "sato", "admin")
    page.goto(running_app.url + "/crew/alerts")
    page.fill("#text", "断水のお知らせ")
    page.check("input[name=area_kind][value=circle]")
    page.fill("#radius", "300")
    _at(page, 0.5, 0.5)  # the circle's centre: the middle of the map
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert abs(lat - MIDDLE[0]) < 0.002 and abs(lon - MIDDLE[1]) < 0.002
    _preview(page)
    expect(page.locator("#reach")).to_contain_text("2人に届きます")
    expect(page.locator(".alert-area-label")).to_contain_text("半径 300 m の円")

    # The landslide warning zones, ticked by their name: nobody lives there, so no sending.
    page.check("input[name=area_kind][value=layer]")
    page.locator("label.alert-layer", has_text="土砂災害警戒区域").locator("input").check()
    _preview(page)
    expect(page.locator("#reach")).to_contain_text("0人に届きます")
    expect(page.locator("#nobody")).to_be_visible()
    expect(page.locator("#send-form")).to_have_count(0)
    expect(_bubble(page, "ja")).to_contain_text("断水のお知らせ")  # the text, all the same
    page.wait_for_load_state("networkidle")
    screenshot(page, "desktop", "alerts-nobody")
    assert violations(page) == []
    assert problems == [], problems


def test_the_alert_page_on_a_phone(
    running_app: RunningApp, residents: dict[str, tuple[float, float]], chromium: Browser
) -> None:
    context = chromium.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    install_axe(context)
    try:
        page = context.new_page()
        problems = watch(page)
        log_in(page, running_app, "sato", "admin")
        page.goto(running_app.url + "/crew/alerts")
        assert overflow(page) == 0
        page.fill("#text", "避難所を開設しました")
        page.check("input[name=area_kind][value=circle]")
        page.click("#use-centre")  # the map's centre, without aiming a finger
        _preview(page)
        expect(page.locator("#reach")).to_contain_text("2人に届きます")
        expect(_bubble(page, "ja")).to_be_visible()
        # The preview comes first on a phone: the reach is on the first screen.
        reach = page.locator("#reach").bounding_box()
        assert reach is not None and reach["y"] < PHONE["height"]
        assert overflow(page) == 0
        page.wait_for_load_state("networkidle")
        screenshot(page, "phone", "alerts-preview")
        assert violations(page) == []
        assert problems == [], problems
    finally:
        context.close()
