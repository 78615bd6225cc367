"""Reading a GeoJSON FeatureCollection into validated lon/lat shapely geometries.

Shared by every GeoJSON reader (GSI, 国土数値情報, PLATEAU, N03) so that JSON errors, CRS
handling, geometry repair and the "is this really in Japan?" check behave the same way.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

import shapely
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, shape
from shapely.geometry.base import BaseGeometry

from gis.crs import (
    WGS84,
    crs_from_geojson,
    is_geographic,
    looks_like_japan,
    looks_swapped,
    normalise_crs,
    to_wgs84,
)
from gis.sources.errors import SourceError

POINT = frozenset({"Point"})
POLYGONAL = frozenset({"Polygon", "MultiPolygon"})


class Feature(NamedTuple):
    """One feature: 1-based position in the file, its properties, its EPSG:4326 geometry."""

    number: int
    properties: dict[str, Any]
    geometry: BaseGeometry


def load_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file (UTF-8, BOM allowed); syntax errors become `SourceError`."""
    with open(path, "rb") as file:
        raw = file.read()
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise SourceError(path, f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(
            path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def read_features(
    path: str | os.PathLike[str],
    crs: str | None,
    geometry_types: frozenset[str],
) -> list[Feature]:
    """Read every feature of a FeatureCollection, reprojected to EPSG:4326.

    The CRS is `crs` if given, else the file's `crs` member, else EPSG:4326 (RFC 7946).
    Each geometry must be one of `geometry_types`, valid (invalid polygons are repaired
    when the repair is still polygonal) and inside Japan. Raises `SourceError` on the
    first problem (field "crs" for an unsupported `crs` argument or member), and for a
    collection without features.
    """
    doc = load_json(path)
    if not (
        isinstance(doc, dict)
        and doc.get("type") == "FeatureCollection"
        and isinstance(doc.get("features"), list)
    ):
        raise SourceError(path, "not a GeoJSON FeatureCollection")
    source_crs = given_crs(path, crs) if crs is not None else _file_crs(path, doc)
    if not doc["features"]:
        raise SourceError(path, "no features")
    return [
        _feature(path, index, raw, source_crs, geometry_types)
        for index, raw in enumerate(doc["features"], start=1)
    ]


def given_crs(path: str | os.PathLike[str], crs: str) -> str:
    """Normalise a CRS given by the caller for `path`; SourceError (field crs) if unsupported.

    A SourceError rather than a bare ValueError, so that callers handle one kind of error.
    """
    try:
        return normalise_crs(crs)
    except ValueError as exc:
        raise SourceError(path, str(exc), field="crs") from exc


def _file_crs(path: str | os.PathLike[str], doc: dict[str, Any]) -> str:
    try:
        return crs_from_geojson(doc) or WGS84
    except ValueError as exc:
        raise SourceError(path, str(exc), field="crs") from exc


def _feature(
    path: str | os.PathLike[str],
    index: int,
    raw: Any,
    crs: str,
    geometry_types: frozenset[str],
) -> Feature:
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        raise SourceError(path, "not a GeoJSON Feature", feature=index)
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        raise SourceError(path, "properties is not an object", feature=index, field="properties")
    try:
        geometry = _geometry(raw.get("geometry"), crs, geometry_types)
    except ValueError as exc:
        raise SourceError(path, str(exc), feature=index, field="geometry") from exc
    return Feature(index, properties, geometry)


def _geometry(raw: Any, crs: str, geometry_types: frozenset[str]) -> BaseGeometry:
    """Build, check, reproject and if need be repair one geometry; ValueError if unusable."""
    if not isinstance(raw, dict):
        raise ValueError("no geometry")
    try:
        geom = shape(raw)
    except (ShapelyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a valid GeoJSON geometry: {exc}") from exc
    if geom.geom_type not in geometry_types:
        raise ValueError(f"expected {' or '.join(sorted(geometry_types))}, got {geom.geom_type}")
    if geom.is_empty:
        raise ValueError("empty geometry")
    wgs84 = reproject_checked(shapely.force_2d(geom), crs)
    if wgs84.is_valid:
        return wgs84
    repaired = shapely.make_valid(wgs84)
    if geometry_types == POLYGONAL and repaired.geom_type in POLYGONAL:
        return repaired
    raise ValueError(f"invalid geometry that cannot be repaired: {shapely.is_valid_reason(wgs84)}")


def reproject_checked(geom: BaseGeometry, crs: str) -> BaseGeometry:
    """Reproject `geom` from `crs` to EPSG:4326; ValueError if it does not land in Japan.

    The message says whether latitude and longitude look swapped or the CRS looks wrong.
    """
    wgs84 = to_wgs84(geom, crs)
    if looks_like_japan(wgs84):
        return wgs84
    x, y = shapely.get_coordinates(geom)[0]
    where = f"first point x={x:.8g}, y={y:.8g}"
    if is_geographic(crs) and looks_swapped(geom):
        raise ValueError(f"latitude and longitude look swapped ({where})")
    raise ValueError(
        f"coordinates fall outside Japan when read as {crs}, so the CRS is probably wrong: "
        f"give the right one in the file's crs member or to the loader ({where})"
    )


def as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """Promote a Polygon to a one-part MultiPolygon; ValueError for non-polygonal input."""
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    raise ValueError(f"expected Polygon or MultiPolygon, got {geom.geom_type}")


def text_property(properties: dict[str, Any], key: str) -> str:
    """`properties[key]` as stripped text; "" for a missing or null value.

    GSI pads some names with full-width spaces: str.strip() removes U+3000 too.
    """
    value = properties.get(key)
    return "" if value is None else str(value).strip()
