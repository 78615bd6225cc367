"""A SYNTHETIC national-scale data set for the surge bench: sites and hazard zones for Japan.

Nothing here is real data. It is shaped like GSI's designated emergency evacuation sites
(指定緊急避難場所, about 115,000 nationwide): synthetic cities are scattered around each
prefecture's capital, a city's size drawn from a Zipf-like law within its prefecture's
population; sites cluster around city centres, more in bigger cities. Each of the larger
cities gets a synthetic flood zone, a star-shaped polygon of thousands of vertices, stored
whole and cut with ST_Subdivide as the loader cuts real layers (gis.load). The service area
becomes one polygon around all the cities, as a national account's would.

Everything is drawn from a fixed seed, so every run loads the same rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sqlalchemy import Connection, text

from gis.hazards import ShelterHazard
from gis.load import SUBDIVIDE_MAX_VERTICES

SITES = 115_000
CITIES_PER_PREFECTURE = 37  # about 1,740 municipalities in Japan
FLOOD_ZONES = 600
LAYER = "synthetic_national_flood"
SERVICE_AREA = "synthetic-japan"

# Prefectural capitals (approximate lon, lat) and prefecture populations in millions.
PREFECTURES: tuple[tuple[float, float, float], ...] = (
    (141.35, 43.06, 5.1), (140.74, 40.82, 1.2), (141.15, 39.70, 1.2), (140.87, 38.27, 2.3),
    (140.10, 39.72, 0.9), (140.36, 38.24, 1.0), (140.47, 37.75, 1.8), (140.45, 36.37, 2.8),
    (139.88, 36.57, 1.9), (139.06, 36.39, 1.9), (139.65, 35.86, 7.3), (140.12, 35.61, 6.3),
    (139.69, 35.69, 14.0), (139.64, 35.44, 9.2), (139.02, 37.90, 2.1), (137.21, 36.70, 1.0),
    (136.63, 36.56, 1.1), (136.22, 36.06, 0.75), (138.57, 35.66, 0.8), (138.18, 36.65, 2.0),
    (136.72, 35.39, 1.9), (138.38, 34.98, 3.6), (136.91, 35.18, 7.5), (136.51, 34.73, 1.7),
    (135.87, 35.00, 1.4), (135.77, 35.02, 2.5), (135.50, 34.69, 8.8), (135.18, 34.69, 5.4),
    (135.83, 34.69, 1.3), (135.17, 34.23, 0.9), (134.24, 35.50, 0.55), (133.05, 35.47, 0.65),
    (133.93, 34.66, 1.9), (132.46, 34.40, 2.8), (131.47, 34.19, 1.3), (134.56, 34.07, 0.7),
    (134.04, 34.34, 0.95), (132.77, 33.84, 1.3), (133.53, 33.56, 0.7), (130.42, 33.61, 5.1),
    (130.30, 33.25, 0.8), (129.87, 32.74, 1.3), (130.74, 32.79, 1.7), (131.61, 33.24, 1.1),
    (131.42, 31.91, 1.1), (130.56, 31.56, 1.6), (127.68, 26.21, 1.5),
)  # fmt: skip

# Degrees of latitude per metre, near enough for placing synthetic points.
_DEG_PER_M = 1 / 111_000


@dataclass(frozen=True)
class City:
    """A synthetic city: its centre, population and how many sites it has."""

    lon: float
    lat: float
    population: int
    sites: int


@dataclass(frozen=True)
class NationalData:
    """What was loaded, and points where residents stand (near sites, as people live)."""

    cities: list[City]
    sites: int
    zones: int
    zone_vertices: int
    pieces: int
    resident_points: list[tuple[float, float]]


def synthetic_cities(seed: int = 14) -> list[City]:
    """The synthetic cities, with SITES sites shared by population (less than linearly: rural
    places have more sites per person, as in GSI's list)."""
    rng = random.Random(seed)
    drafts: list[tuple[float, float, int]] = []
    for lon, lat, millions in PREFECTURES:
        # Hokkaido is large; the other prefectures span about a degree.
        spread = 1.6 if lat > 41.5 else 0.45
        weights = [1 / (rank + 1) ** 1.1 for rank in range(CITIES_PER_PREFECTURE)]
        total = sum(weights)
        for rank, weight in enumerate(weights):
            distance = 0.0 if rank == 0 else spread * math.sqrt(rng.random())
            angle = rng.uniform(0, 2 * math.pi)
            city_lon = lon + distance * math.cos(angle) / math.cos(math.radians(lat))
            city_lat = lat + distance * math.sin(angle)
            drafts.append((city_lon, city_lat, round(millions * 1e6 * weight / total)))
    shares = [population**0.7 for _, _, population in drafts]
    scale = SITES / sum(shares)
    counts = [max(1, round(share * scale)) for share in shares]
    counts[0] += SITES - sum(counts)  # the rounding remainder, to the first capital
    return [City(lon, lat, pop, n) for (lon, lat, pop), n in zip(drafts, counts, strict=True)]


_SITES = text("""
    INSERT INTO shelters (common_id, name, address, municipality, hazards, is_emergency_site,
                          is_shelter, accepts, notes, geom)
    SELECT 'synthetic-' || s.n, 'synthetic site ' || s.n, 'synthetic', 'synthetic city ' || s.city,
           ARRAY(SELECT h FROM unnest(CAST(:hazards AS text[])) WITH ORDINALITY AS u(h, i)
                 WHERE s.mask & (1 << (i::integer - 1)) <> 0 ORDER BY i),
           true, s.n % 3 = 0, '', 'synthetic', ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)
    FROM unnest(CAST(:n AS int[]), CAST(:city AS int[]), CAST(:mask AS int[]),
                CAST(:lon AS float8[]), CAST(:lat AS float8[])) AS s(n, city, mask, lon, lat)
""")

_LAYER = text("""
    INSERT INTO hazard_layers (name, kind, source_file, checksum, feature_count)
    VALUES (:name, 'flood', 'synthetic', 'synthetic', :n) RETURNING id
""")

# A star-shaped ring (radius a smooth function of the angle, so never self-intersecting)
# of `vertices` points around a city centre.
_ZONES = text("""
    INSERT INTO hazard_zones (layer_id, kind, feature_index, rank, depth_min_m, depth_max_m,
                              label_ja, label_en, attributes, geom)
    SELECT :layer, 'flood', z.i, 2, 0.5, 3.0, '0.5m以上3.0m未満', '0.5 m to 3 m',
           '{"synthetic": true}'::jsonb,
           ST_Multi(ST_MakePolygon(ST_AddPoint(ring.line, ST_StartPoint(ring.line))))
    FROM unnest(CAST(:i AS int[]), CAST(:lon AS float8[]), CAST(:lat AS float8[]),
                CAST(:radius AS float8[]), CAST(:vertices AS int[]), CAST(:phase AS float8[]))
         AS z(i, lon, lat, radius, vertices, phase),
    LATERAL (
        SELECT ST_MakeLine(ST_SetSRID(ST_MakePoint(
                   z.lon + r * cos(t) / cos(radians(z.lat)), z.lat + r * sin(t)), 4326)
                   ORDER BY k) AS line
        FROM (SELECT k, 2 * pi() * k / z.vertices AS t FROM generate_series(0, z.vertices - 1) k) a,
        LATERAL (SELECT z.radius * (1 + 0.3 * sin(3 * a.t + z.phase) + 0.08 * sin(29 * a.t)
                                    + 0.02 * sin(211 * a.t + z.phase)) AS r) b
    ) ring
""")

_PIECES = text("""
    INSERT INTO hazard_zone_parts (zone_id, geom)
    SELECT id, ST_Subdivide(geom, :max_vertices) FROM hazard_zones WHERE layer_id = :layer
""")

_SERVICE_AREA = text("""
    INSERT INTO service_area (code, name, checksum, geom)
    SELECT :code, 'synthetic Japan', 'synthetic',
           ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(geom)), 0.3))
    FROM shelters WHERE common_id LIKE 'synthetic-%'
""")

_COUNTS = text("""
    SELECT (SELECT count(*) FROM hazard_zone_parts p JOIN hazard_zones z ON z.id = p.zone_id
            WHERE z.layer_id = :layer) AS pieces,
           (SELECT sum(ST_NPoints(geom)) FROM hazard_zones WHERE layer_id = :layer) AS vertices
""")


def load_national(conn: Connection, seed: int = 14, points: int = 50_000) -> NationalData:
    """Insert the synthetic sites, flood zones and service area; return what was loaded.
    (VACUUM ANALYZE afterwards, outside the transaction, before timing anything.)"""
    rng = random.Random(seed)
    cities = synthetic_cities(seed)
    hazards = [str(h) for h in ShelterHazard]
    site_rows: dict[str, list[float | int]] = {k: [] for k in ("n", "city", "mask", "lon", "lat")}
    coordinates: list[tuple[float, float]] = []
    for number, city in enumerate(cities):
        # Denser cities hold their sites closer to the centre, in metres: 1.5 to 6 km.
        sigma_m = min(6000.0, 1500.0 + math.sqrt(city.population) * 4)
        for _ in range(city.sites):
            lat = city.lat + rng.gauss(0, sigma_m) * _DEG_PER_M
            lon = city.lon + rng.gauss(0, sigma_m) * _DEG_PER_M / math.cos(math.radians(lat))
            coordinates.append((lon, lat))
            site_rows["n"].append(len(coordinates))
            site_rows["city"].append(number)
            # Most sites are designated for earthquakes and fires, fewer for water.
            mask = sum(1 << i for i in range(len(hazards)) if rng.random() < (0.8, 0.4)[i % 2])
            site_rows["mask"].append(mask)
            site_rows["lon"].append(lon)
            site_rows["lat"].append(lat)
    conn.execute(_SITES, {"hazards": hazards, **site_rows})

    biggest = sorted(range(len(cities)), key=lambda i: -cities[i].population)[:FLOOD_ZONES]
    zones: dict[str, list[float | int]] = {
        k: [] for k in ("i", "lon", "lat", "radius", "vertices", "phase")
    }
    for index, number in enumerate(biggest):
        city = cities[number]
        zones["i"].append(index)
        zones["lon"].append(city.lon + rng.uniform(-0.02, 0.02))
        zones["lat"].append(city.lat + rng.uniform(-0.02, 0.02))
        zones["radius"].append(min(0.12, 0.01 + math.sqrt(city.population) * 2e-5))
        zones["vertices"].append(rng.randrange(1000, 6000))
        zones["phase"].append(rng.uniform(0, 2 * math.pi))
    layer = conn.execute(_LAYER, {"name": LAYER, "n": len(biggest)}).scalar_one()
    conn.execute(_ZONES, {"layer": layer, **zones})
    conn.execute(_PIECES, {"layer": layer, "max_vertices": SUBDIVIDE_MAX_VERTICES})
    conn.execute(_SERVICE_AREA, {"code": SERVICE_AREA})
    counts = conn.execute(_COUNTS, {"layer": layer}).one()
    # Residents stand within a few hundred metres of a site, so where people live.
    resident_points = []
    for _ in range(points):
        lon, lat = coordinates[rng.randrange(len(coordinates))]
        resident_points.append(
            (lon + rng.gauss(0, 300) * _DEG_PER_M, lat + rng.gauss(0, 300) * _DEG_PER_M)
        )
    return NationalData(
        cities=cities,
        sites=len(coordinates),
        zones=len(biggest),
        zone_vertices=int(counts.vertices),
        pieces=int(counts.pieces),
        resident_points=resident_points,
    )
