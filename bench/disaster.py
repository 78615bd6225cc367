"""Disaster-ops benchmark: area alerts, nearest facilities, shelter status, Open311 listing.

Runs against a private PostGIS with the shipped Kita-ku data (shelters, hazard layers,
service area) plus SYNTHETIC rows, all made here with set-based SQL from a fixed seed:

- 100,000 registered residents at random points in Kita-ku's bounding box, each with a
  random subset of the alert topics, a few per cent no longer following the account (the
  hazard layers of their spots worked out as loading the layers does);
- 50,000 facilities of every category at random points in the same box;
- 100,000 open reports (bench.clusters.insert_reports), one a minute from 2026-01-01.

Figures are medians, and ratios against a floor measured in the same run (the machine is
shared and noisy): a plain count of the residents for the alerts, `SELECT 1` on the same
connection for the per-query figures, a plain newest-first id listing for Open311.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.datastructures import QueryParams

from bench.clusters import BBOX, insert_reports
from bench.database import throwaway_database
from gis import nearby, shelter_status
from gis.facilities import FacilityCategory
from gis.hazards import ShelterHazard
from gis.shelter_status import ShelterStatus
from gis.tables import hazard_layers
from service import alerts, resident_layers
from service.line.handlers import location_answer
from service.localtime import JST
from service.open311 import filters as open311_filters
from service.open311 import queries as open311_queries
from service.settings import AlertSettings, AnswerSettings, Settings

RESIDENTS = 100_000
NOT_FOLLOWING = 0.03
FACILITIES = 50_000
REPORTS = 100_000
RUNS = 5
FACILITY_QUERIES = 200
ANSWER_POINTS = 20
# A circle around Ōji station, the ward office's neighbourhood.
CIRCLE = (35.7528, 139.7336, 500.0)
FLOOD_LAYER = "flood_max_all_rivers"
TOPIC = "disaster"
# insert_reports dates its reports from here, one a minute: 100,000 of them span 70 days.
REPORTS_FROM = "2026-01-01"
ACTOR = "bench"

_SEED = text("SELECT setseed(0.42)")

_LINE_USERS = text("""
    INSERT INTO line_users (user_id, language, following)
    SELECT 'U' || md5(g::text), CASE WHEN g % 10 = 0 THEN 'en' ELSE 'ja' END,
           random() >= :not_following
    FROM generate_series(1, :n) AS g
""")

# MATERIALIZED so that each resident draws one topic mask; bit i picks topic i.
_RESIDENT_AREAS = text("""
    WITH r AS MATERIALIZED (
        SELECT g, floor(random() * 2 ^ cardinality(CAST(:topics AS text[])))::integer AS mask,
               :x0 + random() * (:x1 - :x0) AS lon, :y0 + random() * (:y1 - :y0) AS lat
        FROM generate_series(1, :n) AS g
    )
    INSERT INTO resident_areas (user_id, geom, topics, consent_version)
    SELECT 'U' || md5(r.g::text), ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326),
           ARRAY(SELECT t FROM unnest(CAST(:topics AS text[])) WITH ORDINALITY AS u(t, i)
                 WHERE r.mask & (1 << (i::integer - 1)) <> 0 ORDER BY i),
           'synthetic'
    FROM r
""")

_FACILITIES = text("""
    WITH f AS (
        SELECT g, (CAST(:categories AS text[]))[1 + g % cardinality(CAST(:categories AS text[]))]
                  AS category
        FROM generate_series(1, :n) AS g
    )
    INSERT INTO facilities (city_code, dataset, source_id, category, name, source_file, geom)
    SELECT 'synthetic',
           CASE f.category WHEN 'aed' THEN 'aed'
                           WHEN 'hospital' THEN 'medical' WHEN 'clinic' THEN 'medical'
                           ELSE 'public_facility' END,
           f.g::text, f.category, 'synthetic ' || f.category || ' ' || f.g, 'synthetic',
           ST_SetSRID(ST_MakePoint(:x0 + random() * (:x1 - :x0),
                                   :y0 + random() * (:y1 - :y0)), 4326)
    FROM f
""")

# Points inside the ward itself (not its bounding box), the same ones every run.
_WARD_POINTS = text("""
    SELECT ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
    FROM service_area a, ST_Dump(ST_GeneratePoints(a.geom, :n, :seed)) AS d
    ORDER BY d.path
