"""The crew pages' SQL, as small named functions: the crew routes hold none.

Every value is a bound parameter. Residents' LINE user IDs are never selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.clusters import OPEN_STATUSES, STATUSES
from gis.tables import report_clusters, reports
from service.crew.map_page import EncodedClusters
from service.crew.tables import crew_accounts

# A result row of any columns (the functions' docstrings name them).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class ClusterFilter:
    """Which report clusters the crew map shows (None: no condition on that field)."""

    statuses: Sequence[str]
    categories: Sequence[str] | None = None
    # Clusters with a report at or after `since`, and one before `until`.
    since: datetime | None = None
    until: datetime | None = None
    cluster: int | None = None

    def params(self) -> dict[str, Any]:
        """The bound parameters of `_SHOWN`."""
        return {
            "statuses": list(self.statuses),
            "categories": list(self.categories) if self.categories is not None else None,
            "since": self.since,
            "until": self.until,
            "cluster": self.cluster,
        }


# The clusters a filter selects (ClusterFilter.params): constant SQL that the queries below
# are composed from; every value is a bound parameter.
_SHOWN = """
    FROM report_clusters c
    WHERE c.report_count > 0
      AND c.status = ANY(CAST(:statuses AS text[]))
      AND (CAST(:categories AS text[]) IS NULL OR c.category = ANY(CAST(:categories AS text[])))
      AND (CAST(:since AS timestamptz) IS NULL
           OR coalesce(c.last_report_at, c.created_at) >= :since)
      AND (CAST(:until AS timestamptz) IS NULL
           OR coalesce(c.first_report_at, c.created_at) < :until)
      AND (CAST(:cluster AS integer) IS NULL OR c.id = :cluster)
"""

# The crew map's clusters encoded as the page carries them (service/crew/map_page.py's
# docstring): PostGIS writes the rows' JSON text itself, so 100,000 clusters never become
# Python objects. Deltas by id keep the numbers short; categories and statuses are indexes.
_ENCODED_CLUSTERS = text(f"""
    WITH shown AS MATERIALIZED (
        SELECT c.id, round(ST_X(c.geom) * 100000)::integer AS x,
               round(ST_Y(c.geom) * 100000)::integer AS y, c.category, c.status,
               c.report_count AS n,
               floor(extract(epoch FROM coalesce(c.first_report_at, c.created_at)) / 60)::bigint
                   AS first,
               floor(extract(epoch FROM coalesce(c.last_report_at, c.created_at)) / 60)::bigint
                   AS last,
               c.has_photo AS photo
        {_SHOWN}
    ), summary AS (
        SELECT count(*) AS count, coalesce(min(x), 0) AS x0, coalesce(min(y), 0) AS y0,
               coalesce(max(x), 0) AS x1, coalesce(max(y), 0) AS y1,
               coalesce(min(first), 0) AS t0,
               coalesce(array_agg(DISTINCT category ORDER BY category), '{{}}') AS categories,
               CAST(:known AS text[]) || coalesce(array_agg(DISTINCT status ORDER BY status)
                   FILTER (WHERE status <> ALL(CAST(:known AS text[]))), '{{}}') AS statuses,
               coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY n), 1) AS heat_max
        FROM shown
    )
    SELECT s.count, s.x0, s.y0, s.x1, s.y1, s.t0, s.categories, s.statuses, s.heat_max,
           coalesce((
               SELECT string_agg(line, ',') FROM (
                   SELECT concat_ws(',', id - lag(id, 1, 0) OVER w, x - s.x0, y - s.y0,
                                    array_position(s.categories, category) - 1,
                                    array_position(s.statuses, status) - 1, n,
                                    first - lag(first, 1, s.t0) OVER w, last - first,
                                    CASE WHEN photo THEN 1 ELSE 0 END) AS line
                   FROM shown WINDOW w AS (ORDER BY id) ORDER BY id
               ) encoded
           ), '') AS rows
    FROM summary s
""")  # noqa: S608

# The reports of the clusters the map shows, so that an export always holds what the map
# displays.
_EXPORTED_REPORTS = text(f"""
    SELECT r.id, r.cluster_id, r.category, c.status, r.created_at, r.address, r.description,
           (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id) AS photo_count,
           ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
    FROM reports r JOIN report_clusters c ON c.id = r.cluster_id
    WHERE r.cluster_id IN (SELECT c.id {_SHOWN})
    ORDER BY r.id
