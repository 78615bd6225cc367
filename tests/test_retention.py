"""Retention: `civic reports forget` unlinks residents from closed reports, as an operator
runs it (a process of its own, on the test's PostGIS)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.settings import ReportSettings
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.database import db, in_transaction

RESIDENT = "U" + "e5" * 16


def test_forget_days_0_forgets_every_closed_report(running_app: RunningApp) -> None:
    async def file_and_close(conn: AsyncConnection) -> int:
        new = reports.NewReport(category="road", lon=139.7362, lat=35.7584, line_user_id=RESIDENT)
        filed = await reports.submit_report(conn, new, 30)
        await reports.change_status(
            conn, filed.cluster_id, "resolved", actor="test", settings=ReportSettings()
        )
        return filed.report_id

    report_id = in_transaction(running_app.database_url, file_and_close)
    forgot = civic(running_app.database_url, "reports", "forget", "--days", "0")
    assert forgot.returncode == 0, forgot.stderr
    assert "unlinked 1 reports" in forgot.stdout
    (row,) = db(running_app, "SELECT id, line_user_id FROM reports")
    assert (row.id, row.line_user_id) == (report_id, None)
    refused = civic(running_app.database_url, "reports", "forget", "--days", "-1")
    assert refused.returncode == 2
