"""Hazard zone polygons: 国土数値情報 (A31, A31a, A33, A40), PLATEAU and our flood layer.

Each feature is matched against the property layouts known for the layer's kind; the
first whose fields are present reads it. Codes are checked against the official
codelists, so a file from a newer or different codelist fails loudly instead of being
mislabelled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from shapely.geometry import MultiPolygon

from gis.hazards import (
    A31_DEPTH_RANKS,
    A33_PHENOMENA,
    A33_ZONE_TYPES,
    DepthRange,
    HazardKind,
    parse_depth_text,
)
from gis.sources.errors import Fail, SourceError
from gis.sources.geojson import POLYGONAL, Feature, as_multipolygon, read_features, text_property


@dataclass(frozen=True)
class HazardRecord:
    """One hazard zone polygon in EPSG:4326, with its depth class or zone type."""

    kind: HazardKind
    feature_index: int
    zone_key: str | None
    rank: int | None
    depth_min_m: float | None
    depth_max_m: float | None
    label_ja: str
    label_en: str
    attributes: dict[str, Any]
    geometry: MultiPolygon


class _Zone(NamedTuple):
    """What a layout reads from one feature's properties."""

    zone_key: str | None
    rank: int | None
    depth_min_m: float | None
    depth_max_m: float | None
    label_ja: str
    label_en: str


class _Layout(NamedTuple):
    fields: str  # the fields that identify the layout, for error messages
    # Returns None when the feature lacks the layout's fields.
    read: Callable[[dict[str, Any], Fail], _Zone | None]


def _code(
    properties: dict[str, Any], field: str, codelist: Mapping[int, Any], fail: Fail
) -> int | None:
    """The integer code in `field` (None if absent or blank), checked against `codelist`."""
    value = properties.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    # Shapefile conversions give codes as strings or floats as often as integers.
    if (isinstance(value, str) and value.strip().isdigit()) or (
        isinstance(value, float) and value.is_integer()
    ):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise fail(f"not a code: {value!r}", field=field)
    if value not in codelist:
        allowed = ", ".join(str(c) for c in sorted(codelist))
        raise fail(f"code {value} is not in the codelist ({allowed})", field=field)
    return value


def _metres(properties: dict[str, Any], field: str, fail: Fail) -> float | None:
    value = properties.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(f"not a number: {value!r}", field=field)
    return float(value)


def _depth_zone(depth: DepthRange, rank: int | None, river: str = "") -> _Zone:
    label_ja = f"浸水深 {depth.label_ja}" + (f"（{river}）" if river else "")
    label_en = f"depth {depth.label_en}" + (f" ({river})" if river else "")
    return _Zone(None, rank, depth.min_m, depth.max_m, label_ja, label_en)


def _a31(properties: dict[str, Any], fail: Fail) -> _Zone | None:
    # The maximum assumed scale (想定最大規模) is what residents should plan for.
    for field in ("A31_201", "A31_101"):
        rank = _code(properties, field, A31_DEPTH_RANKS, fail)
        if rank is not None:
            return _depth_zone(A31_DEPTH_RANKS[rank], rank)
    return None


_A31A_RANK = re.compile(r"A31a_\d05")


def _a31a(properties: dict[str, Any], fail: Fail) -> _Zone | None:
    keys = sorted(
        (key for key in properties if _A31A_RANK.fullmatch(key)),
        key=lambda key: (key != "A31a_205", key != "A31a_105", key),
    )
    for key in keys:
        rank = _code(properties, key, A31_DEPTH_RANKS, fail)
        if rank is not None:
            river = text_property(properties, key.removesuffix("05") + "02")
            return _depth_zone(A31_DEPTH_RANKS[rank], rank, river)
    return None


def _depth_rank(properties: dict[str, Any], fail: Fail) -> _Zone | None:
    rank = _code(properties, "depth_rank", A31_DEPTH_RANKS, fail)
    if rank is None:
        return None
    # Our flood layer gives the range explicitly where the legend colour is ambiguous
    # (rank 3 there is 2–5 m, not 3–5 m): prefer it to the rank's nominal range.
    low = _metres(properties, "depth_min_m", fail)
    depth = (
        A31_DEPTH_RANKS[rank]
        if low is None
        else DepthRange.between(low, _metres(properties, "depth_max_m", fail))
    )
    zone = _depth_zone(depth, rank)
    source_label = text_property(properties, "depth_label_ja")
    return zone._replace(label_ja=f"浸水深 {source_label}") if source_label else zone


