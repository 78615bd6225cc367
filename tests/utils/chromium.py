"""Debian's Chromium driven by Playwright, for the tests that need a real browser.

Playwright's own browser download needs the internet, so the system Chromium is used
(`make chromium` installs Debian's package). A browser test module calls
`skip_without_chromium()` before importing Playwright: without Chromium or the `playwright`
package the module is skipped, saying what is missing. Its fixture (`chromium`) is loaded by
conftest.py and imports Playwright only when a test asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from tests.utils.app import RunningApp
from tests.utils.crew import PASSWORD, add_ready_account

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

CHROMIUM = Path(os.environ.get("CIVIC_CHROMIUM", "/usr/bin/chromium"))
# Where the browser tests leave their screenshots, one folder per size, to be looked at after
# a run (not committed).
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".data" / "screenshots"
# The two sizes every page is looked at in, by the name of their folder: (width, height).
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
DESKTOP: ViewportSize = {"width": SIZES["desktop"][0], "height": SIZES["desktop"][1]}
PHONE: ViewportSize = {"width": SIZES["phone"][0], "height": SIZES["phone"][1]}
# Headless, and quiet: without the background-networking flags Chromium calls Google
# (updates, safe browsing, sync), which floods a closed network and the request log.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

T = TypeVar("T")


def skip_without_chromium() -> None:
    """Skip the calling test module, saying why, when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium) "
            "or set CIVIC_CHROMIUM to a Chromium binary",
            allow_module_level=True,
        )
    pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (make dev)"
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One browser for the module (starting Chromium is the slow part)."""
    # Imported here, not above: conftest.py loads this module for every test run, and
    # only the modules that passed skip_without_chromium() ask for this fixture.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def console_error(message: ConsoleMessage, problems: list[str]) -> None:
    """Keep the console's errors, with where they came from. The browser's own request for
    /favicon.ico (the pages declare no icon, the app serves none) is not a page error."""
    where = message.location.get("url", "")
    if message.type == "error" and not where.endswith("/favicon.ico"):
        problems.append(f"{message.text} at {where}")


def off_loop(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own: the Playwright sync API keeps an asyncio loop on
    this thread, so the fixtures' `asyncio.run` would refuse to start here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def category_label(app: RunningApp, code: str) -> str:
    """The category's Japanese label: the marker's title (a tooltip) on the map."""
    return next(c.label_ja for c in app.settings.reports.categories if c.code == code)


def log_in(page: Page, app: RunningApp, name: str = "tanaka", role: str = "crew") -> None:
    """A fresh account (of `role`) logs in through the login form and lands on the crew
    home."""
    off_loop(lambda: add_ready_account(app, name, role))
    page.goto(app.url + "/crew/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(app.url + "/crew/")


def watch(page: Page) -> list[str]:
    """The page's problems as they happen: console errors (a CSP refusal is one), uncaught
    exceptions and answers of 400 or more."""
    problems: list[str] = []
    page.on("console", lambda msg: console_error(msg, problems))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    return problems


def screenshot(page: Page, size: str, name: str) -> Path:
    """Save the whole page as SCREENSHOTS/<size>/<name>.png (size: a key of SIZES)."""
    folder = SCREENSHOTS / size
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: nothing scrolls sideways)."""
    width: int = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return width
