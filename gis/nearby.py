"""The location queries: what a point is in or near, and the nearest sites.

Distances are geodesic metres (PostGIS geography on the WGS84 spheroid).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.facilities import FacilityCategory
from gis.hazards import HazardKind, ShelterHazard
from gis.shelter_status import ActiveHazard, ShelterStatus
from gis.sources.ksj import landslide_codes

# Candidates taken by the planar KNN index before the exact geodesic re-sort; a few times the
# answer size is plenty at city scale, where degrees are nearly isotropic.
_KNN_POOL_FACTOR = 4


@dataclass(frozen=True)
class HazardHit:
    """A hazard zone that contains the point or lies within the search distance: its
    labels as the data gives them, and what they are made of (the depth class of an
    inundation zone; the A33 zone type and phenomenon codes of a landslide zone)."""

    kind: HazardKind
    label_ja: str
    label_en: str
    rank: int | None
    zone_key: str | None
    inside: bool
    distance_m: float
    depth_min_m: float | None = None
    depth_max_m: float | None = None
    # (zone type, phenomenon): gis.hazards.A33_ZONE_TYPES, A33_PHENOMENA.
    landslide: tuple[int, int] | None = None


@dataclass(frozen=True)
class NearbySite:
    """A designated site, its geodesic distance from the point, and its status in a disaster
    (None, with no note or time, when no admin ever set one)."""

    common_id: str
    name: str
    address: str
    lon: float
    lat: float
    hazards: frozenset[ShelterHazard]
    is_emergency_site: bool
    is_shelter: bool
    distance_m: float
    status: ShelterStatus | None = None
    status_note: str = ""
    status_updated_at: datetime | None = None


_HAZARDS_AT = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
    SELECT z.kind, z.label_ja, z.label_en, z.rank, z.zone_key, z.depth_min_m, z.depth_max_m,
           CASE WHEN z.kind = 'landslide' THEN z.attributes END AS attributes,
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
                depth_min_m=row.depth_min_m,
                depth_max_m=row.depth_max_m,
                landslide=landslide_codes(row.attributes) if row.attributes else None,
            )
        )
    return hits


# Within the KNN candidates: open sites designated for the active hazard, other open sites,
# sites without a status, then full or closed ones; then the active hazard's sites, then
# sites suited to more of the hazards at the point, then distance. With no hazard wanted the
# second branch is skipped (a one-time filter): it would walk the whole index finding nothing
# (measured on 115,000 sites: most of PostgreSQL's time in the surge bench).
_NEAREST_SITES = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    candidates AS (
        (SELECT common_id FROM shelters WHERE active
         ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT :pool)
        UNION
        (SELECT common_id FROM shelters
         WHERE active AND hazards && CAST(:wanted AS text[])
           AND cardinality(CAST(:wanted AS text[])) > 0
         ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT :pool)
    )
    SELECT s.common_id, s.name, s.address, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           s.hazards, s.is_emergency_site, s.is_shelter,
           ST_Distance(s.geom::geography, pt.g::geography) AS distance_m,
           st.status, st.note AS status_note, st.updated_at AS status_updated_at,
           cardinality(ARRAY(
               SELECT unnest(s.hazards) INTERSECT SELECT unnest(CAST(:prefer AS text[]))
           )) AS suited,
           coalesce(CAST(:active AS text) = ANY(s.hazards), false) AS for_active
    FROM pt, candidates JOIN shelters s USING (common_id)
    LEFT JOIN shelter_status st USING (common_id)
    ORDER BY CASE WHEN st.status = 'open' AND CAST(:active AS text) = ANY(s.hazards) THEN 0
                  WHEN st.status = 'open' THEN 1
                  WHEN st.status IS NULL THEN 2
                  ELSE 3 END,
             for_active DESC, suited DESC, distance_m
    LIMIT :limit
""")


def _site(row: Any) -> NearbySite:
    return NearbySite(
        common_id=row.common_id,
        name=row.name,
        address=row.address,
        lon=row.lon,
        lat=row.lat,
        hazards=frozenset(ShelterHazard(h) for h in row.hazards),
        is_emergency_site=row.is_emergency_site,
        is_shelter=row.is_shelter,
        distance_m=float(row.distance_m),
        status=ShelterStatus(row.status) if row.status is not None else None,
        status_note=row.status_note or "",
        status_updated_at=row.status_updated_at,
    )


