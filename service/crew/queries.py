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

from gis.clusters import OPEN_STATUSES
from gis.tables import report_clusters, reports
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
        """The bound parameters of `_CLUSTERS`."""
        return {
            "statuses": list(self.statuses),
            "categories": list(self.categories) if self.categories is not None else None,
            "since": self.since,
            "until": self.until,
            "cluster": self.cluster,
        }


_CLUSTERS = text("""
    SELECT c.id, c.category, c.status, c.report_count,
           ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
           coalesce(c.first_report_at, c.created_at) AS first_at,
           coalesce(c.last_report_at, c.created_at) AS last_at,
           c.has_photo AS photo
    FROM report_clusters c
    WHERE c.report_count > 0
      AND c.status = ANY(CAST(:statuses AS text[]))
      AND (CAST(:categories AS text[]) IS NULL OR c.category = ANY(CAST(:categories AS text[])))
      AND (CAST(:since AS timestamptz) IS NULL
           OR coalesce(c.last_report_at, c.created_at) >= :since)
      AND (CAST(:until AS timestamptz) IS NULL
           OR coalesce(c.first_report_at, c.created_at) < :until)
      AND (CAST(:cluster AS integer) IS NULL OR c.id = :cluster)
    ORDER BY c.id
""")

# The reports of the clusters the map shows: the map's own filter query, as a subquery, so
# an export always holds what the map displays. Composed from constant SQL only; every
# value is a bound parameter.
_EXPORTED_REPORTS = text(f"""
    SELECT r.id, r.cluster_id, r.category, c.status, r.created_at, r.address, r.description,
           (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id) AS photo_count,
           ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
    FROM reports r JOIN report_clusters c ON c.id = r.cluster_id
    WHERE r.cluster_id IN (SELECT shown.id FROM ({_CLUSTERS.text}) shown)
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


async def shown_clusters(conn: AsyncConnection, where: ClusterFilter) -> Sequence[AnyRow]:
    """The clusters `where` selects, by id: id, category, status, report_count, lon, lat,
    first_at, last_at, photo (whether it has one), in that order."""
    return (await conn.execute(_CLUSTERS, where.params())).all()


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


async def open_clusters(conn: AsyncConnection, limit: int) -> Sequence[AnyRow]:
    """At most `limit` open clusters, the most recently reported first: id, category,
    status, report_count, first_at, last_at."""
    last_at = func.max(reports.c.created_at)
    query = (
        select(
            report_clusters.c.id,
            report_clusters.c.category,
            report_clusters.c.status,
            report_clusters.c.report_count,
            func.min(reports.c.created_at).label("first_at"),
            last_at.label("last_at"),
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
