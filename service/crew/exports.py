"""Exports of the crew map's current view: `/crew/export.geojson` and `/crew/export.csv`.

Both take the map's query parameters (`MapFilters`) and hold one row per REPORT of the
cases the map shows: its report number (受付番号, what the resident was told) and its case
number (案件番号), category code and Japanese label, the case's status, when it was filed
(ISO 8601, Japan time), the address the resident's phone gave, the description, how many
photos, and WGS84 longitude/latitude. Residents' LINE user IDs are never selected.

CSV convention: UTF-8 with a BOM (Excel in Japan otherwise reads it as Shift_JIS), and a
header of Japanese names with the English/GeoJSON property name in parentheses, e.g.
`受付番号 (report_id)`. Text a resident wrote that starts like a formula gets a leading `'`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from service.crew import queries
from service.crew.deps import CrewRoute, CrewUser
from service.crew.map import MapFilters
from service.deps import AppSettings, Engine
from service.localtime import JST
from service.settings import ReportSettings
from service.vocabulary import Phrase, label, words
from service.vocabulary.pages import FIRST

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])

# (property name, column name), in column order.
_COLUMNS = (
    ("report_id", Phrase("export column", "Report No.")),
    ("case_id", Phrase("export column", "Case No.")),
    ("category", Phrase("export column", "Category code")),
    ("category_ja", Phrase("export column", "Category")),
    ("status", Phrase("export column", "Status")),
    ("created_at", Phrase("export column", "Reported at")),
    ("address", Phrase("export column", "Address")),
    ("description", Phrase("export column", "Description")),
    ("photo_count", Phrase("export column", "Photos")),
    ("lon", Phrase("export column", "Longitude")),
    ("lat", Phrase("export column", "Latitude")),
)
# A cell starting with one of these is a formula to spreadsheet programs; Excel in Japan
# also takes the full-width forms (an IME writes ＝ by default) for the ASCII ones.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


async def _rows(
    engine: Engine, filters: MapFilters, settings: ReportSettings
) -> list[dict[str, Any]]:
    """The exported reports, as property dicts in `_COLUMNS` order."""
    async with engine.connect() as conn:
        found = await queries.exported_reports(conn, filters.where())
    rows = []
    for row in found:
        category = settings.category(row.category)
        rows.append(
            {
                "report_id": row.id,
                "case_id": row.cluster_id,
                "category": row.category,
                "category_ja": label(category, FIRST) if category else row.category,
                "status": row.status,
                "created_at": row.created_at.astimezone(JST).isoformat(),
                "address": row.address,
                "description": row.description,
                "photo_count": int(row.photo_count),
                "lon": row.lon,
                "lat": row.lat,
            }
        )
    return rows


def _attachment(extension: str) -> dict[str, str]:
    day = datetime.now(JST).strftime("%Y%m%d")
    return {"Content-Disposition": f'attachment; filename="civic-reports-{day}.{extension}"'}


def _cell(value: Any) -> Any:
    """A CSV cell: residents' text that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@router.get("/export.geojson")
async def export_geojson(
    account: CrewUser,
    engine: Engine,
    settings: AppSettings,
    filters: Annotated[MapFilters, Depends()],
) -> Response:
    """The filtered reports as an RFC 7946 FeatureCollection (points, lon/lat)."""
    features = [
        {
            "type": "Feature",
            "id": row["report_id"],
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {k: v for k, v in row.items() if k not in ("lon", "lat")},
        }
        for row in await _rows(engine, filters, settings.reports)
    ]
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    return Response(body, media_type="application/geo+json", headers=_attachment("geojson"))


@router.get("/export.csv")
async def export_csv(
    account: CrewUser,
    engine: Engine,
    settings: AppSettings,
    filters: Annotated[MapFilters, Depends()],
) -> Response:
    """The filtered reports as CSV for Excel: BOM, Japanese header, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    page = words(FIRST)
    writer.writerow(f"{page.phrase(column)} ({name})" for name, column in _COLUMNS)
    for row in await _rows(engine, filters, settings.reports):
        writer.writerow(_cell(row[name]) for name, _ in _COLUMNS)
    body = "\ufeff" + out.getvalue()
    return Response(body, media_type="text/csv; charset=utf-8", headers=_attachment("csv"))
