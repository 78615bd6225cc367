"""Coordinate reference systems met in Japanese open data, and reprojection to WGS84.

Everything downstream (PostGIS, the bot's distance maths) works in EPSG:4326 lon/lat, so
every reader sends its geometries through `to_wgs84`. Only the CRSs listed in
`SUPPORTED_EPSG` are accepted: anything else in a municipal file is far more likely to be a
mistake than a CRS we should silently trust.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

WGS84 = "EPSG:4326"

# Geographic CRSs (degrees). JGD2000 and the Tokyo datum still need a datum shift.
GEOGRAPHIC_EPSG = frozenset({4326, 6668, 4612, 4301})
SUPPORTED_EPSG = frozenset(
    GEOGRAPHIC_EPSG
    | {3857}
    | set(range(6669, 6688))  # JGD2011 plane rectangular I–XIX
    | set(range(2443, 2462))  # JGD2000 plane rectangular I–XIX
)
# JGD2011 differs from WGS84 by well under a metre: transforming would only add rounding.
_SAME_AS_WGS84 = frozenset({"EPSG:4326", "EPSG:6668"})

_EPSG_PATTERNS = (
    re.compile(r"(?:epsg:)?(\d+)", re.IGNORECASE),
    re.compile(r"urn:ogc:def:crs:epsg:[\d.]*:(\d+)", re.IGNORECASE),
    re.compile(r"https?://www\.opengis\.net/def/crs/epsg/[\d.]+/(\d+)", re.IGNORECASE),
)
_CRS84_PATTERN = re.compile(
    r"(?:urn:ogc:def:crs:ogc:1\.3:|https?://www\.opengis\.net/def/crs/ogc/1\.3/|ogc:)?crs84",
    re.IGNORECASE,
)


class Bounds(NamedTuple):
    """A lon/lat box."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


JAPAN_BOUNDS = Bounds(min_lon=122.0, min_lat=20.0, max_lon=154.0, max_lat=46.0)


def normalise_crs(text: str) -> str:
    """Return `text` ("6677", "epsg:6677", a URN or URL, CRS84) as "EPSG:NNNN".

    CRS84 (lon/lat WGS84) becomes EPSG:4326. Raises ValueError for text that names no CRS
    or a CRS outside `SUPPORTED_EPSG`.
    """
    cleaned = text.strip()
    if _CRS84_PATTERN.fullmatch(cleaned):
        return WGS84
    for pattern in _EPSG_PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match:
            code = int(match.group(1))
            if code not in SUPPORTED_EPSG:
                raise ValueError(
                    f"unsupported CRS {text!r}: expected EPSG:4326, 6668 (JGD2011), "
                    "4612 (JGD2000), 4301 (Tokyo), 6669-6687 or 2443-2461 (plane "
                    "rectangular), 3857 or CRS84"
                )
            return f"EPSG:{code}"
    raise ValueError(f"unrecognised CRS {text!r}: give an EPSG code such as 'EPSG:6677'")


def crs_from_geojson(doc: Mapping[str, Any]) -> str | None:
    """Return the normalised CRS named by a GeoJSON document's `crs` member, or None.

    Reads the 2008 form `{"type": "name", "properties": {"name": ...}}` and GDAL's old
    `{"type": "EPSG", "properties": {"code": ...}}`. Raises ValueError for a malformed or
    unsupported member.
    """
    member = doc.get("crs")
    if member is None:
        return None
    properties = member.get("properties") if isinstance(member, Mapping) else None
    if not isinstance(properties, Mapping):
        raise ValueError(f"malformed crs member: {member!r}")
    kind = member.get("type")
    if kind == "name" and isinstance(properties.get("name"), str):
        return normalise_crs(properties["name"])
    if kind == "EPSG" and isinstance(properties.get("code"), int | str):
        return normalise_crs(str(properties["code"]))
    raise ValueError(f"malformed crs member: {member!r}")


def is_geographic(crs: str) -> bool:
    """True if `crs` (any form `normalise_crs` accepts) has coordinates in degrees."""
    return int(normalise_crs(crs).removeprefix("EPSG:")) in GEOGRAPHIC_EPSG


@lru_cache(maxsize=32)
def _transformer(crs: str) -> Transformer:
    # always_xy: GeoJSON and shapefiles give easting/longitude first whatever EPSG says.
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """Reproject `geom` from `crs` to EPSG:4326 lon/lat (identity for 4326, 6668, CRS84).

    Works offline: without PROJ's network grids the Tokyo datum (EPSG:4301) goes through
    the Helmert fallback, which is good to a few metres — ample for a chat bot. Points that
    cannot be transformed come out as inf, which `looks_like_japan` then rejects.
    """
    source = normalise_crs(crs)
    if source in _SAME_AS_WGS84:
        return geom
    transformer = _transformer(source)

    def transform(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack((lon, lat))

    return shapely.transform(geom, transform)


def _within(geom: BaseGeometry, bounds: Bounds) -> bool:
    if geom.is_empty:
        return False
    min_x, min_y, max_x, max_y = geom.bounds
    finite = bool(np.isfinite([min_x, min_y, max_x, max_y]).all())
    return (
        finite
        and bounds.min_lon <= min_x
        and max_x <= bounds.max_lon
        and bounds.min_lat <= min_y
        and max_y <= bounds.max_lat
    )


def on_earth(lon: float, lat: float) -> bool:
    """True for a longitude and latitude that name a place: finite, |lat| ≤ 90, |lon| ≤ 180."""
    return math.isfinite(lon) and math.isfinite(lat) and abs(lat) <= 90 and abs(lon) <= 180


def looks_like_japan(geom: BaseGeometry) -> bool:
    """True if `geom` (lon/lat) lies entirely within `JAPAN_BOUNDS`."""
    return _within(geom, JAPAN_BOUNDS)


def swap_xy(geom: BaseGeometry) -> BaseGeometry:
    """Return `geom` with x and y exchanged."""
    return shapely.transform(geom, lambda coords: coords[:, ::-1])


def looks_swapped(geom: BaseGeometry) -> bool:
    """True if `geom` lies outside Japan as given but inside it with x and y exchanged.

    That is the signature of latitude given as x: the lon and lat ranges of Japan do not
    overlap, so the test cannot be fooled by a correct geometry.
    """
    return not looks_like_japan(geom) and looks_like_japan(swap_xy(geom))