def _a40(properties: dict[str, Any], fail: Fail) -> _Zone | None:
    if properties.get("A40_003") is None:
        return None
    text = text_property(properties, "A40_003")
    if not text:
        raise fail("blank depth class", field="A40_003")
    depth = parse_depth_text(text)
    if depth is None:
        # Wording we cannot read is still the official class: show it as given.
        return _Zone(None, None, None, None, f"浸水深 {text}", f"depth {text}")
    return _depth_zone(depth, None)


def _landslide(
    phenomenon_field: str,
    zone_type_field: str,
    key_field: str,
    properties: dict[str, Any],
    fail: Fail,
) -> _Zone | None:
    phenomenon = _code(properties, phenomenon_field, A33_PHENOMENA, fail)
    if phenomenon is None:
        return None
    zone_type = _code(properties, zone_type_field, A33_ZONE_TYPES, fail)
    if zone_type is None:
        raise fail("missing zone type", field=zone_type_field)
    what, where = A33_PHENOMENA[phenomenon], A33_ZONE_TYPES[zone_type]
    return _Zone(
        zone_key=text_property(properties, key_field) or None,
        rank=None,
        depth_min_m=None,
        depth_max_m=None,
        label_ja=f"土砂災害{where.ja}（{what.ja}）",
        label_en=f"Landslide {where.en} ({what.en})",
    )


# (phenomenon field, zone type field) of the landslide layouts: A33, PLATEAU.
_LANDSLIDE_CODE_FIELDS = (("A33_001", "A33_002"), ("disaster_type", "area_type"))


def landslide_codes(properties: Mapping[str, Any]) -> tuple[int, int] | None:
    """(zone type, phenomenon) of a loaded landslide zone's properties, in either layout
    (A33, PLATEAU); None when they hold no such codes."""
    fail = partial(SourceError, "stored zone")
    for phenomenon_field, zone_type_field in _LANDSLIDE_CODE_FIELDS:
        try:
            phenomenon = _code(dict(properties), phenomenon_field, A33_PHENOMENA, fail)
            zone_type = _code(dict(properties), zone_type_field, A33_ZONE_TYPES, fail)
        except SourceError:
            return None
        if phenomenon is not None and zone_type is not None:
            return zone_type, phenomenon
    return None


_A31 = _Layout("A31_201, A31_101", _a31)
_A31A = _Layout("A31a_X05", _a31a)
_DEPTH_RANK = _Layout("depth_rank", _depth_rank)
_A40 = _Layout("A40_003", _a40)
_A33 = _Layout("A33_001", partial(_landslide, "A33_001", "A33_002", "A33_004"))
_PLATEAU = _Layout(
    "disaster_type", partial(_landslide, "disaster_type", "area_type", "zone_number")
)

_LAYOUTS: dict[HazardKind, tuple[_Layout, ...]] = {
    HazardKind.FLOOD: (_A31, _A31A, _DEPTH_RANK),
    HazardKind.STORM_SURGE: (_A31, _DEPTH_RANK),
    HazardKind.INLAND_FLOOD: (_A31, _DEPTH_RANK),
    HazardKind.TSUNAMI: (_A40, _DEPTH_RANK),
    HazardKind.LANDSLIDE: (_A33, _PLATEAU),
}


def _record(path: str | os.PathLike[str], kind: HazardKind, feature: Feature) -> HazardRecord:
    fail = partial(SourceError, path, feature=feature.number)
    layouts = _LAYOUTS[kind]
    zone = next(
        (z for z in (layout.read(feature.properties, fail) for layout in layouts) if z), None
    )
    if zone is None:
        fields = ", ".join(layout.fields for layout in layouts[:-1])
        expected = f"{fields} or {layouts[-1].fields}"
        layer = kind.value.replace("_", " ")
        raise fail(f"none of the fields expected for a {layer} layer ({expected})")
    return HazardRecord(
        kind=kind,
        feature_index=feature.number,
        zone_key=zone.zone_key,
        rank=zone.rank,
        depth_min_m=zone.depth_min_m,
        depth_max_m=zone.depth_max_m,
        label_ja=zone.label_ja,
        label_en=zone.label_en,
        attributes=dict(feature.properties),
        geometry=as_multipolygon(feature.geometry),
    )


def read_hazard_geojson(
    path: str | os.PathLike[str], kind: HazardKind, crs: str | None = None
) -> list[HazardRecord]:
    """Read a hazard zone layer of the given kind; one record per feature, in file order.

    Raises `SourceError` for a feature whose properties fit no layout known for `kind`,
    a code outside its codelist, a non-polygonal geometry or an empty collection.
    """
    kind = HazardKind(kind)
    return [_record(path, kind, feature) for feature in read_features(path, crs, POLYGONAL)]
