"""Crew map benchmark: the map frame for 100,000 open reports, served from PostGIS.

The worst case: 100,000 SYNTHETIC open reports (bench.clusters.insert_reports: random
points in Kita-ku's bounding box, 7 categories, 30% of them near-duplicates), each in a case
of its own, so the page carries 100,000 markers; plus the shipped Kita-ku layers. What is
timed is what `/crew/map/frame` does for the unfiltered view: PostGIS encodes the clusters
(`queries.encoded_clusters`), the service area and which fetched layers have data are read,
and the folium page is built (`build_crew_map`, GSI base maps named in it).

Figures are medians of 5 runs, and ratios against a floor measured in the same run (the
machine is shared and noisy): fetching the same clusters' columns (id, lon, lat, category,
status, count, first and last times, photo) as rows through the driver, which any page
carrying this data costs at least. Targets: under 1 s and 3 MB.
"""

from __future__ import annotations

import asyncio
import gzip
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.clusters import insert_reports
from bench.database import throwaway_database
from service.crew import queries as crew_queries
from service.crew.basemaps import basemaps
from service.crew.map_page import CategoryLook, MapLayers, MapLinks, build_crew_map
from service.settings import MapSettings, Settings

RUNS = 5
TARGET_MB = 3.0
TARGET_MS = 1000.0
ASSET_BASE = "/assets"
# The links the app makes (from its routes) for an app served at the root.
LINKS = MapLinks(detail=("/crew/clusters/", ""), thumbnail=("/crew/clusters/", "/thumbnail"))
LAYER_URL = "/crew/map/layers/"

_FLOOR = text("""
    SELECT c.id, ST_X(c.geom), ST_Y(c.geom), c.category, c.status, c.report_count,
           coalesce(c.first_report_at, c.created_at), coalesce(c.last_report_at, c.created_at),
           c.has_photo
    FROM report_clusters c
    WHERE c.report_count > 0 AND c.status = ANY(CAST(:statuses AS text[]))
    ORDER BY c.id
""")


async def _timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Median milliseconds of `runs` runs, and the last result."""
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = await work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


async def _figures(engine: AsyncEngine) -> tuple[float, float, str, int]:
    settings = Settings.from_env()
    looks = {
        c.code: CategoryLook(c.label_ja, c.symbol or c.label_ja[:1])
        for c in settings.reports.categories
    }
    maps = basemaps(MapSettings())
    where = crew_queries.ClusterFilter(statuses=["received", "accepted", "in_progress"])

    async def floor() -> int:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            async with driver.cursor() as cursor:
                await cursor.execute(
                    str(_FLOOR.compile(dialect=conn.dialect)), {"statuses": where.statuses}
                )
                return len(await cursor.fetchall())

    async def served() -> tuple[str, int]:
        async with engine.connect() as conn:
            clusters = await crew_queries.encoded_clusters(conn, where)
            present = await crew_queries.layers_with_data(conn)
            boundary = await crew_queries.service_area_geojson(conn)
        layers = MapLayers(
            boundary_geojson=boundary,
            lazy={slug: LAYER_URL + slug for slug in present},
            credits={"boundary": "出典"},
        )
        page = build_crew_map(
            clusters,
            asset_base=ASSET_BASE,
            categories=looks,
            links=LINKS,
            basemaps=maps,
            layers=layers,
            keep_view=True,
        )
        return page, clusters.count

    await served()  # warm the caches and the imports
    floor_ms, _ = await _timed(RUNS, floor)
    served_ms, (page, count) = await _timed(RUNS, served)
    return floor_ms, served_ms, page, count


def served(n_reports: int = 100_000) -> list[str]:
    """The map frame as the app serves it, from PostGIS holding `n_reports` synthetic open
    reports (each its own case: the worst case) and the shipped layers."""
    with throwaway_database(with_bundled_data=True) as (url, _):
        engine = create_engine(url)
        with engine.begin() as conn:
            insert_reports(conn, n_reports)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        engine.dispose()

        async def measure() -> tuple[float, float, str, int]:
            async_engine = create_async_engine(url)
            try:
                return await _figures(async_engine)
            finally:
                await async_engine.dispose()

        floor_ms, served_ms, page, count = asyncio.run(measure())
    mb = len(page.encode()) / 1_000_000
    gzip_mb = len(gzip.compress(page.encode(), 6)) / 1_000_000
    verdict = "met" if mb <= TARGET_MB and served_ms <= TARGET_MS else "MISSED"
    return [
        f"{n_reports:,} synthetic open reports in {count:,} cases; floor: fetching the same "
        f"cases' columns as rows, median {floor_ms:.0f} ms",
        f"  map frame from PostGIS (encode + layers + build), median of {RUNS}: "
        f"{served_ms:.0f} ms, {served_ms / floor_ms:.2f}x floor; {mb:.2f} MB "
        f"({gzip_mb:.2f} MB gzipped); targets under {TARGET_MS:.0f} ms and {TARGET_MB:.0f} MB: "
        f"{verdict}",
    ]