async def nearest_sites(
    conn: AsyncConnection,
    lon: float,
    lat: float,
    *,
    limit: int,
    prefer: Iterable[ShelterHazard] = (),
    active: ShelterHazard | None = None,
) -> list[NearbySite]:
    """The `limit` best of the nearest active sites, with their status.

    Open sites designated for the `active` hazard come first, then other open sites, then
    sites without a status, then full or closed ones. Within each: sites designated for
    `active`, then those designated for more of the `prefer` hazards, then by distance.
    """
    preferred = sorted(str(h) for h in prefer)
    params: dict[str, Any] = {
        "lon": lon,
        "lat": lat,
        "limit": limit,
        "pool": limit * _KNN_POOL_FACTOR,
        "prefer": preferred,
        "wanted": sorted({*preferred, *([str(active)] if active else [])}),
        "active": str(active) if active else None,
    }
    return [_site(row) for row in await conn.execute(_NEAREST_SITES, params)]


_UNAVAILABLE_SITES = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    nearest AS (
        SELECT common_id FROM shelters WHERE active
        ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT :nearest
    )
    SELECT s.common_id, s.name, s.address, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           s.hazards, s.is_emergency_site, s.is_shelter,
           ST_Distance(s.geom::geography, pt.g::geography) AS distance_m,
           st.status, st.note AS status_note, st.updated_at AS status_updated_at
    FROM pt, nearest JOIN shelters s USING (common_id)
    JOIN shelter_status st USING (common_id)
    WHERE st.status IN ('full', 'closed')
    ORDER BY distance_m
""")


async def unavailable_sites(
    conn: AsyncConnection, lon: float, lat: float, *, nearest: int
) -> list[NearbySite]:
    """Those of the `nearest` active sites to the point that are full or closed, nearest
    first: a resident heading for the closest site must hear of these, even when better
    sites push them out of the list."""
    params = {"lon": lon, "lat": lat, "nearest": nearest}
    return [_site(row) for row in await conn.execute(_UNAVAILABLE_SITES, params)]


# The KNN candidates not designated for any of the hazards and not listed, re-sorted by
# geodesic distance.
_NEAREST_UNSUITED = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    candidates AS (
        SELECT common_id FROM shelters
        WHERE active AND NOT hazards && CAST(:hazards AS text[])
          AND common_id <> ALL(CAST(:listed AS text[]))
        ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT :pool
    )
    SELECT s.common_id, s.name, s.address, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           s.hazards, s.is_emergency_site, s.is_shelter,
           ST_Distance(s.geom::geography, pt.g::geography) AS distance_m,
           st.status, st.note AS status_note, st.updated_at AS status_updated_at
    FROM pt, candidates JOIN shelters s USING (common_id)
    LEFT JOIN shelter_status st USING (common_id)
    ORDER BY distance_m
    LIMIT 1
""")


async def nearest_unsuited_site(
    conn: AsyncConnection,
    lon: float,
    lat: float,
    hazards: Iterable[ShelterHazard],
    *,
    listed: Iterable[str],
) -> NearbySite | None:
    """The nearest active site designated for none of `hazards` that is not among the
    `listed` IDs: the one a resident who sees a nearer building on the map may wonder about."""
    params = {
        "lon": lon,
        "lat": lat,
        "hazards": sorted(str(h) for h in hazards),
        "listed": list(listed),
        "pool": _KNN_POOL_FACTOR,
    }
    row = (await conn.execute(_NEAREST_UNSUITED, params)).first()
    return _site(row) if row is not None else None


@dataclass(frozen=True)
class AreaCheck:
    """Whether a point is in the service area, and the area's name."""

    inside: bool
    area_name: str | None
    distance_m: float | None


# The distance is worked out only outside the area (on the sphere, it is most of the cost).
_AREA_CHECK = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g),
    checked AS (SELECT a.name, a.geom, pt.g, ST_Covers(a.geom, pt.g) AS inside
                FROM pt, service_area a)
    SELECT name, inside,
           CASE WHEN inside THEN 0 ELSE ST_Distance(geom::geography, g::geography) END
               AS distance_m
    FROM checked
    ORDER BY inside DESC, distance_m
    LIMIT 1
