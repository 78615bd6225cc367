"""Duplicate clustering of reports: the same problem reported by several residents.

A report joins the cluster of the nearest open report of its category within the duplicate
radius (`nearest_open_cluster`), as it is filed. `recluster_open_reports` rebuilds the open
clusters from ST_ClusterDBSCAN over all open reports, after the radius changes or a bulk
import. Distances are metres: geodesic (geography) for the single lookup, a local metric CRS
for DBSCAN (EPSG:6677, JGD2011 plane rectangular IX, for Kita-ku).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

OPEN_STATUSES: tuple[str, ...] = ("received", "accepted", "in_progress")
CLOSED_STATUSES: tuple[str, ...] = ("resolved", "rejected", "duplicate")
STATUSES: tuple[str, ...] = OPEN_STATUSES + CLOSED_STATUSES

# Who changed a cluster when no person did, in cluster_events.actor.
SYSTEM_ACTOR = "system"
_DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ClusterSummary:
    """How many reports a cluster holds, and when the first and last were filed.

    `first_at`/`last_at` are None for a cluster with no reports (one merged into another).
    """

    report_count: int
    first_at: datetime | None
    last_at: datetime | None


@dataclass(frozen=True)
class ReclusterResult:
    """What `recluster_open_reports` did."""

    components: int
    moved_reports: int
    merged_clusters: int
    new_clusters: int


_NEAREST_OPEN_CLUSTER = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g)
    SELECT r.cluster_id
    FROM pt, reports r
    JOIN report_clusters c ON c.id = r.cluster_id
    WHERE r.category = :category
      AND c.status = ANY(CAST(:open AS text[]))
      AND ST_DWithin(r.geom::geography, pt.g, :within)
    ORDER BY ST_Distance(r.geom::geography, pt.g), r.id
    LIMIT 1
""")


async def nearest_open_cluster(
    conn: AsyncConnection, category: str, lon: float, lat: float, within_m: float
) -> int | None:
    """The cluster of the nearest report of `category` within `within_m` geodesic metres
    whose cluster is open; None when there is none."""
    params = {
        "category": category,
        "lon": lon,
        "lat": lat,
        "within": within_m,
        "open": list(OPEN_STATUSES),
    }
    cluster_id = (await conn.execute(_NEAREST_OPEN_CLUSTER, params)).scalar()
    return None if cluster_id is None else int(cluster_id)


_CLUSTER_MEMBERS = text("""
    SELECT count(*) AS report_count, min(created_at) AS first_at, max(created_at) AS last_at
    FROM reports WHERE cluster_id = :cluster_id
""")


async def cluster_members(conn: AsyncConnection, cluster_id: int) -> ClusterSummary:
    """Count and filing times of the reports in a cluster, counted from the reports
    themselves (not the cached `report_count`)."""
    row = (await conn.execute(_CLUSTER_MEMBERS, {"cluster_id": cluster_id})).one()
    return ClusterSummary(
        report_count=int(row.report_count), first_at=row.first_at, last_at=row.last_at
    )


# One statement for one cluster or many: a cluster left with no reports keeps its last
# centroid (geom is NOT NULL, and a merged cluster still shows where it was).
_REFRESH_CLUSTERS = text("""
    UPDATE report_clusters c
    SET report_count = m.n, geom = coalesce(m.centroid, c.geom), updated_at = now(),
        first_report_at = m.first_at, last_report_at = m.last_at, has_photo = m.photo
    FROM unnest(CAST(:ids AS integer[])) AS t(id)
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, ST_Centroid(ST_Collect(r.geom)) AS centroid,
               min(r.created_at) AS first_at, max(r.created_at) AS last_at,
               coalesce(bool_or(EXISTS (
                   SELECT 1 FROM report_photos p WHERE p.report_id = r.id)), false) AS photo
        FROM reports r WHERE r.cluster_id = t.id
    ) m
    WHERE c.id = t.id
""")


async def refresh_cluster(conn: AsyncConnection, cluster_id: int) -> None:
    """Recompute a cluster's count, centroid, first/last report time and photo flag."""
    await conn.execute(_REFRESH_CLUSTERS, {"ids": [cluster_id]})