""")

_COUNT_RESIDENTS = text("SELECT count(*) FROM resident_areas")
_SELECT_1 = text("SELECT 1")
_NEWEST_IDS = text("SELECT id FROM reports ORDER BY id DESC LIMIT :limit")

Point = tuple[float, float]


def _box() -> dict[str, float]:
    return {"x0": BBOX[0], "y0": BBOX[1], "x1": BBOX[2], "y1": BBOX[3]}


def _seed(conn: Connection, topics: list[str]) -> None:
    """The synthetic residents and facilities (reports are added later, by insert_reports)."""
    conn.execute(_SEED)
    conn.execute(_LINE_USERS, {"n": RESIDENTS, "not_following": NOT_FOLLOWING})
    conn.execute(_RESIDENT_AREAS, {"n": RESIDENTS, "topics": topics, **_box()})
    # The hazard layers of each spot, worked out as loading a layer does.
    for layer_id in conn.scalars(select(hazard_layers.c.id)).all():
        resident_layers.refresh_layer(conn, layer_id)
    categories = [str(c) for c in FacilityCategory]
    conn.execute(_FACILITIES, {"n": FACILITIES, "categories": categories, **_box()})
    insert_reports(conn, REPORTS)


async def _timed(call: Callable[[], Awaitable[object]], runs: int = RUNS) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def _timed_points(
    points: list[Point], call: Callable[[float, float], Awaitable[object]]
) -> list[float]:
    samples = []
    for lon, lat in points:
        start = time.perf_counter()
        await call(lon, lat)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _row(name: str, samples: list[float], floor: float, note: str = "") -> str:
    median = statistics.median(samples)
    spread = (
        f"  p95 {statistics.quantiles(samples, n=20)[-1]:8.2f} ms" if len(samples) >= 20 else ""
    )
    line = f"  {name:<44} median {median:8.2f} ms{spread}  {median / floor:7.1f}x floor"
    return f"{line}  ({note})" if note else line


async def _ward_points(conn: AsyncConnection, n: int, seed: int) -> list[Point]:
    return [(row.lon, row.lat) for row in await conn.execute(_WARD_POINTS, {"n": n, "seed": seed})]


async def _alert_figures(engine: AsyncEngine) -> list[str]:
    settings = AlertSettings()
    async with engine.connect() as conn:
        names = await alerts.hazard_layer_names(conn)
        landslide = next(name for name in names if name.startswith("landslide_"))
        lat, lon, metres = CIRCLE
        areas = {
            f"circle {metres:g} m": await alerts.area_from_circle(conn, lat, lon, metres),
            f"layer {FLOOD_LAYER}": await alerts.area_from_hazard_layer(conn, FLOOD_LAYER),
            f"layer {landslide}": await alerts.area_from_hazard_layer(conn, landslide),
        }
        await conn.scalar(_COUNT_RESIDENTS)  # warm the caches
        floor = statistics.median(await _timed(lambda: conn.scalar(_COUNT_RESIDENTS)))
        lines = [
            f"{RESIDENTS} synthetic residents, {NOT_FOLLOWING:.0%} not following, "
            f"random subsets of {len(settings.topics)} topics; topic {TOPIC!r}",
            f"floor (count(*) of resident_areas): median {floor:.2f} ms",
        ]
        flood_layer = areas[f"layer {FLOOD_LAYER}"]
        for label, area in areas.items():
            reach = await alerts.preview(conn, settings, area, TOPIC)
            samples = await _timed(partial(alerts.preview, conn, settings, area, TOPIC))
            lines.append(_row(f"preview, {label}", samples, floor, reach.summary()))
        layer_ms = await _timed(lambda: alerts.area_from_hazard_layer(conn, FLOOD_LAYER))
        lines.append(_row("resolve the flood layer (its stored union)", layer_ms, floor))

        async def whole_layer() -> alerts.Reach:
            # What the crew page and `civic alert --hazard-layer` do for a preview.
            area = await alerts.area_from_hazard_layer(conn, FLOOD_LAYER)
            return await alerts.preview(conn, settings, area, TOPIC)

        reach = await whole_layer()
        samples = await _timed(whole_layer, RUNS * 2)
        lines.append(_row("preview the flood layer by name", samples, floor, reach.summary()))

        async def queue() -> alerts.Queued:
            # Rolled back so that every run queues into the same, empty outbox.
            queued = await alerts.queue_alert(
                conn, settings, flood_layer, TOPIC, "bench", created_by=ACTOR
            )
            await conn.rollback()
            return queued

        queued = await queue()
        samples = await _timed(queue)
        lines.append(
            _row(
                "queue the flood-layer alert (rolled back)", samples, floor, queued.reach.summary()
            )
        )
    return lines


async def _facility_figures(engine: AsyncEngine, limit: int) -> list[str]:
    categories = list(FacilityCategory)
    async with engine.connect() as conn:
        points = await _ward_points(conn, FACILITY_QUERIES, 11)
        turn = itertools.cycle(categories)

        async def nearest(lon: float, lat: float) -> object:
            return await nearby.nearest_facilities(conn, lon, lat, next(turn), limit)

        await _timed_points(points[:20], nearest)  # warm the caches
        floor_ms = await _timed_points(points, lambda lon, lat: conn.execute(_SELECT_1))
        nearest_ms = await _timed_points(points, nearest)
    floor = statistics.median(floor_ms)
    return [
        f"{FACILITIES} synthetic facilities in {len(categories)} categories; "
        f"{FACILITY_QUERIES} points in the ward, categories in turn",
        f"floor (SELECT 1): median {floor:.3f} ms",
        _row(f"nearest {limit} of a category", nearest_ms, floor),
    ]


async def _mark_every_site(engine: AsyncEngine) -> int:
    """Every active site open, full or closed in turn, and the flood hazard declared."""
    async with engine.begin() as conn:
        ids = [site.common_id for site in await shelter_status.current_statuses(conn)]
        statuses = list(ShelterStatus)
        for number, status in enumerate(statuses):
            await shelter_status.set_status(conn, ids[number :: len(statuses)], status, actor=ACTOR)
        await shelter_status.declare_hazard(conn, ShelterHazard.FLOOD, actor=ACTOR)
    return len(ids)


async def _answer_figures(engine: AsyncEngine) -> list[str]:
    settings = AnswerSettings()

    async def answer(lon: float, lat: float) -> object:
        return await location_answer(engine, settings, lon, lat)

    async with engine.connect() as conn:
        points = await _ward_points(conn, ANSWER_POINTS, 5)
    await _timed_points(points, answer)  # warm the caches and the pool
    async with engine.connect() as conn:
        floor_before = await _timed_points(points, lambda lon, lat: conn.execute(_SELECT_1))
    plain_ms = await _timed_points(points, answer)
    sites = await _mark_every_site(engine)
    await _timed_points(points[:5], answer)
    async with engine.connect() as conn:
        floor_after = await _timed_points(points, lambda lon, lat: conn.execute(_SELECT_1))
    status_ms = await _timed_points(points, answer)
    floor = statistics.median(floor_before + floor_after)
    return [
        f"{ANSWER_POINTS} points in the ward, {sites} sites",
        f"floor (SELECT 1): median {floor:.3f} ms",
        _row("location answer, no status set", plain_ms, floor),
        _row("location answer, every site marked, flood", status_ms, floor),
    ]


async def _open311_figures(engine: AsyncEngine) -> list[str]:
    settings = Settings.from_env()
    window = QueryParams({"start_date": REPORTS_FROM})
    where = open311_filters.parse_filter(window, settings, datetime.now(JST))
    limit = {"limit": where.limit}
    async with engine.connect() as conn:
        await conn.execute(_NEWEST_IDS, limit)  # warm the caches
        floor = statistics.median(await _timed(lambda: conn.execute(_NEWEST_IDS, limit), RUNS * 2))
        found = len(await open311_queries.find_requests(conn, where))
        listing_ms = await _timed(lambda: open311_queries.find_requests(conn, where))
    return [
        f"{REPORTS} synthetic reports; window {REPORTS_FROM} + {settings.open311.max_days} days, "
        f"limit {where.limit}",
        f"floor (SELECT id … ORDER BY id DESC LIMIT {where.limit}): median {floor:.2f} ms",
        _row("GET requests, window only (no other filter)", listing_ms, floor, f"{found} requests"),
    ]


async def _figures(url: str) -> list[str]:
    engine = create_async_engine(url)
    answer = AnswerSettings()
    lines = ["Area alerts"]
    lines += await _alert_figures(engine)
    lines += ["Nearest facilities"]
    lines += await _facility_figures(engine, answer.nearest_facilities)
    lines += ["Location answer and shelter status (shipped sites)"]
    lines += await _answer_figures(engine)
    lines += ["Open311 GET requests"]
    lines += await _open311_figures(engine)
    await engine.dispose()
    return lines


def run() -> list[str]:
    """Run the benchmark on a throwaway cluster; returns the report lines."""
    with throwaway_database(with_bundled_data=True) as (url, _):
        engine = create_engine(url)
        with engine.begin() as conn:
            _seed(conn, [topic.code for topic in AlertSettings().topics])
        with engine.connect() as conn:
            # VACUUM too: working out the residents' layers rewrote a third of their rows, and
            # the dead ones would slow the floor's count(*).
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        engine.dispose()
        return asyncio.run(_figures(url))