""")


async def service_area_check(conn: AsyncConnection, lon: float, lat: float) -> AreaCheck:
    """Is the point inside the service area? With no area loaded, every point is."""
    row = (await conn.execute(_AREA_CHECK, {"lon": lon, "lat": lat})).first()
    if row is None:
        return AreaCheck(inside=True, area_name=None, distance_m=None)
    return AreaCheck(inside=row.inside, area_name=row.name, distance_m=float(row.distance_m))


@dataclass(frozen=True)
class LoadedData:
    """What an answer depends on besides the point: the data loaded and the declared hazard."""

    hazard_kinds: list[HazardKind]
    """The kinds for which a hazard layer is loaded, in vocabulary order."""
    hazards_without_sites: list[ShelterHazard]
    """The hazards for which no active site is designated at all."""
    facility_categories: list[FacilityCategory]
    """The categories of which at least one active facility is loaded, in menu order."""
    declared: ActiveHazard | None
    """The declared hazard, or None in normal times."""


# One round trip for what every location answer and help message reads besides the point
# (four statements before: each costs a round trip and the worker's driver overhead). Each
# facility category is probed through its index: a DISTINCT over every facility took 10 ms
# per answer with 50,000 loaded.
_LOADED_DATA = text("""
    SELECT ARRAY(SELECT DISTINCT kind FROM hazard_layers) AS hazard_kinds,
           ARRAY(SELECT h FROM unnest(CAST(:hazards AS text[])) AS h
                 WHERE NOT EXISTS (SELECT 1 FROM shelters WHERE active AND h = ANY(hazards))
           ) AS without_sites,
           ARRAY(SELECT c FROM unnest(CAST(:categories AS text[])) AS c
                 WHERE EXISTS (SELECT 1 FROM facilities WHERE active AND category = c)
           ) AS facility_categories,
           a.hazard, a.declared_by, a.declared_at
    FROM (SELECT 1) AS one LEFT JOIN active_hazard a ON a.id = 1
""")


# The vocabularies the statement checks, as its parameters.
_LOADED_DATA_PARAMS = {
    "hazards": [str(h) for h in ShelterHazard],
    "categories": [str(c) for c in FacilityCategory],
}


async def loaded_data(conn: AsyncConnection) -> LoadedData:
    """The loaded hazard kinds, hazards without a site, facility categories and the
    declared hazard, in one statement."""
    row = (await conn.execute(_LOADED_DATA, _LOADED_DATA_PARAMS)).one()
    return LoadedData(
        hazard_kinds=[kind for kind in HazardKind if kind in row.hazard_kinds],
        hazards_without_sites=[h for h in ShelterHazard if h in row.without_sites],
        facility_categories=[c for c in FacilityCategory if c in row.facility_categories],
        declared=ActiveHazard.of_row(row),
    )


@dataclass(frozen=True)
class NearbyFacility:
    """A public facility, medical institution or AED and its geodesic distance."""

    category: FacilityCategory
    category_text: str
    name: str
    address: str
    phone: str
    hours: str
    url: str
    barrier_free: str
    lon: float
    lat: float
    distance_m: float


# KNN on the geography index (exact on the sphere), then the spheroid distance for the answer.
# Here and in the shelter queries above the KNN point is written out in ORDER BY, not taken
# from the `pt` CTE: only
# an ORDER BY against a constant lets the planner walk the index (measured: 4.6 -> 0.8 ms
# for 50k facilities).
_NEAREST_FACILITIES = text("""
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g),
    candidates AS (
        SELECT f.id FROM facilities f
        WHERE f.active AND f.category = :category
        ORDER BY f.geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
        LIMIT :pool
    )
    SELECT f.category, f.category_text, f.name, f.address, f.phone, f.hours, f.url,
           f.barrier_free, ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat,
           ST_Distance(f.geom::geography, pt.g) AS distance_m
    FROM pt, candidates JOIN facilities f USING (id)
    WHERE CAST(:within AS float8) IS NULL OR ST_Distance(f.geom::geography, pt.g) <= :within
    ORDER BY distance_m, f.name
    LIMIT :limit
""")


async def nearest_facilities(
    conn: AsyncConnection,
    lon: float,
    lat: float,
    category: FacilityCategory,
    limit: int,
    *,
    within_metres: float | None = None,
) -> list[NearbyFacility]:
    """The `limit` nearest active facilities of `category`, nearest first, at most
    `within_metres` away when given."""
    params = {
        "lon": lon,
        "lat": lat,
        "category": str(category),
        "pool": limit * _KNN_POOL_FACTOR,
        "within": within_metres,
        "limit": limit,
    }
    rows = await conn.execute(_NEAREST_FACILITIES, params)
    return [
        NearbyFacility(
            category=FacilityCategory(row.category),
            category_text=row.category_text,
            name=row.name,
            address=row.address,
            phone=row.phone,
            hours=row.hours,
            url=row.url,
            barrier_free=row.barrier_free,
            lon=row.lon,
            lat=row.lat,
            distance_m=float(row.distance_m),
        )
        for row in rows
    ]
