"""Every staff and public page in Chromium at 1280×900 and 390×844, as a road crew on a
tablet or a phone sees it: a screenshot of each is saved under `.data/screenshots/` (see the
README) for people to look at, axe-core checks each (0 serious or critical violations), the
map fills the screen under its filter bar, its popups stay inside the frame, the base map's
tiles come only from the configured tile server (a stand-in on loopback here), and without
tiles the map says so and works on. A keyboard alone goes from the login to a status change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.app import create_app
from service.photos import LocalPhotoStore, process_photo
from service.sandbox import LinePlatformStandIn
from service.settings import DataSettings, MapSettings
from tests.utils.app import RunningApp, make_settings
from tests.utils.axe import install_axe, violations
from tests.utils.chromium import (
    SIZES,
    TIMEOUT_MS,
    console_error,
    log_in,
    off_loop,
    screenshot,
    skip_without_chromium,
)
from tests.utils.crew import PASSWORD, add_ready_account
from tests.utils.database import in_transaction
from tests.utils.photos import jpeg
from tests.utils.servers import serve
from tests.utils.tiles import TileServer

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    Frame,
    Page,
    Route,
    expect,
)

RESIDENT = "U" + "c" * 32
# Places in Kita-ku (synthetic reports at real stations), with the address a phone would give.
PLACES = [
    ("road", 139.736233, 35.758357, "東京都北区王子1丁目"),
    ("streetlight", 139.7209, 35.7778, "東京都北区赤羽1丁目"),
    ("mirror_sign", 139.7607, 35.7381, "東京都北区田端1丁目"),
    ("graffiti", 139.7203, 35.7600, "東京都北区十条仲原1丁目"),
]


def _app(kita_url: str, standin_url: str, tmp_path: Path, maps: MapSettings) -> RunningApp:
    data = DataSettings(PHOTO_DIR=tmp_path / "photos")
    return RunningApp(url="", settings=make_settings(kita_url, standin_url, data=data, maps=maps))


@pytest.fixture
def tiled_app(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    tmp_path: Path,
    tiles: TileServer,
) -> Iterator[RunningApp]:
    """The service with the tile stand-in as its base map."""
    tiles.up = True
    maps = MapSettings(BASEMAP_URL=tiles.template, BASEMAP_ATTRIBUTION="テスト用タイル（合成）")
    app = _app(kita_url, standin_server[1], tmp_path, maps)
    with serve(create_app(app.settings)) as url:
        app.url = url
        yield app


def _seed(app: RunningApp) -> list[int]:
    """A case at each of PLACES (the first gathers two reports and has a photo); their ids."""
    photo = process_photo(jpeg(size=(800, 600)))
    LocalPhotoStore(app.settings.data.photo_dir).put(photo)

    async def work(conn: AsyncConnection) -> list[int]:
        ids = []
        for n, (category, lon, lat, address) in enumerate(PLACES):
            filed = await reports.submit_report(
                conn,
                reports.NewReport(
                    category,
                    lon,
                    lat,
                    address=address,
                    description="歩道の段差が大きく、つまずきそうです。" if n == 0 else "",
                    photo_keys=[photo.key] if n == 0 else [],
                    line_user_id=RESIDENT,
                ),
                30,
            )
            ids.append(filed.cluster_id)
        again = reports.NewReport("road", PLACES[0][1] + 0.0001, PLACES[0][2], line_user_id=None)
        await reports.submit_report(conn, again, 30)
        return ids

    return off_loop(lambda: in_transaction(app.database_url, work))


def _context(chromium: Browser, size: str) -> BrowserContext:
    width, height = SIZES[size]
    context = chromium.new_context(
        viewport={"width": width, "height": height},
        locale="ja-JP",
        has_touch=size == "phone",
    )
    context.set_default_timeout(TIMEOUT_MS)
    install_axe(context)
    return context


def _map_frame(page: Page) -> Frame:
    iframe = page.wait_for_selector("iframe.crew-map")
    frame = iframe.content_frame() if iframe else None
    assert frame is not None
    frame.wait_for_selector(".leaflet-marker-pane .crew-badge, .leaflet-marker-pane .crew-bubble")
    return frame


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_is_accessible_fits_the_screen_and_is_saved(
    tiled_app: RunningApp, tiles: TileServer, chromium: Browser, size: str
) -> None:
    ids = _seed(tiled_app)
    context = _context(chromium, size)
    problems: list[str] = []
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    found: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.on("console", lambda msg: console_error(msg, problems))
        page.on("pageerror", lambda exc: problems.append(str(exc)))

        def check(name: str, path: str) -> None:
            page.goto(tiled_app.url + path)
            if name == "map":
                frame = _map_frame(page)
                frame.wait_for_selector(".leaflet-tile-loaded")
            page.wait_for_load_state("networkidle")
            screenshot(page, size, name)
            found[name] = violations(page)

        check("shelters-public", "/shelters")
        check("login", "/crew/login")
        log_in(page, tiled_app, f"admin-{size}", "admin")
        check("home", "/crew/")
        check("map", "/crew/map")
        # The map fills the screen under the header and the filter bar, above the fold.
        width, height = SIZES[size]
        box = page.locator("iframe.crew-map").bounding_box()
        assert box is not None
        assert box["y"] < 0.35 * height and box["y"] + box["height"] <= height + 1, box
        assert box["width"] >= width - 1 and box["height"] >= 0.6 * height, box
        _popup_stays_in_view(page, size)
        check("map-filtered", "/crew/map?filtered=1&status=received&from=&to=")
        check("case", f"/crew/clusters/{ids[0]}")
        check("find", "/crew/find?q=1")
        check("find-none", "/crew/find?q=99999")
        check("shelters", "/crew/shelters")
        check("alerts", "/crew/alerts")
        check("accounts", "/crew/accounts")
        check("password", "/crew/password")
    finally:
        context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert problems == [], problems
    # Everything came from the app, except the tiles, which came from the tile server only.
    tile_host = tiles.template.split("/tiles/")[0] + "/tiles/"
    outside = [u for u in requested if not u.startswith((tiled_app.url + "/", tile_host))]
    assert [u for u in outside if not u.startswith(("data:", "blob:", "about:"))] == []
    assert any(u.startswith(tile_host) for u in requested)


def _popup_stays_in_view(page: Page, size: str) -> None:
    """The case with a photo shows its popup, thumbnail loaded, wholly inside the map (a
    popup opens upwards: its head is what a late thumbnail used to push out of the frame)."""
    frame = _map_frame(page)
    frame.locator('.crew-badge[title="道路の穴・段差"]').first.click()
    popup = frame.locator(".leaflet-popup")
    expect(popup.locator("img")).to_be_visible()
    frame.wait_for_function(
        "() => [...document.querySelectorAll('.leaflet-popup img')].every(i => i.complete)"
    )
    page.wait_for_timeout(400)  # the pan that brings the popup into view
    inside = frame.evaluate(
        """() => {
            const map = document.querySelector('.leaflet-container').getBoundingClientRect();
            const box = document.querySelector('.leaflet-popup').getBoundingClientRect();
            return [box.top - map.top, map.bottom - box.bottom, box.left - map.left,
                    map.right - box.right];
        }"""
    )
    assert min(inside) >= 0, inside
    screenshot(page, size, "map-popup")
    expect(popup.locator("a", has_text="案件を開く")).to_be_visible()


def test_without_tiles_the_map_says_so_and_still_shows_the_cases(
    tiled_app: RunningApp, tiles: TileServer, chromium: Browser
) -> None:
    _seed(tiled_app)
    tiles.up = False
    context = _context(chromium, "desktop")
    try:
        page = context.new_page()
        log_in(page, tiled_app, "offline-crew")
        page.goto(tiled_app.url + "/crew/map")
        frame = _map_frame(page)
        expect(frame.locator(".crew-notice")).to_contain_text("背景地図を読み込めませんでした")
        expect(frame.locator(".crew-badge").first).to_be_visible()
        expect(frame.locator(".leaflet-overlay-pane canvas")).to_be_visible()  # the boundary
        screenshot(page, "desktop", "map-without-tiles")
    finally:
        context.close()


def test_the_gsi_default_with_no_internet_still_works(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    tmp_path: Path,
    chromium: Browser,
) -> None:
    app = _app(kita_url, standin_server[1], tmp_path, MapSettings())
    with serve(create_app(app.settings)) as url:
        app.url = url
        _seed(app)
        context = _context(chromium, "desktop")
        gsi: list[str] = []

        def no_internet(route: Route) -> None:
            gsi.append(route.request.url)
            route.abort()

        # No request leaves this machine: GSI's host is cut off as on a closed network.
        context.route("https://cyberjapandata.gsi.go.jp/**", no_internet)
        try:
            page = context.new_page()
            log_in(page, app, "closed-network", "admin")
            page.goto(app.url + "/crew/map")
            frame = _map_frame(page)
            expect(frame.locator(".crew-notice")).to_contain_text("背景地図を読み込めませんでした")
            credit = frame.locator(".leaflet-control-attribution a", has_text="地理院タイル")
            expect(credit).to_have_attribute(
                "href", "https://maps.gsi.go.jp/development/ichiran.html"
            )
            layers = frame.locator(".leaflet-control-layers-base label")
            expect(layers).to_have_text(
                ["淡色地図 Pale map", "標準地図 Standard map", "写真 Aerial photos"]
            )
        finally:
            context.close()
    assert gsi and all("/xyz/pale/" in url for url in gsi)


def _focus(page: Page) -> str:
    """What has the keyboard's focus, frames included: "#id", or its title, label or text."""
    text: str = page.evaluate(
        """() => {
            let doc = document, el = doc.activeElement;
            while (el && el.tagName === 'IFRAME' && el.contentDocument) {
                doc = el.contentDocument; el = doc.activeElement;
            }
            if (!el) return '';
            if (el.id) return '#' + el.id;
            return (el.getAttribute('title') || el.getAttribute('aria-label') || el.name
                    || el.textContent || '').trim();
        }"""
    )
    return text