# Component numbers: ST_ClusterDBSCAN numbers each category's partition from 0, so they are
# made unique across categories by ranking (category, cid). minpoints 1 makes every report a
# core point: a chain of reports each within eps of the next is one component, and no report
# is left as noise (NULL).
_COMPONENTS = """
    SELECT d.id, d.cluster_id, d.created_at,
           dense_rank() OVER (ORDER BY d.category, d.cid)::integer AS component
    FROM (
        SELECT r.id, r.cluster_id, r.created_at, r.category,
               ST_ClusterDBSCAN(ST_Transform(r.geom, :srid), eps := :eps, minpoints := 1)
                   OVER (PARTITION BY r.category) AS cid
        FROM reports r
        JOIN report_clusters c ON c.id = r.cluster_id
        WHERE c.status = ANY(CAST(:open AS text[]))
    ) d
"""

# Composed from constant SQL only; every value is a bound parameter.
_DBSCAN = text(f"SELECT id, component FROM ({_COMPONENTS}) k ORDER BY id")  # noqa: S608


def _dbscan_params(eps_m: float, srid: int) -> dict[str, object]:
    return {"eps": eps_m, "srid": srid, "open": list(OPEN_STATUSES)}


def dbscan_open_reports(conn: Connection, eps_m: float, srid: int) -> list[tuple[int, int]]:
    """(report id, component number) of every report in an open cluster, by report id.

    Reports of one category are in one component when a chain of reports, each within
    `eps_m` metres of the next (measured in the metric CRS `srid`), joins them.
    """
    rows = conn.execute(_DBSCAN, _dbscan_params(eps_m, srid))
    return [(int(row.id), int(row.component)) for row in rows]


# recluster_open_reports, step by step, on temporary tables:
#   recluster_reports     every open report: its current cluster and its DBSCAN component
#   recluster_homes       every open cluster: the component holding its oldest report
#   recluster_components  every component: the cluster it ends up in (new ones split_from)
# Reports are filed and clusters closed by the workflow while this runs; taking writes out
# for the rebuild (reads go on) keeps a report from joining a cluster being closed.
_LOCK = text("LOCK TABLE report_clusters, reports IN EXCLUSIVE MODE")

_CREATE_WORK_TABLES = text("""
    CREATE TEMPORARY TABLE recluster_reports (
        report_id integer PRIMARY KEY, old_cluster integer NOT NULL,
        created_at timestamptz NOT NULL, component integer NOT NULL);
    CREATE TEMPORARY TABLE recluster_homes (
        cluster_id integer PRIMARY KEY, component integer NOT NULL);
    CREATE TEMPORARY TABLE recluster_components (
        component integer PRIMARY KEY, cluster_id integer NOT NULL, split_from integer)
""")

_ASSIGN_COMPONENTS = text(f"""
    INSERT INTO recluster_reports (report_id, old_cluster, created_at, component)
    {_COMPONENTS}
""")

_FIND_HOMES = text("""
    INSERT INTO recluster_homes (cluster_id, component)
    SELECT DISTINCT ON (old_cluster) old_cluster, component FROM recluster_reports
    ORDER BY old_cluster, created_at, report_id
""")

# A component keeps the oldest of the clusters whose oldest report it holds, and with it
# that cluster's status and history.
_KEEP_CLUSTERS = text("""
    INSERT INTO recluster_components (component, cluster_id)
    SELECT DISTINCT ON (h.component) h.component, h.cluster_id
    FROM recluster_homes h JOIN report_clusters c ON c.id = h.cluster_id
    ORDER BY h.component, c.created_at, c.id
""")

# A component holding no cluster's oldest report was split off: it gets a new cluster id,
# and the status of the oldest cluster its reports come from.
_SPLIT_COMPONENTS = text("""
    INSERT INTO recluster_components (component, cluster_id, split_from)
    SELECT s.component, nextval(pg_get_serial_sequence('report_clusters', 'id')), s.old_cluster
    FROM (
        SELECT DISTINCT ON (a.component) a.component, a.old_cluster
        FROM recluster_reports a JOIN report_clusters c ON c.id = a.old_cluster
        WHERE a.component NOT IN (SELECT component FROM recluster_components)
        ORDER BY a.component, c.created_at, c.id
    ) s
""")

