"""The map's CSV/GeoJSON exports, and admins merging and splitting clusters, over real HTTP
with a logged-in crew member or admin."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from tests.utils.app import RunningApp
from tests.utils.crew import Browser, logged_in
from tests.utils.database import in_transaction

RESIDENT = "U" + "e" * 32
OJI = (139.736233, 35.758357)
AKABANE = (139.7209, 35.7778)

FORMULA = '=HYPERLINK("http://x")'


def _file(app: RunningApp, *filed: reports.NewReport) -> list[reports.Submitted]:
    """File these reports (30 m duplicate radius), in order."""

    async def work(conn: AsyncConnection) -> list[reports.Submitted]:
        return [await reports.submit_report(conn, report, 30) for report in filed]

    return in_transaction(app.database_url, work)


def _road(
    at: tuple[float, float],
    address: str = "",
    description: str = "",
    line_user_id: str | None = None,
) -> reports.NewReport:
    return reports.NewReport(
        category="road",
        lon=at[0],
        lat=at[1],
        address=address,
        description=description,
        line_user_id=line_user_id,
    )


def _cluster(app: RunningApp, cluster_id: int) -> tuple[str, list[int], list[str]]:
    """A cluster's status, its report ids and its events' notes."""

    async def work(conn: AsyncConnection) -> tuple[str, list[int], list[str]]:
        status = await conn.scalar(
            text("SELECT status FROM report_clusters WHERE id = :id"), {"id": cluster_id}
        )
        ids = await conn.scalars(
            text("SELECT id FROM reports WHERE cluster_id = :id ORDER BY id"), {"id": cluster_id}
        )
        notes = await conn.scalars(
            text("SELECT note FROM cluster_events WHERE cluster_id = :id ORDER BY id"),
            {"id": cluster_id},
        )
        return str(status), list(ids), list(notes)

    return in_transaction(app.database_url, work)


def _admin(app: RunningApp, browser: Browser) -> Browser:
    return logged_in(app, browser, "sato", "admin")


def test_csv_export_is_excel_ready_filtered_and_has_no_line_user_id(
    running_app: RunningApp, browser: Browser
) -> None:
    road, light = _file(
        running_app,
        _road(OJI, address="東京都北区王子2-7-1", description=FORMULA, line_user_id=RESIDENT),
        reports.NewReport(category="streetlight", lon=AKABANE[0], lat=AKABANE[1]),
    )
    crew = logged_in(running_app, browser)
    page = crew.get("/crew/map?category=road").text
    assert 'href="/crew/export.csv?category=road"' in page
    assert 'href="/crew/export.geojson?category=road"' in page
    answer = crew.get("/crew/export.csv?category=road")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="civic-reports-')
    assert answer.content.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    # One numbering: the 受付番号 the resident was told, and the 案件番号 of the case.
    assert header[:2] == ["受付番号 (report_id)", "案件番号 (case_id)"]
    assert [int(row[0]) for row in rows] == [road.report_id]
    row = dict(zip((h.split("(")[1].rstrip(")") for h in header), rows[0], strict=True))
    assert row["case_id"] == str(road.cluster_id)
    assert row["category_ja"] and row["status"] == "received"
    assert row["created_at"].endswith("+09:00")
    assert row["address"] == "東京都北区王子2-7-1"
    assert row["description"] == "'" + FORMULA
    assert (float(row["lon"]), float(row["lat"])) == OJI
    assert "U" + "e" * 32 not in answer.text
    everything = crew.get("/crew/export.csv").content.decode("utf-8-sig").splitlines()
    assert len(everything) == 3 and str(light.report_id) in everything[2]


def test_full_width_formula_starters_are_neutralised_like_ascii_ones(
    running_app: RunningApp, browser: Browser
) -> None:
    starts = ("＝HYPERLINK(1)", "＋81", "－1+2", "＠SUM(1)", "=1", "普通の説明")
    _file(
        running_app,
        *(_road((OJI[0] + n * 0.01, OJI[1]), description=d) for n, d in enumerate(starts)),
    )
    answer = logged_in(running_app, browser).get("/crew/export.csv")
    header, *rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    column = header.index("内容 (description)")
    assert sorted(row[column] for row in rows) == sorted(
        ["'" + text for text in starts[:5]] + ["普通の説明"]
    )


def test_geojson_export_holds_one_lon_lat_point_per_report(
    running_app: RunningApp, browser: Browser
) -> None:
    first, second = _file(running_app, _road(OJI), _road(OJI, line_user_id=RESIDENT))
    crew = logged_in(running_app, browser)
    answer = crew.get("/crew/export.geojson?category=road&status=received")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    assert answer.headers["content-disposition"].endswith('.geojson"')
    collection = json.loads(answer.content)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["report_id"] for f in features] == [
        first.report_id,
        second.report_id,
    ]
    assert {f["properties"]["case_id"] for f in features} == {first.cluster_id}
    assert features[0]["geometry"] == {"type": "Point", "coordinates": list(OJI)}
    assert RESIDENT not in answer.text
    # a status filter that excludes the cluster exports nothing
    resolved = crew.get("/crew/export.geojson?status=resolved")
    assert json.loads(resolved.content)["features"] == []


def test_exports_need_a_login(running_app: RunningApp) -> None:
    for path in ("/crew/export.csv", "/crew/export.geojson"):
        anonymous = httpx.get(f"{running_app.url}{path}", trust_env=False)
        assert anonymous.status_code in (303, 401), path


def test_an_admin_merges_a_cluster_of_the_same_category(
    running_app: RunningApp, browser: Browser
) -> None:
    a, b = _file(running_app, _road(OJI), _road(AKABANE))
    assert a.cluster_id != b.cluster_id
    admin = _admin(running_app, browser)
    page = admin.get(f"/crew/clusters/{a.cluster_id}").text
    assert f'action="/crew/clusters/{a.cluster_id}/merge"' in page
    token = admin.csrf_token(f"/crew/clusters/{a.cluster_id}")
    merged = admin.post(
        f"/crew/clusters/{a.cluster_id}/merge", data={"csrf_token": token, "other": b.cluster_id}
    )
    assert merged.status_code == 303
    assert merged.headers["location"] == f"/crew/clusters/{a.cluster_id}"
    status, ids, notes = _cluster(running_app, a.cluster_id)
    assert status == "received" and ids == [a.report_id, b.report_id]
    assert f"merged #{b.cluster_id}" in notes
    status, ids, notes = _cluster(running_app, b.cluster_id)
    assert status == "duplicate" and ids == []
    assert f"merged into #{a.cluster_id}" in notes
    # a closed cluster cannot be merged again
    again = admin.post(
        f"/crew/clusters/{a.cluster_id}/merge", data={"csrf_token": token, "other": b.cluster_id}
    )
    assert again.status_code == 400


def test_merging_needs_an_admin_and_one_category(
    running_app: RunningApp, browsers: Callable[[], Browser]
) -> None:
    road, light = _file(
        running_app,
        _road(OJI),
        reports.NewReport(category="streetlight", lon=AKABANE[0], lat=AKABANE[1]),
    )
    other_road = _file(running_app, _road(AKABANE))[0]
    crew = logged_in(running_app, browsers())
    assert "/merge" not in crew.get(f"/crew/clusters/{road.cluster_id}").text
    token = crew.csrf_token(f"/crew/clusters/{road.cluster_id}")
    refused = crew.post(
        f"/crew/clusters/{road.cluster_id}/merge",
        data={"csrf_token": token, "other": other_road.cluster_id},
    )
    assert refused.status_code == 403
    admin = _admin(running_app, browsers())
    token = admin.csrf_token(f"/crew/clusters/{road.cluster_id}")
    mixed = admin.post(
        f"/crew/clusters/{road.cluster_id}/merge",
        data={"csrf_token": token, "other": light.cluster_id},
    )
    assert mixed.status_code == 400
    assert "category" in mixed.text
    assert _cluster(running_app, light.cluster_id)[1] == [light.report_id]


def test_an_admin_splits_a_report_out_but_not_the_only_one(
    running_app: RunningApp, browser: Browser
) -> None:
    first, second = _file(running_app, _road(OJI), _road(OJI))
    assert first.cluster_id == second.cluster_id
    admin = _admin(running_app, browser)
    cluster_page = f"/crew/clusters/{first.cluster_id}"
    token = admin.csrf_token(cluster_page)
    assert admin.post(
        f"{cluster_page}/status", data={"csrf_token": token, "status": "in_progress"}
    ).is_redirect
    assert f'action="/crew/reports/{second.report_id}/split"' in admin.get(cluster_page).text
    split = admin.post(f"/crew/reports/{second.report_id}/split", data={"csrf_token": token})
    assert split.status_code == 303
    new_id = int(split.headers["location"].rsplit("/", 1)[1])
    assert new_id != first.cluster_id
    status, ids, notes = _cluster(running_app, new_id)
    assert status == "in_progress" and ids == [second.report_id]
    assert notes == [f"split from #{first.cluster_id}"]
    assert _cluster(running_app, first.cluster_id)[1] == [first.report_id]
    assert "/split" not in admin.get(cluster_page).text
    only = admin.post(f"/crew/reports/{first.report_id}/split", data={"csrf_token": token})
    assert only.status_code == 400
