"""The domain's errors answered in one place (service/errors.py): a crew form the workflow
refuses comes back as its page with the error shown, an answer that has no page is JSON, and
both keep the crew pages' security headers."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from tests.utils.app import RunningApp
from tests.utils.crew import PASSWORD, Browser, add_ready_account
from tests.utils.database import in_transaction

OJI = (139.736233, 35.758357)


def _cluster(app: RunningApp) -> int:
    road = reports.NewReport(category="road", lon=OJI[0], lat=OJI[1])

    async def work(conn: AsyncConnection) -> int:
        return (await reports.submit_report(conn, road, 30)).cluster_id

    return in_transaction(app.database_url, work)


def test_a_refused_status_change_shows_the_cluster_page_with_the_error(
    running_app: RunningApp, browser: Browser
) -> None:
    cluster_id = _cluster(running_app)
    add_ready_account(running_app, "ito")
    assert browser.login("ito", PASSWORD).status_code == 303
    page = f"/crew/clusters/{cluster_id}"
    token = browser.csrf_token(page)
    refused = browser.post(f"{page}/status", data={"csrf_token": token, "status": "fixed"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["x-frame-options"] == "DENY"
    alert = re.search(r'<p role="alert">(.*?)</p>', refused.text, re.S)
    assert alert and "fixed" in alert.group(1), refused.text
    # The page itself, with its form, to try again.
    assert f"案件 No.{cluster_id}" in refused.text
    assert f'action="{page}/status"' in refused.text


def test_a_refusal_with_no_page_to_show_it_is_json(
    running_app: RunningApp, browser: Browser
) -> None:
    cluster_id = _cluster(running_app)
    add_ready_account(running_app, "abe", "admin")
    assert browser.login("abe", PASSWORD).status_code == 303
    token = browser.csrf_token(f"/crew/clusters/{cluster_id}")
    missing = browser.post("/crew/reports/999999/split", data={"csrf_token": token})
    assert missing.status_code == 400
    assert missing.headers["cache-control"] == "no-store"
    assert "999999" in missing.json()["detail"]
