"""Crew map benchmark: building the folium page for 100k reports, ours against the naive way.

No database: SYNTHETIC clusters are generated in Python, about 0.6 per report (60k for 100k
reports), at random points in Kita-ku's bounding box, 7 categories, all six statuses, and
the reports spread skewed (older clusters gather more: 57% hold one report, the largest
about 170), filing times over a year, a thumbnail for 70% of them. URLs are the id-shaped
paths a crew route would serve ("/crew/clusters/<id>", ".../thumbnail"); one more build
uses per-photo, content-addressed thumbnail URLs instead, which no id template shortens.

Figures are medians of 5 builds, and ratios against a floor measured in the same run (the
machine is shared and noisy): `json.dumps` of the same clusters as plain lists, which is
what any page carrying the data costs at least. The naive build (one folium.Marker with a
Popup per cluster inside plugins.MarkerCluster) is timed once on 10,000 clusters, and once
on the full set when that is expected to finish within a minute; otherwise its full-set
figures are extrapolated linearly, and say so.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from hashlib import sha256

import folium
from folium import plugins
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.clusters import insert_reports
from bench.database import throwaway_database
from service.crew import map as crew_map
from service.crew import queries as crew_queries
from service.crew.map_page import DEFAULT_STATUS_COLOURS, MapCluster, build_crew_map, offline_assets
from service.settings import Settings

BBOX = (139.69, 35.73, 139.77, 35.80)
CATEGORIES = (
    "道路の穴・段差",
    "街路灯",
    "カーブミラー・標識",
    "公園の遊具・設備",
    "落書き",
    "不法投棄",
    "その他",
)
STATUS_WEIGHTS = {
    "received": 35,
    "accepted": 20,
    "in_progress": 15,
    "resolved": 20,
    "rejected": 5,
    "duplicate": 5,
}
CLUSTERS_PER_REPORT = 0.6
THUMBNAIL_SHARE = 0.7
RUNS = 5
NAIVE_SAMPLE = 10_000
NAIVE_FULL_LIMIT_S = 60.0
TARGET_MB = 3.0
TARGET_MS = 1000.0
ASSET_BASE = "/crew/static"
# The cluster links the app makes (from its routes) for an app served at the root.
LINKS = crew_map.ClusterLinks(
    page=lambda cluster_id: f"/crew/clusters/{cluster_id}",
    thumbnail=lambda cluster_id: f"/crew/clusters/{cluster_id}/thumbnail",
)
JST = timezone(timedelta(hours=9))


def synthetic_clusters(n_reports: int, seed: int = 11) -> list[MapCluster]:
    """About 0.6 clusters per report in Kita-ku's bounding box (see the module docstring)."""
    rng = random.Random(seed)
    n = max(1, round(n_reports * CLUSTERS_PER_REPORT))
    counts = [1] * n
    for _ in range(n_reports - n):
        # Squaring skews the pick towards the older (lower) ids: they had longer to gather.
        counts[int(n * rng.random() ** 2)] += 1
    start = datetime(2025, 4, 1, 8, 30, tzinfo=JST)
    step = timedelta(days=365) / n
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=n)
    clusters = []
    for index in range(n):
        cluster_id = index + 1
        first = start + step * index + timedelta(minutes=rng.randrange(60))
        last = (
            first + timedelta(minutes=rng.randrange(1, 60 * 24 * 30))
            if counts[index] > 1
            else first
        )
        clusters.append(
            MapCluster(
                id=cluster_id,
                lon=rng.uniform(BBOX[0], BBOX[2]),
                lat=rng.uniform(BBOX[1], BBOX[3]),
                category=CATEGORIES[cluster_id % len(CATEGORIES)],
                status=statuses[index],
                report_count=counts[index],
                first_at=first,
                last_at=last,
                thumbnail_url=(
                    f"/crew/clusters/{cluster_id}/thumbnail"
                    if rng.random() < THUMBNAIL_SHARE
                    else None
                ),
                detail_url=f"/crew/clusters/{cluster_id}",
            )
        )
    return clusters


def plain_rows(clusters: Sequence[MapCluster]) -> list[list[object]]:
    """The clusters as plain lists (times as epoch seconds): what the floor serialises."""
    return [
        [
            c.id,
            c.lon,
            c.lat,
            c.category,
            c.status,
            c.report_count,
            c.first_at.timestamp(),
            c.last_at.timestamp(),
            c.thumbnail_url,
            c.detail_url,
        ]
        for c in clusters
    ]


def naive_map(clusters: Sequence[MapCluster]) -> str:
    """The folium tutorial way: a Marker (DivIcon badge) with a Popup per cluster inside a
    MarkerCluster, on the same local assets."""
    assets = offline_assets(f"{ASSET_BASE}/vendor")
    page = assets.apply(folium.Map(location=[35.765, 139.73], tiles=None, zoom_start=14))
    # folium's plugin classes have unannotated constructors (a third-party gap).
    group = plugins.MarkerCluster(name="reports")  # type: ignore[no-untyped-call]
    assets.apply(group).add_to(page)
    for c in clusters:
        colour = DEFAULT_STATUS_COLOURS.get(c.status, "#969696")
        thumbnail = (
            f'<img src="{html.escape(c.thumbnail_url)}" width="200">' if c.thumbnail_url else ""
        )
        popup = (
            f"<b>{html.escape(c.category)}</b><br>{html.escape(c.status)}<br>"
            f"{c.report_count} reports<br>{c.first_at:%Y-%m-%d %H:%M} - {c.last_at:%Y-%m-%d %H:%M}"
            f'{thumbnail}<br><a href="{html.escape(c.detail_url)}">details</a>'
        )
        badge = (
            f'<div style="background:{colour};border-radius:50%;width:20px;height:20px;'
            f'color:#fff;text-align:center">{c.report_count}</div>'
        )
        folium.Marker(
            [c.lat, c.lon],
            popup=folium.Popup(popup, max_width=260),
            icon=folium.DivIcon(html=badge),
        ).add_to(group)
    return str(page.get_root().render())