""")  # noqa: S608

_SHELTERS = text("SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, name FROM shelters WHERE active")
_HAZARDS = text("""
    SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
        json_build_object(
            'type', 'Feature',
            'properties', json_build_object('kind', kind, 'label_ja', label_ja),
            'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00001), 6)::json)
    ), '[]'::json)) FROM hazard_zones
""")
_BOUNDARY = text("SELECT ST_AsGeoJSON(geom, 6)::json FROM service_area LIMIT 1")
_FACILITIES = text("""
    SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, name, category
    FROM facilities WHERE active ORDER BY id
""")

_LAYERS_WITH_DATA = text("""
    SELECT EXISTS (SELECT 1 FROM shelters WHERE active) AS shelters,
           EXISTS (SELECT 1 FROM facilities WHERE active) AS facilities,
           EXISTS (SELECT 1 FROM hazard_zones) AS hazards
""")
# A number a crew member looked up: the case of that number, and the case of the report.
_NUMBER = text("""
    SELECT (SELECT id FROM report_clusters WHERE id = :n) AS case_id,
           (SELECT cluster_id FROM reports WHERE id = :n) AS report_case_id
""")
_REPORT_CLUSTER = text("SELECT cluster_id FROM reports WHERE id = :id")
_CLUSTER = text("""
    SELECT c.id, c.category, c.status, c.report_count, ST_X(c.geom) AS lon,
           ST_Y(c.geom) AS lat, c.created_at
    FROM report_clusters c WHERE c.id = :id
""")
_CLUSTER_REPORTS = text("""
    SELECT r.id, r.created_at, r.description, r.address, r.source,
           coalesce(array_agg(p.photo_key ORDER BY p.position)
                    FILTER (WHERE p.photo_key IS NOT NULL), '{}') AS photos
    FROM reports r LEFT JOIN report_photos p ON p.report_id = r.id
    WHERE r.cluster_id = :id GROUP BY r.id ORDER BY r.id
""")
_HISTORY = text("""
    SELECT status, actor, note, at FROM cluster_events WHERE cluster_id = :id ORDER BY at, id
""")
_FIRST_PHOTO = text("""
    SELECT p.photo_key FROM report_photos p JOIN reports r ON r.id = p.report_id
    WHERE r.cluster_id = :id ORDER BY r.id, p.position LIMIT 1
""")
_PHOTO_OF_CLUSTER = text("""
    SELECT 1 FROM report_photos p JOIN reports r ON r.id = p.report_id
    WHERE r.cluster_id = :id AND p.photo_key = :key
""")


async def encoded_clusters(conn: AsyncConnection, where: ClusterFilter) -> EncodedClusters:
    """The clusters `where` selects, encoded for the crew map page by PostGIS (one row)."""
    params = {**where.params(), "known": list(STATUSES)}
    found = (await conn.execute(_ENCODED_CLUSTERS, params)).one()
    count, x0, y0, x1, y1, t0, categories, statuses, heat_max, rows = found
    return EncodedClusters(
        count=count,
        origin=(x0, y0),
        extent=(x1, y1),
        t0=t0,
        categories=categories,
        statuses=statuses,
        heat_max=float(heat_max),
        rows=rows,
    )


async def exported_reports(conn: AsyncConnection, where: ClusterFilter) -> Sequence[AnyRow]:
    """Every report of the clusters `where` selects, by id, with its cluster's status and
    how many photos it has."""
    return (await conn.execute(_EXPORTED_REPORTS, where.params())).all()


async def shelter_points(conn: AsyncConnection) -> list[tuple[float, float, str]]:
    """(lon, lat, name) of every active shelter."""
    return [(r.lon, r.lat, r.name) for r in await conn.execute(_SHELTERS)]


async def hazard_zones_geojson(conn: AsyncConnection) -> dict[str, Any]:
    """Every hazard zone, simplified, as one FeatureCollection (kind and label_ja)."""
    found: dict[str, Any] = (await conn.execute(_HAZARDS)).scalar_one()
    return found


async def service_area_geojson(conn: AsyncConnection) -> dict[str, Any] | None:
    """The service area's geometry as GeoJSON, if one is loaded."""
    found: dict[str, Any] | None = (await conn.execute(_BOUNDARY)).scalar_one_or_none()
    return found


