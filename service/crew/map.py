"""The crew map (`/crew/map`): report clusters (cases) coloured by status over a base map,
filters, layers.

The page is a compact filter bar over an iframe holding the folium map (`/crew/map/frame`),
so the filters stay in the query string and the map document can carry its own CSP (folium
writes its set-up as inline script; its images may come from the base map's tile hosts and
nowhere else). The overlays that are off at first are served apart
(`/crew/map/layers/<name>`) and fetched when switched on. Every asset comes from this app
(`/assets`), and every link is made from the routes' names, so the map works under a reverse
proxy's path prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.clusters import OPEN_STATUSES, STATUSES
from service.crew import queries
from service.crew.basemaps import BaseMap, basemaps, tile_origins
from service.crew.deps import CrewRoute, CrewUser, LoggedIn
from service.crew.map_page import (
    LAZY_LAYERS,
    CategoryLook,
    EncodedClusters,
    MapLayers,
    MapLinks,
    build_crew_map,
    facilities_data,
    shelters_data,
    zones,
)
from service.crew.queries import ClusterFilter
from service.deps import AppSettings, Engine
from service.localtime import JST
from service.settings import Settings
from service.templating import path_for, path_template, render
from service.vocabulary import label, report_status_label, words
from service.vocabulary.pages import FIRST, Both, both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])

# The query parameter that carries the map's filter to a case page and back.
MAP_QUERY: Final = "map"


def map_csp(maps: Sequence[BaseMap]) -> str:
    """The map document's CSP: folium's set-up is inline script and style; images come from
    this app and the base maps' tile hosts, nothing else."""
    images = " ".join(["'self'", "data:", *tile_origins(list(maps))])
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        f"style-src 'self' 'unsafe-inline'; img-src {images}; frame-ancestors 'self'; "
        "form-action 'self'; base-uri 'none'"
    )


def _day(value: str, field: Both) -> tuple[date | None, Both | None]:
    """A date field of the filter: empty is no condition; anything else not a date is
    refused with a notice naming the field (and left out)."""
    if not value.strip():
        return None, None
    try:
        return date.fromisoformat(value.strip()), None
    except ValueError:
        return None, both(
            "“{value}” in “{field}” is not a date (write it as 2026-04-01): that condition "
            "was left out.",
            value=value,
            field=field,
        )


class MapFilters:
    """The filters of the map, as query parameters (so a view can be bookmarked and goes
    back and forth with a case). Any combination of empty and filled fields works: an empty
    field is no condition, and a field that is not understood is left out with a notice
    (`problems`). With nothing ticked the map shows the open cases; once the form has been
    used (`filtered`), no status ticked means every status."""

    def __init__(
        self,
        status: Annotated[list[str] | None, Query()] = None,
        category: Annotated[list[str] | None, Query()] = None,
        since: Annotated[str, Query(alias="from")] = "",
        until: Annotated[str, Query(alias="to")] = "",
        filtered: Annotated[str, Query()] = "",
    ) -> None:
        chosen = [s for s in status or () if s in STATUSES]
        self.statuses = chosen or (list(STATUSES) if filtered else list(OPEN_STATUSES))
        self.categories = [c for c in category or () if c] or None
        self.since_text, self.until_text = since, until
        self.since, since_problem = _day(since, both("From"))
        self.until, until_problem = _day(until, both("Until"))
        self.problems = [p for p in (since_problem, until_problem) if p is not None]
        if self.since and self.until and self.since > self.until:
            self.problems.append(both("The period starts after it ends: the dates were left out."))
            self.since = self.until = None

    def where(self) -> ClusterFilter:
        """The clusters these filters select (dates are whole days in Japan time)."""

        def start(day: date | None) -> datetime | None:
            return datetime.combine(day, time(), JST) if day else None

        return ClusterFilter(
            statuses=self.statuses,
            categories=self.categories,
            since=start(self.since),
            until=start(self.until + timedelta(days=1)) if self.until else None,
        )

    def status_summary(self) -> str:
        """The chosen statuses in a few words, for the filter bar."""
        if set(self.statuses) == set(STATUSES):
            return both("All").ja
        if len(self.statuses) <= 3:
            return "・".join(report_status_label(s, FIRST) for s in self.statuses)
        return words(FIRST).gettext("{n} kinds", n=len(self.statuses))

    def period_summary(self) -> str:
        """The chosen period in a few words, for the filter bar."""
        if not (self.since or self.until):
            return both("Any time").ja
        return f"{self.since or ''}〜{self.until or ''}"

    def category_summary(self, settings: Settings) -> str:
        """The chosen categories in a few words, for the filter bar."""
        if not self.categories:
            return both("All").ja
        chosen = [c for c in settings.reports.categories if c.code in self.categories]
        if len(chosen) <= 2:
            return "・".join(label(c, FIRST) for c in chosen) or both("All").ja
        return words(FIRST).gettext("{n} kinds", n=len(chosen))


