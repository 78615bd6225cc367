"""The sandbox chat page (/sandbox) in a real browser at a phone's width: a resident with no
LINE account asks for shelters (text, the location quick reply, a spot picked on the map) and
sees the Flex carousel of real shelters; then files a complete report (category chip, map,
photo from the file picker, next, description, send) and sees the report number.

Each step goes through the real path: the page posts to /sandbox/say, which signs a webhook
to the app's own /line/webhook; what the page shows is what the LINE stand-in received. The
app is `civic serve --sandbox` (the `sandbox_app` fixture); the browser is Debian's Chromium,
as in tests/test_browser.py (skipped, saying why, when it is missing).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from service.settings import ReportSettings
from tests.utils.chromium import TIMEOUT_MS, console_error, screenshot, skip_without_chromium
from tests.utils.photos import jpeg
from tests.utils.sandbox import SandboxApp

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    FilePayload,
    Locator,
    Page,
    Position,
    ViewportSize,
    expect,
)

PHONE: ViewportSize = {"width": 390, "height": 844}
TABATA = (35.7381, 139.7607)  # Tabata station, Kita-ku
# Real data (GSI 指定緊急避難場所, bundled): the school 330 m from Tabata station, the nearest
# site designated for the hazards there, comes first.
NEAREST = "区立田端小学校"


@pytest.fixture
def phone(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh phone-sized context per test."""
    made = chromium.new_context(viewport=PHONE, locale="ja-JP")
    made.set_default_timeout(TIMEOUT_MS)
    yield made
    made.close()


@pytest.fixture
def requested(phone: BrowserContext) -> list[str]:
    """Every URL the context asks for."""
    urls: list[str] = []
    phone.on("request", lambda request: urls.append(request.url))
    return urls


