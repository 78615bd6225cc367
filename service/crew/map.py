"""The crew map (`/crew/map`): report clusters coloured by status, filters, layers.

The page is a small filter form around an iframe holding the folium map (`/crew/map/frame`),
so the filters stay in the query string and the map document can carry its own CSP (folium
writes its set-up as inline script). Every asset comes from this app (`/assets`), and every
link is made from the routes' names, so the map works under a reverse proxy's path prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.clusters import OPEN_STATUSES, STATUSES
from service.crew import queries
from service.crew.deps import CrewRoute, CrewUser, LoggedIn
from service.crew.map_page import MapCluster, MapLayers, build_crew_map
from service.crew.queries import ClusterFilter
from service.deps import AppSettings, Engine
from service.localtime import JST
from service.settings import Settings
from service.templating import path_for, path_maker, render
from service.vocabulary import label, words
from service.vocabulary.pages import FIRST

# The map document only: folium's set-up is inline script and style.
MAP_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'self'; form-action 'self'"
)

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])


class MapFilters:
    """The filters of the map, as query parameters (so a view can be bookmarked)."""

    def __init__(
        self,
        status: Annotated[list[str] | None, Query()] = None,
        category: Annotated[list[str] | None, Query()] = None,
        since: Annotated[date | None, Query(alias="from")] = None,
        until: Annotated[date | None, Query(alias="to")] = None,
    ) -> None:
        self.statuses = [s for s in status or OPEN_STATUSES if s in STATUSES]
        self.categories = category or None
        self.since = since
        self.until = until

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


async def map_layers(conn: AsyncConnection) -> MapLayers:
    """Shelters, facilities, hazard zones and the service area, as switchable layers."""
    return MapLayers(
        shelters=await queries.shelter_points(conn),
        facilities=await queries.facility_points(conn),
        hazards_geojson=await queries.hazard_zones_geojson(conn),
        boundary_geojson=await queries.service_area_geojson(conn),
        attribution=words(FIRST).gettext(
            "Sources: GSI designated emergency evacuation site data, MLIT PLATEAU, the Hazard "
            "Map Portal Site, National Land Numerical Information (processed)"
        ),
    )


@router.get("/map", response_class=HTMLResponse)
async def crew_map(
    request: Request,
    account: CrewUser,
    session: LoggedIn,
    settings: AppSettings,
    filters: Annotated[MapFilters, Depends()],
) -> HTMLResponse:
    """The map page: the filter form and the map frame."""
    categories = settings.reports.categories
    return render(
        request,
        "map.html",
        {
            "account": account,
            "csrf_token": session.csrf_token,
            "statuses": STATUSES,
            "categories": categories,
            "filters": filters,
            "frame_url": path_for(request, "crew_map_frame") + "?" + request.url.query,
        },
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
        rows = await queries.shown_clusters(conn, filters.where())
        layers = await map_layers(conn)
    clusters = map_clusters(rows, settings, ClusterLinks.of(request))
    return _framed(build_crew_map(clusters, asset_base=_asset_base(request), layers=layers))


@router.get("/clusters/{cluster_id}/map", response_class=HTMLResponse)
async def cluster_map_frame(
    request: Request, cluster_id: int, user: CrewUser, engine: Engine, settings: AppSettings
) -> HTMLResponse:
    """A small map of one cluster, for its page (shown whatever its status)."""
    where = ClusterFilter(statuses=STATUSES, cluster=cluster_id)
    async with engine.connect() as conn:
        rows = await queries.shown_clusters(conn, where)
    if not rows:
        raise HTTPException(404, "no such report cluster")
    (cluster,) = map_clusters(rows, settings, ClusterLinks.of(request))
    centre = (cluster.lon, cluster.lat)
    return _framed(build_crew_map([cluster], asset_base=_asset_base(request), centre=centre))


def _asset_base(request: Request) -> str:
    return path_for(request, "assets", path="")


@dataclass(frozen=True)
class ClusterLinks:
    """Where the map's popups link, by cluster id: the cluster's page and its thumbnail."""

    page: Callable[[int], str]
    thumbnail: Callable[[int], str]

    @classmethod
    def of(cls, request: Request) -> ClusterLinks:
        """The app's own cluster pages and thumbnails, as `request` reaches the app."""
        return cls(
            page=path_maker(request, "cluster_page", "cluster_id"),
            thumbnail=path_maker(request, "cluster_thumbnail", "cluster_id"),
        )


def map_clusters(
    rows: Sequence[Sequence[Any]], settings: Settings, links: ClusterLinks
) -> list[MapCluster]:
    """Rows of `queries.shown_clusters` as the map builder takes them."""
    labels = {c.code: label(c, FIRST) for c in settings.reports.categories}
    # Positional unpacking: attribute access on 100,000 rows costs most of a second.
    return [
        MapCluster(
            id=cluster_id,
            lon=lon,
            lat=lat,
            category=labels.get(category, category),
            status=status,
            report_count=count,
            first_at=first_at,
            last_at=last_at,
            thumbnail_url=links.thumbnail(cluster_id) if photo else None,
            detail_url=links.page(cluster_id),
        )
        for cluster_id, category, status, count, lon, lat, first_at, last_at, photo in rows
    ]


def _framed(page: str) -> HTMLResponse:
    # Shown inside an iframe of a crew page: same-origin framing only.
    headers = {"Content-Security-Policy": MAP_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return HTMLResponse(page, headers=headers)
