"""axe-core in the test browser: the accessibility check every page of the browser tests runs.

axe-core comes from npm (`frontend/package.json`, a dev dependency installed by `make`), read
from `frontend/node_modules` and put into every page and frame of a browser context by
Playwright itself (an init script), so nothing is fetched from anywhere and the pages' CSP
stays as served.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
# What the browser tests refuse; minor and moderate findings are left to a person's judgement.
REFUSED = ("serious", "critical")


def install_axe(context: BrowserContext) -> None:
    """Load axe-core into every page and frame the context opens."""
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `make setup` (npm ci in frontend/)")
    context.add_init_script(path=str(AXE))


def violations(page: Page) -> list[str]:
    """The serious and critical violations axe finds on the page, its frames included: one
    line each, naming the rule and where."""
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in REFUSED
    ]
