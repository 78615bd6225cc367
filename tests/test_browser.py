"""The crew pages in a real browser (headless Debian Chromium driven by Playwright), as a road
crew uses them: log in through the form, find the reports on the map, open a marker's popup,
follow it to the cluster page and change the status there, and the reporter is told.

What only a browser can show: the markers are built client-side by crewmap.js (an HTTP test
sees JSON, not markers), the map runs under its own CSP inside an iframe, and nothing the
pages load may come from anywhere but the app (a municipal network may have no internet).

Playwright's own browser download needs the internet, so the system Chromium is used
(`make chromium` installs Debian's package); without it or without the `playwright` package
the module is skipped, saying what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.sandbox import LinePlatformStandIn
from tests.utils.app import RunningApp
from tests.utils.chromium import (
    TIMEOUT_MS,
    category_label,
    console_error,
    log_in,
    off_loop,
    skip_without_chromium,
)
from tests.utils.database import in_transaction

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    Frame,
    Page,
    expect,
)

RESIDENT = "U" + "b" * 32
# Three stations of Kita-ku, 2.5 km and more apart: separate markers at the fitted zoom.
PLACES = {
    "road": (139.736233, 35.758357),  # Oji
    "streetlight": (139.7209, 35.7778),  # Akabane
    "mirror_sign": (139.7607, 35.7381),  # Tabata
}


def _seed(app: RunningApp) -> dict[str, int]:
    """One open report cluster at each of PLACES (the road one filed by RESIDENT over LINE);
    returns the cluster ids by category."""

    async def work(conn: AsyncConnection) -> dict[str, int]:
        ids = {}
        for category, (lon, lat) in PLACES.items():
            user = RESIDENT if category == "road" else None
            new = reports.NewReport(category=category, lon=lon, lat=lat, line_user_id=user)
            ids[category] = (await reports.submit_report(conn, new, 30)).cluster_id
        return ids

    return off_loop(lambda: in_transaction(app.database_url, work))


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh context per test: no cookies or storage carried over between tests."""
    made = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    made.set_default_timeout(TIMEOUT_MS)
    yield made
    made.close()


@pytest.fixture
def requested(context: BrowserContext) -> list[str]:
    """Every URL any page or frame of the context asks for, in order."""
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    return urls


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def _map_frame(page: Page, app: RunningApp) -> Frame:
    """Open the map page; its iframe, once crewmap.js has drawn the markers."""
    page.goto(app.url + "/crew/map")
    iframe = page.wait_for_selector("iframe.crew-map")
    frame = iframe.content_frame() if iframe else None
    assert frame is not None
    frame.wait_for_selector(".leaflet-marker-pane .crew-badge, .leaflet-marker-pane .crew-bubble")
    return frame


# How many report clusters the map represents: a lone marker (a `crew-badge`) is one, a
# markercluster bubble (`crew-bubble`) shows how many it holds. Counting both keeps the
# assertion true whatever the zoom groups together.
_REPRESENTED = """() => {
    const pane = document.querySelector(".leaflet-marker-pane");
    let total = pane.querySelectorAll(".crew-badge").length;
    for (const bubble of pane.querySelectorAll(".crew-bubble")) {
        total += Number(bubble.textContent);
    }
    return total;
}"""


def _same_origin(urls: list[str], app: RunningApp) -> list[str]:
    """The URLs that left the app's origin (data: and blob: never touch the network)."""
    return [url for url in urls if not url.startswith((app.url + "/", "data:", "blob:", "about:"))]


def test_login_form_lands_on_the_crew_home(running_app: RunningApp, page: Page) -> None:
    log_in(page, running_app)
    expect(page.locator("h1")).to_contain_text("対応中の案件")
    # The navigation shown at this width (a phone folds it into a menu) names who is in.
    expect(page.locator("header nav:visible")).to_contain_text("tanaka")


def test_map_shows_every_cluster_with_no_base_map(
    running_app: RunningApp, page: Page, requested: list[str]
) -> None:
    problems: list[str] = []
    page.on("console", lambda msg: console_error(msg, problems))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    ids = _seed(running_app)
    log_in(page, running_app)
    frame = _map_frame(page, running_app)

    frame.wait_for_function(f"({_REPRESENTED})() === {len(ids)}", timeout=TIMEOUT_MS)
    # At the fitted zoom the three places are far apart: each is a marker of its own.
    badges = frame.locator(".leaflet-marker-pane .crew-badge")
    expect(badges).to_have_count(len(ids))
    for category in ids:
        titled = (
            f'.leaflet-marker-pane .crew-badge[title="{category_label(running_app, category)}"]'
        )
        expect(frame.locator(titled)).to_have_count(1)
    # No tile layer by default (a closed network has no tiles), and still the markers show.
    assert frame.locator(".leaflet-tile").count() == 0
    for index in range(len(ids)):
        expect(badges.nth(index)).to_be_visible()
        assert badges.nth(index).bounding_box() is not None
    assert problems == [], problems
    assert not _same_origin(requested, running_app), _same_origin(requested, running_app)
    # The iframe's own requests are in the record too.
    assert any("/crew/map/frame" in url for url in requested)
    assert any(url.endswith("/crewmap.js") for url in requested)


def test_the_first_click_on_a_marker_opens_its_popup(running_app: RunningApp, page: Page) -> None:
    _seed(running_app)
    log_in(page, running_app)
    frame = _map_frame(page, running_app)
    frame.locator(f'.crew-badge[title="{category_label(running_app, "road")}"]').click()
    expect(frame.locator(".leaflet-popup-content a")).to_be_visible(timeout=2_000)


def test_marker_popup_leads_to_the_cluster_page_and_a_status_change_reaches_the_reporter(
    running_app: RunningApp, page: Page, requested: list[str], standin: LinePlatformStandIn
) -> None:
    standin.add_user(RESIDENT)
    ids = _seed(running_app)
    road = ids["road"]
    log_in(page, running_app)
    frame = _map_frame(page, running_app)

    marker = frame.locator(f'.crew-badge[title="{category_label(running_app, "road")}"]')
    link = frame.locator(".leaflet-popup-content a")
    marker.click()
    expect(link).to_be_visible()
    expect(link).to_have_text("案件を開く Open the case")
    expect(frame.locator(".leaflet-popup-content strong")).to_have_text(f"案件 No.{road}")
    expect(link).to_have_attribute("href", f"/crew/clusters/{road}")
    link.click()  # target=_top: the whole page goes, not just the map frame
    page.wait_for_url(f"{running_app.url}/crew/clusters/{road}")
    expect(page.locator("h1")).to_contain_text(f"案件 No.{road}")

    page.select_option("select[name=status]", "in_progress")
    page.fill("input[name=note]", "本日補修します")
    # The POST redirects back to the same URL: wait for that load, not just for the URL.
    with page.expect_navigation():
        page.click("form[action$='/status'] button[type=submit]")
    expect(page.locator("#case-status")).to_contain_text("対応中")
    expect(page.locator("main table tbody")).to_contain_text("crew:tanaka")
    expect(page.locator("main table tbody")).to_contain_text("本日補修します")

    delivery = off_loop(lambda: standin.wait_for_deliveries(1, RESIDENT))[0]
    text = delivery.messages[0]["text"]
    assert "対応中" in text and "本日補修します" in text
    # Login, map, frame, popup and cluster page: nothing asked of any other origin.
    assert not _same_origin(requested, running_app), _same_origin(requested, running_app)
    assert any(re.search(r"/crew/clusters/\d+$", url) for url in requested)