_NEW_CLUSTERS = text("""
    WITH created AS (
        INSERT INTO report_clusters (id, category, status, geom)
        SELECT k.cluster_id, c.category, c.status, c.geom
        FROM recluster_components k JOIN report_clusters c ON c.id = k.split_from
        RETURNING id, status
    )
    INSERT INTO cluster_events (cluster_id, status, actor, note)
    SELECT created.id, created.status, :actor, 'split from #' || k.split_from
    FROM created JOIN recluster_components k ON k.cluster_id = created.id
""")

# `changed`: the clusters that stay open and gained or lost reports, to be refreshed (those
# merged away are closed with a count of 0 by _CLOSE_MERGED).
_MOVE_REPORTS = text("""
    WITH moved AS (
        UPDATE reports r SET cluster_id = k.cluster_id
        FROM recluster_reports a JOIN recluster_components k USING (component)
        WHERE r.id = a.report_id AND r.cluster_id <> k.cluster_id
        RETURNING a.old_cluster, k.cluster_id AS new_cluster
    )
    SELECT (SELECT count(*) FROM moved) AS moved,
           ARRAY(SELECT cluster_id FROM recluster_components
                 WHERE cluster_id IN (SELECT old_cluster FROM moved
                                      UNION ALL SELECT new_cluster FROM moved)) AS changed
""")

_CLOSE_MERGED = text("""
    WITH closed AS (
        UPDATE report_clusters c
        SET status = :duplicate, report_count = 0, closed_at = now(), updated_at = now()
        FROM recluster_homes h JOIN recluster_components k USING (component)
        WHERE c.id = h.cluster_id AND k.cluster_id <> c.id
        RETURNING c.id, k.cluster_id AS into_id
    )
    INSERT INTO cluster_events (cluster_id, status, actor, note)
    SELECT id, :duplicate, :actor, 'merged into #' || into_id FROM closed
""")

_COUNT_COMPONENTS = text("SELECT count(*) FROM recluster_components")

_DROP_WORK_TABLES = text("DROP TABLE recluster_reports, recluster_homes, recluster_components")


def recluster_open_reports(conn: Connection, eps_m: float, srid: int) -> ReclusterResult:
    """Rebuild the open clusters from DBSCAN components (`dbscan_open_reports`).

    Each component ends in one cluster: the oldest open cluster whose oldest report it
    holds, so the cluster keeps its status and history, and the reports of its other
    clusters move in. An open cluster left with no reports is closed as duplicate, with an
    event naming the cluster it was merged into. A cluster whose reports fell into several
    components stays with the component holding its oldest report; a component left with no
    cluster of its own gets a new one in the same status, with a "split from" event. Closed
    clusters are left alone. Counts and centroids of the clusters that changed are refreshed.

    Runs in the caller's transaction, which should commit it.
    """
    conn.execute(_LOCK)
    conn.execute(_CREATE_WORK_TABLES)
    conn.execute(_ASSIGN_COMPONENTS, _dbscan_params(eps_m, srid))
    conn.execute(_FIND_HOMES)
    conn.execute(_KEEP_CLUSTERS)
    conn.execute(_SPLIT_COMPONENTS)
    components = conn.execute(_COUNT_COMPONENTS).scalar_one()
    new_clusters = conn.execute(_NEW_CLUSTERS, {"actor": SYSTEM_ACTOR}).rowcount
    moved = conn.execute(_MOVE_REPORTS).one()
    merged = conn.execute(_CLOSE_MERGED, {"duplicate": _DUPLICATE, "actor": SYSTEM_ACTOR})
    conn.execute(_REFRESH_CLUSTERS, {"ids": moved.changed})
    conn.execute(_DROP_WORK_TABLES)
    return ReclusterResult(
        components=int(components),
        moved_reports=int(moved.moved),
        merged_clusters=merged.rowcount,
        new_clusters=new_clusters,
    )
