"""Retention: `civic reports forget` unlinks residents from closed reports, as an operator
runs it (a process of its own, on the test's PostGIS), and photos no report holds are
removed once their draft's lifetime is over (the bucket store's side is in
test_photo_store.py)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.photos import LocalPhotoStore, process_photo
from service.sandbox import LinePlatformStandIn
from service.settings import ReportSettings
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.database import db, in_transaction
from tests.utils.photos import jpeg
from tests.utils.resident import Resident

RESIDENT = "U" + "e5" * 16


def test_forget_days_0_forgets_every_closed_report(running_app: RunningApp) -> None:
    async def file_and_close(conn: AsyncConnection) -> int:
        new = reports.NewReport(category="road", lon=139.7362, lat=35.7584, line_user_id=RESIDENT)
        filed = await reports.submit_report(conn, new, 30)
        await reports.change_status(conn, filed.cluster_id, "resolved", actor="test")
        return filed.report_id

    report_id = in_transaction(running_app.database_url, file_and_close)
    forgot = civic(running_app.database_url, "reports", "forget", "--days", "0")
    assert forgot.returncode == 0, forgot.stderr
    assert "unlinked 1 reports" in forgot.stdout
    (row,) = db(running_app, "SELECT id, line_user_id FROM reports")
    assert (row.id, row.line_user_id) == (report_id, None)
    refused = civic(running_app.database_url, "reports", "forget", "--days", "-1")
    assert refused.returncode == 2


@pytest.mark.parametrize(
    "app_overrides", [{"reports": ReportSettings(REPORT_DRAFT_MINUTES=0.1)}], indirect=True
)
def test_photos_of_cancelled_and_expired_drafts_are_removed_after_the_drafts_lifetime(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    store = LocalPhotoStore(running_app.settings.data.photo_dir)
    kept, cancelled, abandoned = (process_photo(jpeg(size=(400 + n, 300))) for n in range(3))
    store.put(kept)

    async def file(conn: AsyncConnection) -> None:
        new = reports.NewReport(category="road", lon=139.7362, lat=35.7584, photo_keys=[kept.key])
        await reports.submit_report(conn, new, 30)

    in_transaction(running_app.database_url, file)
    changes_mind = Resident(running_app, standin, "U" + "a7" * 16, "ja")
    changes_mind.photo(jpeg(size=(401, 300)))
    assert "取り消しました" in changes_mind.say("キャンセル")[-1]["text"]
    walks_away = Resident(running_app, standin, "U" + "b8" * 16, "ja")
    walks_away.photo(jpeg(size=(402, 300)))
    assert store.exists(cancelled.key) and store.exists(abandoned.key)
    # Swept every REPORT_DRAFT_MINUTES (6 s here), once older than that.
    deadline = time.monotonic() + 40
    while (store.exists(cancelled.key) or store.exists(abandoned.key)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.5)
    assert not store.exists(cancelled.key) and not store.exists(abandoned.key)
    assert store.exists(kept.key)
