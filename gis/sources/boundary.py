"""The service area: a municipality's boundary from 国土数値情報 行政区域 (N03)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import shapely
from shapely.geometry import MultiPolygon

from gis.sources.errors import SourceError
from gis.sources.geojson import POLYGONAL, Feature, as_multipolygon, read_features, text_property

# 都道府県, 郡・政令市, 市区町村, 政令市の区 (absent in older releases).
_N03_NAME_FIELDS = ("N03_001", "N03_003", "N03_004", "N03_005")


@dataclass(frozen=True)
class AreaRecord:
    """One administrative area: 全国地方公共団体コード, full name, EPSG:4326 outline."""

    code: str
    name: str
    geometry: MultiPolygon


def _code_and_name(path: str | os.PathLike[str], feature: Feature) -> tuple[str, str]:
    properties = feature.properties
    code = text_property(properties, "N03_007")
    if code:
        name = "".join(text_property(properties, field) for field in _N03_NAME_FIELDS)
    else:
        code = text_property(properties, "code")
        name = text_property(properties, "name")
    if not code:
        raise SourceError(path, "no area code (N03_007 or code)", feature=feature.number)
    if not name:
        raise SourceError(path, "no area name", feature=feature.number, field="name")
    return code, name


def read_area_geojson(path: str | os.PathLike[str], crs: str | None = None) -> AreaRecord:
    """Read one area from an N03 file (or one with `code` and `name` properties).

    N03 splits an area with islands or enclaves into several features of the same code:
    they are unioned. A file holding more than one code raises `SourceError`.
    """
    features = read_features(path, crs, POLYGONAL)
    identities = [_code_and_name(path, feature) for feature in features]
    codes = sorted({code for code, _ in identities})
    if len(codes) > 1:
        raise SourceError(path, f"holds several areas ({', '.join(codes)}): give one per file")
    code, name = identities[0]
    geometry = shapely.union_all([feature.geometry for feature in features])
    return AreaRecord(code=code, name=name, geometry=as_multipolygon(geometry))