@pytest.fixture
def problems(phone: BrowserContext) -> list[str]:
    """Console errors, uncaught exceptions and failed responses of the context's pages."""
    found: list[str] = []

    def watch(page: Page) -> None:
        page.on("console", lambda msg: console_error(msg, found))
        page.on("pageerror", lambda exc: found.append(str(exc)))
        page.on(
            "response",
            lambda r: found.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    phone.on("page", watch)
    return found


@pytest.fixture
def chat(phone: BrowserContext, sandbox_app: SandboxApp) -> Page:
    """The sandbox page, open, with its new chat started."""
    page = phone.new_page()
    page.goto(sandbox_app.url + "/sandbox")
    expect(page.locator("#sb-chat .sb-note")).to_contain_text("新しい会話")
    return page


def _send_text(page: Page, words: str) -> None:
    page.fill("#sb-text", words)
    page.click("#sb-send")


def _last_bot_text(page: Page) -> Locator:
    return page.locator(".sb-row-bot .line-bubble-bot").last


def _pixel(page: Page, lat: float, lon: float) -> Position:
    """Where (lat, lon) is in the map element: Web Mercator from the view the page opens at
    (its centre and zoom are in the page's JSON block)."""
    view = json.loads(page.locator("#sb-map-data").text_content() or "{}")
    scale = 256 * 2 ** view["zoom"]

    def project(lat: float, lon: float) -> tuple[float, float]:
        phi = math.radians(lat)
        x = (lon + 180) / 360 * scale
        y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2 * scale
        return x, y

    box = page.locator("#sb-map").bounding_box()
    assert box is not None
    (cx, cy), (x, y) = project(view["lat"], view["lon"]), project(lat, lon)
    return {"x": box["width"] / 2 + x - cx, "y": box["height"] / 2 + y - cy}


def _pick_on_map(page: Page, lat: float, lon: float) -> None:
    """In the open map dialog, click (lat, lon) and send it; checks what was picked."""
    expect(page.locator("#sb-map-dialog")).to_be_visible()
    expect(page.locator("#sb-map .leaflet-interactive").first).to_be_attached()
    page.locator("#sb-map").click(position=_pixel(page, lat, lon))
    picked = page.locator("#sb-picked")
    expect(picked).to_contain_text("選んだ場所")
    found = re.search(r"(-?\d+\.\d+), (-?\d+\.\d+)", picked.text_content() or "")
    assert found, picked.text_content()
    # Within about 40 m of the spot meant (a pixel is about 15 m at the opening zoom).
    assert abs(float(found.group(1)) - lat) < 0.0004 and abs(float(found.group(2)) - lon) < 0.0005
    page.click("#sb-map-send")
    expect(page.locator("#sb-map-dialog")).to_be_hidden()


def _chip(page: Page, label: str) -> Any:
    return page.locator("#sb-quick .sb-chip", has_text=label)


def test_shelter_search_then_a_complete_report(
    chat: Page, sandbox_app: SandboxApp, requested: list[str], problems: list[str]
) -> None:
    page = chat
    _send_text(page, "避難所")
    expect(page.locator(".sb-row-user .line-bubble-user").last).to_have_text("避難所")
    expect(_last_bot_text(page)).to_contain_text("位置情報を送る")

    _chip(page, "位置情報を送る").click()
    _pick_on_map(page, *TABATA)
    expect(page.locator(".sb-row-user .line-location").last).to_contain_text("35.73")
    carousel = page.locator(".line-carousel").last
    first = carousel.locator(".line-fbubble").first
    expect(first.locator(".line-text").first).to_have_text(NEAREST)
    expect(first.locator(".line-text").first).to_be_visible()
    route = first.locator("a.line-fbutton")
    expect(route).to_have_text("ルートを見る")
    expect(route).to_have_attribute("href", re.compile(r"^https://www\.google\.com/maps/dir/"))
    # The carousel scrolls sideways inside the phone's width, not the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    assert carousel.evaluate("c => c.scrollWidth > c.clientWidth")
    screenshot(page, "phone", "sandbox-location")

    # A report: category, place, photo, next, description, send.
    _send_text(page, "通報")
    expect(_last_bot_text(page)).to_contain_text("何についての通報ですか")
    road = ReportSettings().categories[0].label_ja
    _chip(page, road).click()
    # The postback's displayText shows as the resident's own message.
    expect(page.locator(".sb-row-user .line-bubble-user").last).to_have_text(road)
    expect(_last_bot_text(page)).to_contain_text("場所を送ってください")
    _chip(page, "位置情報を送る").click()
    _pick_on_map(page, *TABATA)
    expect(_last_bot_text(page)).to_contain_text("写真があれば送ってください")

    with page.expect_file_chooser() as chooser:
        _chip(page, "写真を選ぶ").click()
    photo: FilePayload = {
        "name": "pothole.jpg",
        "mimeType": "image/jpeg",
        "buffer": jpeg(size=(64, 48)),
    }
    chooser.value.set_files(photo)
    expect(page.locator(".sb-row-user img.line-photo")).to_have_count(1)
    expect(_last_bot_text(page)).to_contain_text("写真を受け取りました（1/4枚）")
    _chip(page, "次へ").click()
    expect(_last_bot_text(page)).to_contain_text("状況をひとことで教えてください")
    _send_text(page, "歩道に5cmほどの段差")
    confirm = _last_bot_text(page)
    expect(confirm).to_contain_text("写真: 1枚")
    expect(confirm).to_contain_text("説明: 歩道に5cmほどの段差")
    _chip(page, "送信する").click()
    done = _last_bot_text(page)
    expect(done).to_contain_text("通報を受け付けました")
    number = re.search(r"No\.(\d+)", done.text_content() or "")
    assert number, done.text_content()
    expect(page.locator("#sb-quick")).to_be_hidden()

    [report] = sandbox_app.query(
        "SELECT r.category, r.description, count(p.*) AS photos FROM reports r "
        "LEFT JOIN report_photos p ON p.report_id = r.id WHERE r.id = :id "
        "GROUP BY r.id",
        id=int(number.group(1)),
    )
    assert (report.category, report.description, report.photos) == (
        ReportSettings().categories[0].code,
        "歩道に5cmほどの段差",
        1,
    )
    assert problems == [], problems
    outside = [u for u in requested if not u.startswith((sandbox_app.url + "/", "data:", "blob:"))]
    assert outside == [], outside


def test_english_resident_and_the_raw_record(chat: Page, problems: list[str]) -> None:
    page = chat
    page.select_option("#sb-language", "en")
    expect(page.locator("#sb-chat .sb-note")).to_have_text(re.compile("English"))
    _send_text(page, "<b>hello</b>")
    # Text, never markup.
    expect(page.locator(".sb-row-user .line-bubble-user").last).to_have_text("<b>hello</b>")
    expect(page.locator("#sb-chat b")).to_have_count(0)
    expect(_last_bot_text(page)).to_contain_text("Send a location to see what to do there")
    expect(_chip(page, "Send location")).to_be_visible()
    # The input row's location button, and picking without a pointer: the map's centre.
    page.click("#sb-location")
    page.click("#sb-map-centre")
    page.click("#sb-map-send")
    expect(page.locator(".sb-row-bot .line-bubble-bot").nth(-1)).to_contain_text(
        "Nearest designated sites"
    )
    screenshot(page, "phone", "sandbox-location-en")
    # The JSON switch shows what the webhook carried and what the stand-in received.
    raw = page.locator(".sb-row-bot .sb-raw").last
    expect(raw).to_be_hidden()
    page.check("#sb-raw")
    expect(raw).to_be_visible()
    raw.locator("summary").click()
    expect(raw.locator("pre")).to_contain_text('"quickReply"')
    expect(page.locator(".sb-row-user .sb-raw pre").last).to_contain_text('"webhookEventId"')
    assert problems == [], problems