def _timed(runs: int, build: Callable[[], str]) -> tuple[float, str]:
    """Median milliseconds of `runs` builds, and the last page built."""
    samples, page = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        page = build()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), page


def _floor(clusters: Sequence[MapCluster]) -> float:
    rows = plain_rows(clusters)
    return _timed(RUNS, lambda: json.dumps(rows, ensure_ascii=False))[0]


def _mb(text: str) -> float:
    return len(text.encode()) / 1_000_000


def _row(name: str, how: str, ms: float, mb: float, floor_ms: float, note: str = "") -> str:
    return f"  {name:<34} {how:<12} {ms:8.0f} ms  {mb:6.2f} MB  {ms / floor_ms:7.1f}x floor{note}"


def run(n_reports: int = 100_000) -> list[str]:
    """Build the pages; returns the report lines."""
    clusters = synthetic_clusters(n_reports)
    n = len(clusters)
    sample = clusters[:NAIVE_SAMPLE]
    build_crew_map(sample, asset_base=ASSET_BASE)  # warm imports and caches
    floor_ms = _floor(clusters)
    ours_ms, ours_page = _timed(RUNS, lambda: build_crew_map(clusters, asset_base=ASSET_BASE))
    ours_mb = _mb(ours_page)
    gzip_mb = len(gzip.compress(ours_page.encode(), 6)) / 1_000_000
    verdict = "met" if ours_mb < TARGET_MB and ours_ms < TARGET_MS else "MISSED"
    lines = [
        f"{n_reports:,} synthetic reports -> {n:,} clusters; floor: json.dumps of the same "
        f"clusters as plain lists, median {floor_ms:.1f} ms",
        _row("build_crew_map (ours)", f"median of {RUNS}", ours_ms, ours_mb, floor_ms),
        f"  {'':<34} {'':<12} gzipped {gzip_mb:.2f} MB;"
        f" targets under {TARGET_MB:.0f} MB and {TARGET_MS:.0f} ms: {verdict}",
    ]

    # Per-photo URLs (content-addressed keys) cannot be shortened to an id template.
    hashed = [
        replace(c, thumbnail_url=f"/crew/photos/{sha256(str(c.id).encode()).hexdigest()}.jpg")
        if c.thumbnail_url
        else c
        for c in clusters
    ]
    hashed_ms, hashed_page = _timed(1, lambda: build_crew_map(hashed, asset_base=ASSET_BASE))
    lines.append(
        _row(
            "ours, thumbnails /crew/photos/<sha>", "one run", hashed_ms, _mb(hashed_page), floor_ms
        )
    )

    sample_floor_ms = _floor(sample)
    naive_ms, naive_page = _timed(1, lambda: naive_map(sample))
    lines.append(
        _row(
            f"naive folium, {len(sample):,} clusters",
            "one run",
            naive_ms,
            _mb(naive_page),
            sample_floor_ms,
            f" (floor of {len(sample):,}: {sample_floor_ms:.1f} ms)",
        )
    )
    if n > len(sample):
        scale = n / len(sample)
        if naive_ms * scale / 1000 <= NAIVE_FULL_LIMIT_S:
            full_ms, full_page = _timed(1, lambda: naive_map(clusters))
            lines.append(
                _row(f"naive folium, {n:,} clusters", "one run", full_ms, _mb(full_page), floor_ms)
            )
        else:
            lines.append(
                _row(
                    f"naive folium, {n:,} clusters",
                    "EXTRAPOLATED",
                    naive_ms * scale,
                    _mb(naive_page) * scale,
                    floor_ms,
                    f" (x{scale:.0f} the {len(sample):,} run; not run: over"
                    f" {NAIVE_FULL_LIMIT_S:.0f} s expected)",
                )
            )
    return lines


async def _serve_once(url: str) -> tuple[float, float, int]:
    """What /crew/map/frame does for the unfiltered view: query, layers, build (ms, MB)."""
    engine = create_async_engine(url)
    settings = Settings.from_env()
    started = time.perf_counter()
    async with engine.connect() as conn:
        rows = await crew_queries.shown_clusters(conn, crew_map.MapFilters().where())
        layers = await crew_map.map_layers(conn)
    page = build_crew_map(
        crew_map.map_clusters(rows, settings, LINKS), asset_base=ASSET_BASE, layers=layers
    )
    elapsed = (time.perf_counter() - started) * 1000
    await engine.dispose()
    return elapsed, _mb(page), len(rows)


def served(n_reports: int = 100_000) -> list[str]:
    """The map frame as the app serves it, from PostGIS holding `n_reports` synthetic open
    reports (each its own cluster: the worst case) and the shipped layers."""
    with throwaway_database(with_bundled_data=True) as (url, _):
        engine = create_engine(url)
        with engine.begin() as conn:
            insert_reports(conn, n_reports)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        engine.dispose()
        runs = [asyncio.run(_serve_once(url)) for _ in range(RUNS)]
    ms = statistics.median(r[0] for r in runs)
    mb, clusters = runs[-1][1], runs[-1][2]
    verdict = "met" if mb < TARGET_MB and ms < TARGET_MS else "MISSED"
    return [
        f"  served from PostGIS, {n_reports:,} open reports in {clusters:,} clusters, all layers:"
        f" median {ms:.0f} ms, {mb:.2f} MB (query + layers + build); targets: {verdict}"
    ]
