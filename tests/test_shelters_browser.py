"""The shelter pages in a real browser (headless Debian Chromium driven by Playwright) at a
desk and on a phone: the public page with JavaScript switched off, as a resident on an old
phone or a slow network might have it, and the crew's board, where an admin ticks sites,
changes them and, at the end, ends the disaster. Screenshots of each are saved
(tests/utils/chromium.py). Real Kita-ku sites.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from gis import shelter_status
from gis.hazards import ShelterHazard
from gis.shelter_status import ShelterStatus
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
from tests.utils.database import db, in_transaction

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
)

OLD_JUJODAI_ES = "E1311700125201"  # 旧十条台小学校, 中十条
JUJO_ES = "E1311700120201"  # 区立十条小学校, 中十条
FUREAI = "E1311700171201"  # 十条台ふれあい館, 中十条
UKIMA_ES = "E1311700138201"  # 区立浮間小学校, 浮間


@pytest.fixture
def disaster(running_app: RunningApp) -> RunningApp:
    """An earthquake declared, two sites open and one full."""
    url = running_app.database_url

    async def work(conn: AsyncConnection) -> None:
        await shelter_status.declare_hazard(conn, ShelterHazard.EARTHQUAKE, actor="test")
        opened = [OLD_JUJODAI_ES, UKIMA_ES]
        await shelter_status.set_status(
            conn, opened, ShelterStatus.OPEN, actor="t", note="ペット可"
        )
        await shelter_status.set_status(conn, [JUJO_ES], ShelterStatus.FULL, actor="t")

    off_loop(lambda: in_transaction(url, work))
    return running_app


def _size_name(size: ViewportSize) -> str:
    return "phone" if size == PHONE else "desktop"


def _context(chromium: Browser, size: ViewportSize, *, script: bool = True) -> BrowserContext:
    phone = size == PHONE
    made = chromium.new_context(
        viewport=size, locale="ja-JP", java_script_enabled=script, is_mobile=phone, has_touch=phone
    )
    made.set_default_timeout(TIMEOUT_MS)
    if script:  # axe-core is a script: it checks the pages where scripts run
        install_axe(made)
    return made


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def size(request: pytest.FixtureRequest) -> ViewportSize:
    chosen: ViewportSize = request.param
    return chosen


@pytest.fixture
def no_script(chromium: Browser, size: ViewportSize) -> Iterator[Page]:
    """A page without JavaScript, at `size`."""
    context = _context(chromium, size, script=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(chromium: Browser, size: ViewportSize) -> Iterator[Page]:
    context = _context(chromium, size)
    yield context.new_page()
    context.close()


def test_a_resident_finds_the_open_shelters_of_a_town_without_javascript(
    disaster: RunningApp, no_script: Page, size: ViewportSize
) -> None:
    page = no_script
    problems = watch(page)
    page.goto(disaster.url + "/shelters")
    assert overflow(page) == 0
    expect(page.locator("#towns")).to_have_attribute("open", "")
    screenshot(page, _size_name(size), "shelters-public-index")

    with page.expect_navigation():
        page.locator("#towns a", has_text="中十条").click()
    assert "town=%E4%B8%AD%E5%8D%81%E6%9D%A1" in page.url
    names = page.locator("ul.sites .site-name")
    expect(names).to_have_text(["旧十条台小学校", "区立十条小学校", "十条台ふれあい館"])
    # The index folds away once a town is chosen: the town's sites are on the first screen.
    first = names.first.bounding_box()
    assert first is not None and first["y"] < size["height"]
    expect(page.locator("ul.towns.nearby a").first).to_be_visible()
    assert overflow(page) == 0
    screenshot(page, _size_name(size), "shelters-public-town")

    with page.expect_navigation():
        page.click("#open-only")
    expect(names).to_have_text(["旧十条台小学校"])
    expect(page.locator("ul.sites")).to_contain_text("ペット可")
    with page.expect_navigation():
        page.get_by_role("link", name="すべての町").click()
    expect(names).to_have_text(["旧十条台小学校", "区立浮間小学校"])
    assert problems == [], problems


def _statuses(app: RunningApp) -> dict[str, str]:
    rows = db(app, "SELECT common_id, status FROM shelter_status")
    return {row.common_id: row.status for row in rows}


def test_an_admin_works_the_board_and_ends_the_disaster_at_the_bottom(
    disaster: RunningApp, page: Page, size: ViewportSize
) -> None:
    problems = watch(page)
    # The public page's town view and open-only view, checked by axe-core (scripts on here).
    page.goto(disaster.url + "/shelters?town=%E4%B8%AD%E5%8D%81%E6%9D%A1&open=1")
    expect(page.locator("ul.sites .site-name")).to_have_text(["旧十条台小学校"])
    assert violations(page) == []
    log_in(page, disaster, "suzuki", "admin")
    page.goto(disaster.url + "/crew/shelters")
    assert overflow(page) == 0  # the sites are cards on a phone, not a wide table
    screenshot(page, _size_name(size), "shelters-board")
    assert violations(page) == []
    # The end of the disaster is not at the top: folded, after the sites and their form.
    end = page.locator("#end-form button[type=submit]")
    expect(end).to_be_hidden()
    table = page.locator("#sites").bounding_box()
    summary = page.locator("#end > summary").bounding_box()
    assert table is not None and summary is not None
    assert summary["y"] > table["y"] + table["height"]

    # One town, tick a site, mark it full: the page comes back to the same town.
    with page.expect_navigation():
        page.locator(".board-views .towns summary").click()
        page.locator(".board-views .towns a", has_text="中十条").click()
    page.locator(f"#site-{FUREAI} input[name=ids]").check()
    page.select_option("#status-form select[name=status]", "open")
    with page.expect_navigation():
        page.click("#status-form button[type=submit]:not([formaction])")
    assert "town=" in page.url and "changed=1" in page.url
    expect(page.locator(f"#site-{FUREAI} .shelter-badge")).to_contain_text("開設中")
    expect(page.locator("#sites tbody tr")).to_have_count(3)
    assert overflow(page) == 0
    screenshot(page, _size_name(size), "shelters-board-town")

    # The end: unfolded, refused by the browser until confirmed, then everything cleared.
    page.locator("#end > summary").click()
    expect(end).to_be_visible()
    end.click()
    assert page.evaluate(
        "document.querySelector('#end-form input[name=confirm]').validity.valueMissing"
    )
    assert len(_statuses(disaster)) == 4
    page.check("#end-form input[name=confirm]")
    screenshot(page, _size_name(size), "shelters-board-end")
    assert violations(page) == []
    with page.expect_navigation():
        end.click()
    expect(page.locator("#declared")).to_contain_text("なし（平常時）")
    assert _statuses(disaster) == {}
    assert db(disaster, "SELECT count(*) AS n FROM active_hazard")[0].n == 0
    assert problems == [], problems


def test_the_board_is_a_crew_members_to_read_without_javascript(
    disaster: RunningApp, chromium: Browser
) -> None:
    context = _context(chromium, PHONE, script=False)
    try:
        page = context.new_page()
        log_in(page, disaster, "tanaka")
        page.goto(disaster.url + "/crew/shelters")
        with page.expect_navigation():
            page.click("#open-only")
        rows = page.locator("#sites tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#status-form")).to_have_count(0)  # crew members only read
        expect(page.locator("#end")).to_have_count(0)
        assert overflow(page) == 0
        screenshot(page, "phone", "shelters-board-crew-open")
    finally:
        context.close()
    assert db(disaster, "SELECT count(*) AS n FROM shelter_status")[0].n == 3