def _tab_to(page: Page, wanted: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if wanted in _focus(page):
            return
    raise AssertionError(f"Tab never reached {wanted!r}")


def test_a_keyboard_alone_goes_from_the_login_to_a_status_change(
    tiled_app: RunningApp, chromium: Browser, standin: LinePlatformStandIn
) -> None:
    standin.add_user(RESIDENT)
    ids = _seed(tiled_app)
    off_loop(lambda: add_ready_account(tiled_app, "keys", "crew"))
    context = _context(chromium, "desktop")
    try:
        page = context.new_page()
        page.goto(tiled_app.url + "/crew/login")
        expect(page.locator("#name")).to_be_focused()  # autofocus: the keyboard starts there
        page.keyboard.type("keys")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(tiled_app.url + "/crew/")
        _tab_to(page, "通報マップ")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        _map_frame(page)
        _tab_to(page, "道路の穴・段差")  # the marker of the first case
        page.keyboard.press("Enter")
        _tab_to(page, "案件を開く")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_url(f"{tiled_app.url}/crew/clusters/{ids[0]}*")
        _tab_to(page, "#status")
        page.keyboard.press("ArrowDown")  # received -> accepted
        page.keyboard.press("Tab")
        assert _focus(page) == "#note"
        page.keyboard.type("明日伺います")
        page.keyboard.press("Tab")
        assert "Change and notify" in _focus(page)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#case-status")).to_contain_text("受理")
        # A visible focus ring on what has the focus (the design system's).
        _tab_to(page, "地図に戻る")
        ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert ring == "solid"
    finally:
        context.close()
    delivery = off_loop(lambda: standin.wait_for_deliveries(1, RESIDENT))[0]
    assert "受付番号 No." in delivery.messages[0]["text"]
    assert "明日伺います" in delivery.messages[0]["text"]
