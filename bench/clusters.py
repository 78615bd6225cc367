"""Report clustering benchmark: ST_ClusterDBSCAN over every open report, and a recluster.

Runs against a private PostGIS holding SYNTHETIC reports: random points in Kita-ku's
bounding box in 7 categories, 30% of them placed within 20 m of an earlier report (the
duplicates clustering is for), each report in an open cluster of its own. Figures are
medians, and ratios against a floor measured in the same run (the machine is shared and
noisy): a plain scan of the same open reports, transformed to the same metric CRS and
fetched the same way, so the ratio is what the clustering itself costs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from sqlalchemy import Connection, create_engine, text

from bench.database import throwaway_database
from gis import clusters

BBOX = (139.69, 35.73, 139.77, 35.80)
CATEGORIES = ("road", "streetlight", "mirror_sign", "park", "graffiti", "dumping", "other")
KITA_CRS = 6677  # JGD2011 plane rectangular IX
EPS_M = 30.0
DUPLICATE_SHARE = 0.3
DUPLICATE_SPREAD_M = 20.0
RUNS = 5
TARGET_MS = 1000.0

_SEED = text("SELECT setseed(0.42)")

# Ids are given so that age follows id: the first report is the oldest.
_SPREAD = text("""
    INSERT INTO report_clusters (id, category, geom, report_count, created_at)
    SELECT g, (CAST(:categories AS text[]))[1 + g % cardinality(CAST(:categories AS text[]))],
           ST_SetSRID(ST_MakePoint(:x0 + random() * (:x1 - :x0),
                                   :y0 + random() * (:y1 - :y0)), 4326),
           1, timestamptz '2026-01-01 00:00+09' + g * interval '1 minute'
    FROM generate_series(1, :spread) AS g
""")

# MATERIALIZED so that random() is drawn once per duplicate, not once per joined row.
_DUPLICATES = text("""
    WITH picks AS MATERIALIZED (
        SELECT g, 1 + floor(random() * :spread)::integer AS of,
               random() * :within AS distance, random() * 2 * pi() AS azimuth
        FROM generate_series(:spread + 1, :n) AS g
    )
    INSERT INTO report_clusters (id, category, geom, report_count, created_at)
    SELECT p.g, b.category, ST_Project(b.geom::geography, p.distance, p.azimuth)::geometry,
           1, timestamptz '2026-01-01 00:00+09' + p.g * interval '1 minute'
    FROM picks p JOIN report_clusters b ON b.id = p.of
""")

_REPORTS = text("""
    INSERT INTO reports (id, cluster_id, category, geom, created_at)
    SELECT id, id, category, geom, created_at FROM report_clusters
""")

_SEQUENCES = text("""
    SELECT setval(pg_get_serial_sequence('report_clusters', 'id'), :n),
           setval(pg_get_serial_sequence('reports', 'id'), :n)
""")

_FLOOR = text("""
    SELECT r.id, ST_X(ST_Transform(r.geom, :srid)) AS x
    FROM reports r JOIN report_clusters c ON c.id = r.cluster_id
    WHERE c.status = ANY(CAST(:open AS text[]))
    ORDER BY r.id
""")


def insert_reports(conn: Connection, n: int) -> None:
    """`n` synthetic open reports, each in its own cluster, some near-duplicates."""
    spread = n - int(n * DUPLICATE_SHARE)
    conn.execute(_SEED)
    conn.execute(
        _SPREAD,
        {
            "categories": list(CATEGORIES),
            "spread": spread,
            "x0": BBOX[0],
            "y0": BBOX[1],
            "x1": BBOX[2],
            "y1": BBOX[3],
        },
    )
    conn.execute(_DUPLICATES, {"spread": spread, "n": n, "within": DUPLICATE_SPREAD_M})
    conn.execute(_REPORTS)
    conn.execute(_SEQUENCES, {"n": n})


def _timed(call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _dbscan_figures(conn: Connection, label: str) -> list[str]:
    floor_params = {"srid": KITA_CRS, "open": list(clusters.OPEN_STATUSES)}
    conn.execute(_FLOOR, floor_params).all()  # warm the caches
    floor_ms = _timed(lambda: conn.execute(_FLOOR, floor_params).all())
    dbscan_ms = _timed(lambda: clusters.dbscan_open_reports(conn, EPS_M, KITA_CRS))
    components = len({c for _, c in clusters.dbscan_open_reports(conn, EPS_M, KITA_CRS)})
    base, dbscan = statistics.median(floor_ms), statistics.median(dbscan_ms)
    verdict = "met" if dbscan < TARGET_MS else "MISSED"
    return [
        f"{label}: floor (scan of the same reports, ST_Transform, fetched) median {base:.1f} ms",
        f"  {'DBSCAN of all open reports':<44} median {dbscan:8.1f} ms  "
        f"{dbscan / base:7.1f}x floor  ({components} components)",
        f"  target: DBSCAN under {TARGET_MS:.0f} ms on 2 cores: {verdict}",
    ]


def _figures(url: str, n: int) -> list[str]:
    engine = create_engine(url)
    with engine.begin() as conn:
        insert_reports(conn, n)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    lines = [
        f"{n} synthetic open reports, {len(CATEGORIES)} categories, "
        f"{DUPLICATE_SHARE:.0%} within {DUPLICATE_SPREAD_M:.0f} m of another; eps {EPS_M:.0f} m "
        f"in EPSG:{KITA_CRS}",
    ]
    # The cluster runs with jit = off, as `make run` and docker-compose.yml configure it:
    # PostGIS costs its functions high enough that compiling would double these times.
    with engine.connect() as conn:
        lines += _dbscan_figures(conn, "jit off")
    start = time.perf_counter()
    with engine.begin() as conn:
        result = clusters.recluster_open_reports(conn, EPS_M, KITA_CRS)
    recluster_ms = (time.perf_counter() - start) * 1000
    engine.dispose()
    lines.append(
        f"recluster (one run, commit included): {recluster_ms:.0f} ms  "
        f"({result.components} components, {result.moved_reports} reports moved, "
        f"{result.merged_clusters} clusters merged, {result.new_clusters} new)"
    )
    return lines


def run(n: int = 100_000) -> list[str]:
    """Run the benchmark on a throwaway cluster; returns the report lines."""
    with throwaway_database(with_bundled_data=False) as (url, _):
        return _figures(url, n)
