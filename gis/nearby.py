"""The location queries: what a point is in or near, and the nearest sites.

Distances are geodesic metres (PostGIS geography on the WGS84 spheroid).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.hazards import HazardKind, ShelterHazard

# Candidates taken by the planar KNN index before the exact geodesic re-sort; a few times the
# answer size is plenty at city scale, where degrees are nearly isotropic.
_KNN_POOL_FACTOR = 4


@dataclass(frozen=True)
class HazardHit:
    """A hazard zone that contains the point or lies within the search distance."""

    kind: HazardKind
    label_ja: str
    label_en: str
    rank: int | None
    zone_key: str | None
    inside: bool
    distance_m: float


@dataclass(frozen=True)
class NearbySite:
    """A designated site and its geodesic distance from the point."""

    common_id: str
    name: str
    address: str
    lon: float
    lat: float
    hazards: frozenset[ShelterHazard]
    is_emergency_site: bool
    is_shelter: bool
    distance_m: float


_HAZARDS_AT = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
    SELECT z.kind, z.label_ja, z.label_en, z.rank, z.zone_key,
           bool_or(ST_Intersects(p.geom, pt.g)) AS inside,
           min(ST_Distance(p.geom::geography, pt.g::geography)) AS distance_m
    FROM pt, hazard_zone_parts p
    JOIN hazard_zones z ON z.id = p.zone_id
    WHERE ST_DWithin(p.geom::geography, pt.g::geography, :near)
    GROUP BY z.id
    ORDER BY inside DESC, distance_m, z.rank DESC NULLS LAST
""")


async def hazards_at(
    conn: AsyncConnection, lon: float, lat: float, near_metres: float
) -> list[HazardHit]:
    """Zones containing the point, then zones within `near_metres`, nearest first.

    The same zone published twice (same kind, number and label) is reported once.
    """
    rows = await conn.execute(_HAZARDS_AT, {"lon": lon, "lat": lat, "near": near_metres})
    hits: list[HazardHit] = []
    # A warning zone and its special warning zone share a number: the label tells them apart.
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        if row.zone_key is not None:
            key = (row.kind, row.zone_key, row.label_ja)
            if key in seen:
                continue
            seen.add(key)
        hits.append(
            HazardHit(
                kind=HazardKind(row.kind),
                label_ja=row.label_ja,
                label_en=row.label_en,
                rank=row.rank,
                zone_key=row.zone_key,
                inside=row.inside,
                distance_m=0.0 if row.inside else float(row.distance_m),
            )
        )
    return hits


_NEAREST_SITES = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    candidates AS (
        (SELECT common_id FROM shelters, pt WHERE active ORDER BY geom <-> pt.g LIMIT :pool)
        UNION
        (SELECT common_id FROM shelters, pt
         WHERE active AND hazards && CAST(:prefer AS text[])
         ORDER BY geom <-> pt.g LIMIT :pool)
    )
    SELECT s.common_id, s.name, s.address, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           s.hazards, s.is_emergency_site, s.is_shelter,
           ST_Distance(s.geom::geography, pt.g::geography) AS distance_m,
           cardinality(ARRAY(
               SELECT unnest(s.hazards) INTERSECT SELECT unnest(CAST(:prefer AS text[]))
           )) AS suited
    FROM pt, candidates JOIN shelters s USING (common_id)
    ORDER BY suited DESC, distance_m
    LIMIT :limit
""")


async def nearest_sites(
    conn: AsyncConnection,
    lon: float,
    lat: float,
    *,
    limit: int,
    prefer: Iterable[ShelterHazard] = (),
) -> list[NearbySite]:
    """The `limit` nearest active sites; those designated for more of the `prefer` hazards
    come first, then by distance."""
    params: dict[str, Any] = {
        "lon": lon,
        "lat": lat,
        "limit": limit,
        "pool": limit * _KNN_POOL_FACTOR,
        "prefer": sorted(str(h) for h in prefer),
    }
    rows = await conn.execute(_NEAREST_SITES, params)
    return [
        NearbySite(
            common_id=row.common_id,
            name=row.name,
            address=row.address,
            lon=row.lon,
            lat=row.lat,
            hazards=frozenset(ShelterHazard(h) for h in row.hazards),
            is_emergency_site=row.is_emergency_site,
            is_shelter=row.is_shelter,
            distance_m=float(row.distance_m),
        )
        for row in rows
    ]


_HAZARDS_WITHOUT_SITES = text("""
    SELECT h FROM unnest(CAST(:hazards AS text[])) AS h
    WHERE NOT EXISTS (SELECT 1 FROM shelters WHERE active AND h = ANY(hazards))
    ORDER BY h
""")


async def hazards_without_sites(
    conn: AsyncConnection, hazards: Iterable[ShelterHazard]
) -> list[ShelterHazard]:
    """Those of `hazards` for which no active site is designated at all."""
    rows = await conn.execute(_HAZARDS_WITHOUT_SITES, {"hazards": [str(h) for h in hazards]})
    found = {ShelterHazard(row.h) for row in rows}
    return [h for h in ShelterHazard if h in found]


@dataclass(frozen=True)
class AreaCheck:
    """Whether a point is in the service area, and the area's name."""

    inside: bool
    area_name: str | None
    distance_m: float | None


_AREA_CHECK = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
    SELECT a.name, ST_Covers(a.geom, pt.g) AS inside,
           ST_Distance(a.geom::geography, pt.g::geography) AS distance_m
    FROM pt, service_area a
    ORDER BY inside DESC, distance_m
    LIMIT 1
""")


async def service_area_check(conn: AsyncConnection, lon: float, lat: float) -> AreaCheck:
    """Is the point inside the service area? With no area loaded, every point is."""
    row = (await conn.execute(_AREA_CHECK, {"lon": lon, "lat": lat})).first()
    if row is None:
        return AreaCheck(inside=True, area_name=None, distance_m=None)
    return AreaCheck(inside=row.inside, area_name=row.name, distance_m=float(row.distance_m))


_LOADED_KINDS = text("SELECT DISTINCT kind FROM hazard_layers")


async def loaded_hazard_kinds(conn: AsyncConnection) -> list[HazardKind]:
    """The hazard kinds for which a layer is loaded, in vocabulary order."""
    found = {row.kind for row in await conn.execute(_LOADED_KINDS)}
    return [kind for kind in HazardKind if kind in found]
