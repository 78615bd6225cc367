"""The public shelter status, for residents without LINE and for other systems: a read-only
page (`/shelters`, phones first, no JavaScript) and GeoJSON (`/shelters.geojson`).

No login: it shows only what the municipality publishes (sites, status, notes, update
times), never who changed a status. Caches may keep it for a few seconds only, since a
status can change at any moment in a disaster.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gis import shelter_status
from gis.hazards import ShelterHazard
from gis.shelter_status import ShelterStatus, SiteStatus
from service.deps import Engine
from service.localtime import JST, when
from service.templating import render

router = APIRouter(tags=["public"])

MAX_AGE_SECONDS = 30
_HEADERS = {
    "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
    "X-Content-Type-Options": "nosniff",
}
# The page's own small stylesheet is inline; nothing else may load or run.
_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# Open, then full, then closed, then sites without a status.
_ORDER = {ShelterStatus.OPEN: 0, ShelterStatus.FULL: 1, ShelterStatus.CLOSED: 2, None: 3}


def _map_url(site: SiteStatus) -> str:
    query = urlencode({"api": "1", "query": f"{site.lat:.6f},{site.lon:.6f}"})
    return f"https://www.google.com/maps/search/?{query}"


def _rank(site: SiteStatus, active: ShelterHazard | None) -> tuple[int, bool]:
    return _ORDER[site.status], active not in site.hazards


@router.get("/shelters", response_class=HTMLResponse)
async def shelters_page(request: Request, engine: Engine) -> HTMLResponse:
    """Every site with its status and last update; open sites (those designated for the
    declared hazard first), then full, closed, and sites without a status."""
    async with engine.connect() as conn:
        declared = await shelter_status.active_hazard(conn)
        sites = await shelter_status.current_statuses(conn)
    active = declared.hazard if declared else None
    listed: list[dict[str, Any]] = [
        {
            "name": site.name,
            "address": site.address,
            "hazards": [h for h in ShelterHazard if h in site.hazards],
            "status": site.status,
            "note": site.note,
            "updated": when(site.updated_at),
            "map_url": _map_url(site),
        }
        for site in sorted(sites, key=lambda site: _rank(site, active))
    ]
    counts = {status.value: 0 for status in ShelterStatus}
    for site in sites:
        if site.status:
            counts[site.status.value] += 1
    return render(
        request,
        "shelters_public.html",
        {
            "declared": active,
            "statuses": list(ShelterStatus),
            "declared_at": when(declared.declared_at) if declared else "",
            "sites": listed,
            "counts": counts,
            "any_status": any(counts.values()),
        },
        headers={**_HEADERS, "Content-Security-Policy": _PAGE_CSP},
    )


def _feature(site: SiteStatus) -> dict[str, Any]:
    updated = (
        site.updated_at.astimezone(JST).isoformat(timespec="seconds") if site.updated_at else None
    )
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
        "properties": {
            "common_id": site.common_id,
            "name": site.name,
            "address": site.address,
            "hazards": [h.value for h in ShelterHazard if h in site.hazards],
            "status": site.status.value if site.status else None,
            "note": site.note,
            "updated_at": updated,
        },
    }


@router.get("/shelters.geojson")
async def shelters_geojson(engine: Engine) -> Response:
    """Every site as a GeoJSON Point (EPSG:4326) with its status; `active_hazard` (a foreign
    member) is the declared hazard or null."""
    async with engine.connect() as conn:
        declared = await shelter_status.active_hazard(conn)
        sites = await shelter_status.current_statuses(conn)
    body = {
        "type": "FeatureCollection",
        "active_hazard": declared.hazard.value if declared else None,
        "features": [_feature(site) for site in sites],
    }
    # Open data: any site may read it from a browser.
    headers = {**_HEADERS, "Access-Control-Allow-Origin": "*"}
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/geo+json",
        headers=headers,
    )