@router.get("/map", response_class=HTMLResponse)
async def crew_map(
    request: Request,
    account: CrewUser,
    session: LoggedIn,
    settings: AppSettings,
    filters: Annotated[MapFilters, Depends()],
) -> HTMLResponse:
    """The map page: the filter bar and the map frame."""
    query = request.url.query
    return render(
        request,
        "map.html",
        {
            "account": account,
            "csrf_token": session.csrf_token,
            "statuses": STATUSES,
            "categories": settings.reports.categories,
            "filters": filters,
            "status_summary": filters.status_summary(),
            "category_summary": filters.category_summary(settings),
            "period_summary": filters.period_summary(),
            "problems": filters.problems,
            "query": query,
            "frame_url": path_for(request, "crew_map_frame") + (f"?{query}" if query else ""),
        },
    )


def category_looks(settings: Settings) -> dict[str, CategoryLook]:
    """Each configured category's label and marker symbol (its first character when the
    city gave none)."""
    looks = {}
    for category in settings.reports.categories:
        name = label(category, FIRST)
        looks[category.code] = CategoryLook(name, category.symbol or name[:1])
    return looks


def map_links(request: Request) -> MapLinks:
    """The app's own case pages (carrying the map's filter, for the way back) and
    thumbnails, as `request` reaches the app."""
    page_before, page_after = path_template(request, "cluster_page", "cluster_id")
    if request.url.query:
        page_after += "?" + urlencode({MAP_QUERY: request.url.query})
    return MapLinks(
        detail=(page_before, page_after),
        thumbnail=path_template(request, "cluster_thumbnail", "cluster_id"),
    )


def data_credits() -> dict[str, str]:
    """The credit of each layer's data on the crew's maps, by layer."""
    page = words(FIRST)
    return {
        "boundary": page.gettext(
            "Boundary: National Land Numerical Information (administrative areas), processed"
        ),
        "shelters": page.gettext("Shelters: GSI designated emergency evacuation site data"),
        "hazards": page.gettext(
            "Hazard zones: the Hazard Map Portal Site, MLIT PLATEAU, National Land "
            "Numerical Information (processed)"
        ),
        "facilities": page.gettext("Facilities: the city's open data"),
    }


async def map_layers(request: Request, conn: AsyncConnection) -> MapLayers:
    """The service area (on at first, in the page), the layers fetched when switched on
    (those with data), and the credit for each layer's data (shown while it is)."""
    present = await queries.layers_with_data(conn)
    lazy = {
        slug: path_for(request, "crew_map_layer", name=slug)
        for slug, _, _ in LAZY_LAYERS
        if slug in present
    }
    return MapLayers(
        boundary_geojson=await queries.service_area_geojson(conn),
        lazy=lazy,
        credits=data_credits(),
    )


@router.get("/map/frame", response_class=HTMLResponse)
async def crew_map_frame(
    request: Request,
    user: CrewUser,
    engine: Engine,
    settings: AppSettings,
    filters: Annotated[MapFilters, Depends()],
) -> HTMLResponse:
    """The folium map document of the filtered clusters."""
    async with engine.connect() as conn:
        clusters = await queries.encoded_clusters(conn, filters.where())
        layers = await map_layers(request, conn)
    return _map_document(request, settings, clusters, layers=layers, keep_view=True)


@router.get("/map/layers/{name}")
async def crew_map_layer(name: str, user: CrewUser, engine: Engine) -> JSONResponse:
    """The data of a layer that is off at first, when a crew member switches it on."""
    async with engine.connect() as conn:
        if name == "shelters":
            data: Any = shelters_data(await queries.shelter_points(conn))
        elif name == "facilities":
            data = facilities_data(await queries.facility_points(conn))
        elif name == "hazards":
            data = zones(await queries.hazard_zones_geojson(conn), hazards=True)
        else:
            raise HTTPException(404, "no such layer")
    return JSONResponse(data)


@router.get("/clusters/{cluster_id}/map", response_class=HTMLResponse)
async def cluster_map_frame(
    request: Request, cluster_id: int, user: CrewUser, engine: Engine, settings: AppSettings
) -> HTMLResponse:
    """A small map of one case on the base map, for its page (whatever its status)."""
    where = ClusterFilter(statuses=STATUSES, cluster=cluster_id)
    async with engine.connect() as conn:
        clusters = await queries.encoded_clusters(conn, where)
    if not clusters.count:
        raise HTTPException(404, "no such report cluster")
    x, y = clusters.origin
    return _map_document(request, settings, clusters, centre=(x / 100_000, y / 100_000))


def _map_document(
    request: Request, settings: Settings, clusters: EncodedClusters, **options: Any
) -> HTMLResponse:
    """A map document over the configured base maps, with its CSP; `options` go to
    `build_crew_map`. It is shown inside an iframe of a crew page: same-origin framing only."""
    maps = basemaps(settings.maps)
    page = build_crew_map(
        clusters,
        asset_base=path_for(request, "assets", path=""),
        categories=category_looks(settings),
        links=map_links(request),
        basemaps=maps,
        **options,
    )
    headers = {"Content-Security-Policy": map_csp(maps), "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(page, headers=headers)