async def facility_points(conn: AsyncConnection) -> list[tuple[float, float, str, str]]:
    """(lon, lat, name, category) of every active facility."""
    return [(r.lon, r.lat, r.name, r.category) for r in await conn.execute(_FACILITIES)]


async def layers_with_data(conn: AsyncConnection) -> set[str]:
    """Which of the crew map's fetched layers (shelters, facilities, hazards) have data."""
    found = (await conn.execute(_LAYERS_WITH_DATA)).one()._asdict()
    return {name for name, present in found.items() if present}


async def find_number(conn: AsyncConnection, number: int) -> tuple[int | None, int | None]:
    """The case numbered `number`, and the case of the report numbered `number` (either may
    be None: the two are counted apart)."""
    found = (await conn.execute(_NUMBER, {"n": number})).one()
    return found.case_id, found.report_case_id


async def open_clusters(conn: AsyncConnection, limit: int) -> Sequence[AnyRow]:
    """At most `limit` open clusters, the most recently reported first: id, category,
    status, report_count, first_at, last_at, address (the first a phone gave, or None)."""
    last_at = func.max(reports.c.created_at)
    addressed = reports.alias("addressed")
    first_address = (
        select(addressed.c.address)
        .where(addressed.c.cluster_id == report_clusters.c.id, addressed.c.address != "")
        .order_by(addressed.c.id)
        .limit(1)
        .correlate(report_clusters)
        .scalar_subquery()
    )
    query = (
        select(
            report_clusters.c.id,
            report_clusters.c.category,
            report_clusters.c.status,
            report_clusters.c.report_count,
            func.min(reports.c.created_at).label("first_at"),
            last_at.label("last_at"),
            first_address.label("address"),
        )
        .select_from(
            report_clusters.outerjoin(reports, reports.c.cluster_id == report_clusters.c.id)
        )
        .where(report_clusters.c.status.in_(OPEN_STATUSES))
        .group_by(report_clusters.c.id)
        .order_by(last_at.desc().nulls_last(), report_clusters.c.id.desc())
        .limit(limit)
    )
    return (await conn.execute(query)).all()


async def accounts(conn: AsyncConnection) -> Sequence[AnyRow]:
    """Every crew account by name: name, role, disabled, created_at (no password hash)."""
    query = select(
        crew_accounts.c.name,
        crew_accounts.c.role,
        crew_accounts.c.disabled,
        crew_accounts.c.created_at,
    ).order_by(crew_accounts.c.name)
    return (await conn.execute(query)).all()


async def cluster(conn: AsyncConnection, cluster_id: int) -> AnyRow | None:
    """One cluster: id, category, status, report_count, lon, lat, created_at."""
    return (await conn.execute(_CLUSTER, {"id": cluster_id})).first()


async def report_cluster(conn: AsyncConnection, report_id: int) -> int | None:
    """The cluster a report belongs to (None: no such report)."""
    found = (await conn.execute(_REPORT_CLUSTER, {"id": report_id})).scalar_one_or_none()
    return None if found is None else int(found)


async def cluster_reports(conn: AsyncConnection, cluster_id: int) -> Sequence[AnyRow]:
    """The cluster's reports by id, each with its photo keys in order."""
    return (await conn.execute(_CLUSTER_REPORTS, {"id": cluster_id})).all()


async def cluster_history(conn: AsyncConnection, cluster_id: int) -> Sequence[AnyRow]:
    """The cluster's status changes, oldest first: status, actor, note, at."""
    return (await conn.execute(_HISTORY, {"id": cluster_id})).all()


async def first_photo(conn: AsyncConnection, cluster_id: int) -> str | None:
    """The key of the cluster's first photo (its first report's first), if any."""
    key: str | None = (await conn.execute(_FIRST_PHOTO, {"id": cluster_id})).scalar_one_or_none()
    return key


async def is_photo_of_cluster(conn: AsyncConnection, cluster_id: int, key: str) -> bool:
    """Whether the photo `key` belongs to a report of the cluster."""
    found = await conn.execute(_PHOTO_OF_CLUSTER, {"id": cluster_id, "key": key})
    return found.first() is not None
