"""The public shelter status, for residents without LINE and for other systems: a read-only
page (`/shelters`, phones first, no JavaScript) and GeoJSON (`/shelters.geojson`).

The page finds a resident's shelters without a script: a town index (`?town=王子` lists that
town's sites and links the towns nearest it), an open-only view (`?open=1`), and, for the
resident's own location, the LINE account (`LINE_FRIEND_URL`; the sandbox chat in sandbox
mode), where a location message is answered with the nearest suitable sites.

No login: it shows only what the municipality publishes (sites, status, notes, update
times), never who changed a status. Caches may keep it for a few seconds only, since a
status can change at any moment in a disaster.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gis import shelter_status
from gis.hazards import ShelterHazard
from gis.shelter_status import ShelterStatus, SiteStatus
from service.deps import AppSettings, Engine
from service.localtime import JST, when
from service.settings import Settings
from service.shelter_index import index_sites
from service.templating import path_for, render

router = APIRouter(tags=["public"])

MAX_AGE_SECONDS = 30
_HEADERS = {
    "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}",
    "X-Content-Type-Options": "nosniff",
}
# The pages' stylesheets, from this app; nothing else may load or run.
_PAGE_CSP = (
    "default-src 'none'; style-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
# Open, then full, then closed, then sites without a status.
_ORDER = {ShelterStatus.OPEN: 0, ShelterStatus.FULL: 1, ShelterStatus.CLOSED: 2, None: 3}


def _map_url(site: SiteStatus) -> str:
    query = urlencode({"api": "1", "query": f"{site.lat:.6f},{site.lon:.6f}"})
    return f"https://www.google.com/maps/search/?{query}"


def _rank(site: SiteStatus, active: ShelterHazard | None) -> tuple[int, bool]:
    return _ORDER[site.status], active not in site.hazards


def _line_url(request: Request, settings: Settings) -> str | None:
    """Where a resident sends a location: the LINE account, or the sandbox's chat."""
    if settings.line.friend_url:
        return settings.line.friend_url
    return path_for(request, "sandbox_page") if settings.line.sandbox else None


@router.get("/shelters", response_class=HTMLResponse)
async def shelters_page(
    request: Request,
    engine: Engine,
    settings: AppSettings,
    town: str = "",
    open_only: Annotated[str, Query(alias="open")] = "",
) -> HTMLResponse:
    """The sites with their status and last update: open sites (those designated for the
    declared hazard first), then full, closed, and sites without a status; those of one town
    (`town`) or only the open ones (`open=1`) when asked."""
    async with engine.connect() as conn:
        declared = await shelter_status.active_hazard(conn)
        sites = await shelter_status.current_statuses(conn)
    active = declared.hazard if declared else None
    ranked = sorted(sites, key=lambda site: _rank(site, active))
    index = index_sites(ranked, town=town, open_only=open_only == "1")
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
        for site in index.sites
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
            "index": index,
            "counts": counts,
            "any_status": any(counts.values()),
            "line_url": _line_url(request, settings),
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
