"""The chat page's SQL: what its location picker draws."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

_AREA = text("""
    SELECT name, ST_AsGeoJSON(geom, 5)::json AS geometry,
           ST_Y(ST_PointOnSurface(geom)) AS lat, ST_X(ST_PointOnSurface(geom)) AS lon
    FROM service_area ORDER BY code LIMIT 1
""")
_SHELTERS = text("""
    SELECT name, round(ST_Y(geom)::numeric, 6) AS lat, round(ST_X(geom)::numeric, 6) AS lon
    FROM shelters WHERE active ORDER BY name
""")


async def service_area(conn: AsyncConnection) -> Row[*tuple[Any, ...]] | None:
    """The service area, if loaded: name, geometry (GeoJSON), and lat, lon of a point on it."""
    return (await conn.execute(_AREA)).first()


async def shelter_points(conn: AsyncConnection) -> list[list[Any]]:
    """[lat, lon, name] of every active shelter, by name (coordinates to 6 decimals)."""
    return [[float(r.lat), float(r.lon), r.name] for r in await conn.execute(_SHELTERS)]
