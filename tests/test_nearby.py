"""The location queries on the real Kita-ku data (shipped files, loaded into PostGIS)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pyproj import Geod
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gis import nearby
from gis.hazards import HazardKind, ShelterHazard

TABATA_JHS = (139.754165, 35.738271)  # 区立田端中学校 (lon, lat)
TABATA_ES = (139.757196, 35.737176)  # 区立田端小学校
UKIMA = (139.6917, 35.7898)
SHINJUKU = (139.7006, 35.6896)
GEOD = Geod(ellps="WGS84")


@pytest_asyncio.fixture
async def conn(kita_url: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(kita_url)
    async with engine.connect() as connection:
        yield connection
    await engine.dispose()


@pytest.mark.asyncio
async def test_tabata_junior_high_is_45m_from_landslide_zone_k094(conn: AsyncConnection) -> None:
    hits = await nearby.hazards_at(conn, *TABATA_JHS, near_metres=50)
    landslide = [h for h in hits if h.kind is HazardKind.LANDSLIDE]
    assert [h.zone_key for h in landslide] == ["117001-K094"]
    assert not landslide[0].inside
    assert 40 < landslide[0].distance_m < 50
    # Within 30 m there is nothing: "near" depends on the distance asked for.
    closer = await nearby.hazards_at(conn, *TABATA_JHS, near_metres=30)
    assert not [h for h in closer if h.kind is HazardKind.LANDSLIDE]


@pytest.mark.asyncio
async def test_point_inside_a_flood_zone_reports_its_depth(conn: AsyncConnection) -> None:
    hits = await nearby.hazards_at(conn, *UKIMA, near_metres=50)
    inside = [h for h in hits if h.inside]
    assert [(h.kind, h.rank) for h in inside] == [(HazardKind.FLOOD, 4)]
    assert "5〜10m" in inside[0].label_ja
    assert inside[0].distance_m == 0.0


@pytest.mark.asyncio
async def test_nearest_sites_are_ordered_by_geodesic_distance(conn: AsyncConnection) -> None:
    sites = await nearby.nearest_sites(conn, *TABATA_JHS, limit=5)
    assert sites[0].name == "区立田端中学校"
    assert sites[0].distance_m < 1
    distances = [s.distance_m for s in sites]
    assert distances == sorted(distances)
    for site in sites:
        expected = GEOD.inv(TABATA_JHS[0], TABATA_JHS[1], site.lon, site.lat)[2]
        assert site.distance_m == pytest.approx(expected, abs=0.5)


@pytest.mark.asyncio
async def test_sites_suited_to_the_hazard_come_first(conn: AsyncConnection) -> None:
    plain = await nearby.nearest_sites(conn, *UKIMA, limit=5)
    assert ShelterHazard.FLOOD not in plain[0].hazards  # 浮間's schools: earthquake only
    preferred = await nearby.nearest_sites(conn, *UKIMA, limit=5, prefer=[ShelterHazard.FLOOD])
    assert all(ShelterHazard.FLOOD in s.hazards for s in preferred)
    assert preferred[0].distance_m > plain[0].distance_m
    both = [ShelterHazard.FLOOD, ShelterHazard.LANDSLIDE]
    ranked = await nearby.nearest_sites(conn, *TABATA_ES, limit=3, prefer=both)
    # 区立田端小学校 is designated for both, so it leads.
    assert ranked[0].name == "区立田端小学校"


@pytest.mark.asyncio
async def test_retired_sites_are_not_offered(conn: AsyncConnection) -> None:
    await conn.execute(text("UPDATE shelters SET active = false WHERE name = '区立田端中学校'"))
    sites = await nearby.nearest_sites(conn, *TABATA_JHS, limit=5)
    assert "区立田端中学校" not in [s.name for s in sites]


@pytest.mark.asyncio
async def test_hazards_without_any_site_in_kita(conn: AsyncConnection) -> None:
    missing = (await nearby.loaded_data(conn)).hazards_without_sites
    assert missing == [
        ShelterHazard.TSUNAMI,
        ShelterHazard.LARGE_FIRE,
        ShelterHazard.INLAND_FLOOD,
        ShelterHazard.VOLCANO,
    ]


@pytest.mark.asyncio
async def test_service_area_check(conn: AsyncConnection) -> None:
    inside = await nearby.service_area_check(conn, *TABATA_JHS)
    assert inside.inside and inside.area_name == "東京都北区"
    outside = await nearby.service_area_check(conn, *SHINJUKU)
    assert not outside.inside
    assert outside.distance_m is not None and 4000 < outside.distance_m < 9000
    kinds = (await nearby.loaded_data(conn)).hazard_kinds
    assert kinds == [HazardKind.FLOOD, HazardKind.LANDSLIDE]
