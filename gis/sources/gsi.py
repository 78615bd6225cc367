"""GSI 指定緊急避難場所・指定避難所 data: the official CSV, the GeoJSON layouts, the join.

An emergency evacuation site (指定緊急避難場所, 共通ID suffix 2xx) is where to flee from a
given hazard; a designated shelter (指定避難所, suffix 1xx) is where people stay. The first
11 characters of 共通ID name the facility, which links the two.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from shapely.geometry import Point

from gis.hazards import GSI_FLAG_COLUMNS, ShelterHazard
from gis.sources.csvtext import read_csv_rows
from gis.sources.errors import Fail, SourceError
from gis.sources.geojson import (
    POINT,
    Feature,
    given_crs,
    read_features,
    reproject_checked,
    text_property,
)

COMMON_ID = "共通ID"
NAME = "施設・場所名"
ADDRESS = "住所"
MUNICIPALITY = "都道府県名及び市町村名"
NOTES = "備考"
ACCEPTS = "受入対象者"
LATITUDE = "緯度"
LONGITUDE = "経度"
# Columns of our joined shelters.geojson beyond the GSI ones.
SHELTER_COMMON_ID = "指定避難所_共通ID"
IS_EMERGENCY_SITE = "指定緊急避難場所"
IS_SHELTER = "指定避難所"

FACILITY_PREFIX_LENGTH = 11
# The national CSV's coordinates are JGD2011 degrees.
_CSV_CRS = "EPSG:6668"
_CSV_REQUIRED = (COMMON_ID, NAME, ADDRESS, *GSI_FLAG_COLUMNS, LATITUDE, LONGITUDE)


@dataclass(frozen=True)
class ShelterRecord:
    """An evacuation site and/or shelter, one per facility after the join."""

    common_id: str
    name: str
    address: str
    municipality: str
    lon: float
    lat: float
    hazards: frozenset[ShelterHazard]
    is_emergency_site: bool
    is_shelter: bool
    shelter_common_id: str | None
    notes: str
    accepts: str


def _required(properties: dict[str, Any], column: str, fail: Fail) -> str:
    value = text_property(properties, column)
    if not value:
        raise fail("missing or blank", field=column)
    return value


def _flag(properties: dict[str, Any], column: str, fail: Fail) -> bool:
    value = text_property(properties, column)
    if value not in ("1", "0", ""):
        raise fail(f"expected '1' or blank, got {value!r}", field=column)
    return value == "1"


def _hazards(properties: dict[str, Any], fail: Fail) -> frozenset[ShelterHazard]:
    return frozenset(
        hazard for column, hazard in GSI_FLAG_COLUMNS.items() if _flag(properties, column, fail)
    )


def _record(
    properties: dict[str, Any], lon: float, lat: float, fail: Fail, **layout: Any
) -> ShelterRecord:
    """The columns every layout shares, plus what the layout says (`layout`)."""
    return ShelterRecord(
        common_id=_required(properties, COMMON_ID, fail),
        name=_required(properties, NAME, fail),
        address=text_property(properties, ADDRESS),
        municipality=text_property(properties, MUNICIPALITY),
        lon=lon,
        lat=lat,
        notes=text_property(properties, NOTES),
        **layout,
    )


def _site(properties: dict[str, Any], lon: float, lat: float, fail: Fail) -> ShelterRecord:
    return _record(
        properties,
        lon,
        lat,
        fail,
        hazards=_hazards(properties, fail),
        is_emergency_site=True,
        is_shelter=False,
        shelter_common_id=None,
        accepts="",
    )


def _shelter(properties: dict[str, Any], lon: float, lat: float, fail: Fail) -> ShelterRecord:
    return _record(
        properties,
        lon,
        lat,
        fail,
        hazards=frozenset(),
        is_emergency_site=False,
        is_shelter=True,
        shelter_common_id=_required(properties, COMMON_ID, fail),
        accepts=text_property(properties, ACCEPTS),
    )


def _joined(properties: dict[str, Any], lon: float, lat: float, fail: Fail) -> ShelterRecord:
    return _record(
        properties,
        lon,
        lat,
        fail,
        hazards=_hazards(properties, fail),
        is_emergency_site=_flag(properties, IS_EMERGENCY_SITE, fail),
        is_shelter=_flag(properties, IS_SHELTER, fail),
        shelter_common_id=text_property(properties, SHELTER_COMMON_ID) or None,
        accepts=text_property(properties, ACCEPTS),
    )


_Parse = Callable[[dict[str, Any], float, float, Fail], ShelterRecord]
_LAYOUTS: dict[str, tuple[str, _Parse]] = {
    "sites": ("指定緊急避難場所 (emergency sites)", _site),
    "shelters": ("指定避難所 (shelters)", _shelter),
    "joined": ("joined shelters.geojson", _joined),
}


def _layout(properties: dict[str, Any]) -> str | None:
    if IS_EMERGENCY_SITE in properties or SHELTER_COMMON_ID in properties:
        return "joined"
    if any(column in properties for column in GSI_FLAG_COLUMNS):
        return "sites"
    if COMMON_ID in properties:
        return "shelters"
    return None


def _read_geojson(
    path: str | os.PathLike[str], crs: str | None, expected: str | None
) -> list[ShelterRecord]:
    features = read_features(path, crs, POINT)
    layout = _layout(features[0].properties)
    if layout is None:
        raise SourceError(path, "not a GSI shelter layout (no 共通ID)", feature=1, field=COMMON_ID)
    if expected is not None and layout != expected:
        raise SourceError(
            path, f"expected the {_LAYOUTS[expected][0]} layout, found {_LAYOUTS[layout][0]}"
        )
    parse = _LAYOUTS[layout][1]
    return [_from_feature(path, feature, parse) for feature in features]


def _from_feature(path: str | os.PathLike[str], feature: Feature, parse: _Parse) -> ShelterRecord:
    fail = partial(SourceError, path, feature=feature.number)
    return parse(feature.properties, feature.geometry.x, feature.geometry.y, fail)


def read_sites_geojson(path: str | os.PathLike[str], crs: str | None = None) -> list[ShelterRecord]:
    """Read GSI 指定緊急避難場所 GeoJSON (the eight hazard flags), in file order."""
    return _read_geojson(path, crs, "sites")


def read_shelters_geojson(
    path: str | os.PathLike[str], crs: str | None = None
) -> list[ShelterRecord]:
    """Read GSI 指定避難所 GeoJSON (no hazard flags: is_shelter only), in file order."""
    return _read_geojson(path, crs, "shelters")


def _coordinate(properties: dict[str, Any], column: str, fail: Fail) -> float:
    text = _required(properties, column, fail)
    try:
        value = float(text)
    except ValueError:
        raise fail(f"not a number: {text!r}", field=column) from None
    if not math.isfinite(value):
        raise fail(f"not a number: {text!r}", field=column)
    return value


def _csv_site(header: list[str], row: list[str], fail: Fail) -> ShelterRecord:
    if len(row) != len(header):
        raise fail(f"expected {len(header)} fields, got {len(row)}")
    properties: dict[str, Any] = dict(zip(header, row, strict=True))
    lat = _coordinate(properties, LATITUDE, fail)
    lon = _coordinate(properties, LONGITUDE, fail)
    try:
        point = reproject_checked(Point(lon, lat), _CSV_CRS)
    except ValueError as exc:
        raise fail(str(exc), field=f"{LATITUDE}/{LONGITUDE}") from exc
    return _site(properties, point.x, point.y, fail)


def read_sites_csv(path: str | os.PathLike[str]) -> list[ShelterRecord]:
    """Read GSI's official CSV layout (mergeFromCity_2.csv) of 指定緊急避難場所.

    UTF-8 (with or without BOM) or Shift_JIS; columns are found by name, and
    都道府県名及び市町村名 may be absent. Rows are numbered from 1 after the header.
    """
    records = read_csv_rows(path)
    if not records:
        raise SourceError(path, "empty file")
    header = [name.strip() for name in records[0]]
    for column in _CSV_REQUIRED:
        if column not in header:
            raise SourceError(path, "missing column", field=column)
    if len(records) == 1:
        raise SourceError(path, "no data rows")
    return [
        _csv_site(header, row, partial(SourceError, path, feature=number, unit="row"))
        for number, row in enumerate(records[1:], start=1)
    ]


def _facility(record: ShelterRecord) -> str:
    return record.common_id[:FACILITY_PREFIX_LENGTH]


def _pairs(sites: list[ShelterRecord], shelters: list[ShelterRecord]) -> dict[str, ShelterRecord]:
    """Site common_id -> its shelter, among the records of one facility prefix."""
    if len(sites) == 1 and len(shelters) == 1:
        return {sites[0].common_id: shelters[0]}
    # Several at one prefix (Kita-ku's E1311700115: 王子桜中学校 and 王子小学校, whose
    # suffixes do not pair in order): only the name tells them apart.
    unmatched = list(shelters)
    pairs: dict[str, ShelterRecord] = {}
    for site in sites:
        shelter = next((s for s in unmatched if s.name == site.name), None)
        if shelter is not None:
            unmatched.remove(shelter)
            pairs[site.common_id] = shelter
    return pairs


def _merge(site: ShelterRecord, shelter: ShelterRecord) -> ShelterRecord:
    notes = " / ".join(dict.fromkeys(n for n in (site.notes, shelter.notes) if n))
    return replace(
        site,
        is_shelter=True,
        shelter_common_id=shelter.common_id,
        notes=notes,
        accepts=shelter.accepts,
    )


def join_sites_and_shelters(
    sites: Iterable[ShelterRecord], shelters: Iterable[ShelterRecord]
) -> list[ShelterRecord]:
    """One record per facility: each site, merged with its shelter when it has one.

    A shelter is linked by the first 11 characters of 共通ID, and by name where a prefix
    holds several sites or shelters. Shelters with no site are kept as records of their
    own. Sorted by common_id.
    """
    sites_by_facility: dict[str, list[ShelterRecord]] = defaultdict(list)
    shelters_by_facility: dict[str, list[ShelterRecord]] = defaultdict(list)
    for site in sites:
        sites_by_facility[_facility(site)].append(site)
    for shelter in shelters:
        shelters_by_facility[_facility(shelter)].append(shelter)
    joined: list[ShelterRecord] = []
    for facility in sites_by_facility.keys() | shelters_by_facility.keys():
        facility_shelters = shelters_by_facility[facility]
        pairs = _pairs(sites_by_facility[facility], facility_shelters)
        for site in sites_by_facility[facility]:
            partner = pairs.get(site.common_id)
            joined.append(site if partner is None else _merge(site, partner))
        linked = {shelter.common_id for shelter in pairs.values()}
        joined.extend(s for s in facility_shelters if s.common_id not in linked)
    return sorted(joined, key=lambda record: record.common_id)


def _is_json(path: str | os.PathLike[str]) -> bool:
    suffix = Path(path).suffix.lower()
    if suffix in (".geojson", ".json"):
        return True
    if suffix == ".csv":
        return False
    with open(path, "rb") as file:
        start = file.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()
    return start.startswith(b"{")


def read_shelters_file(path: str | os.PathLike[str], crs: str | None = None) -> list[ShelterRecord]:
    """Read any supported shelter file: GSI CSV, GSI sites or shelters GeoJSON, or ours.

    CSV is recognised by the .csv suffix (or by not starting with "{"); its coordinates
    are always JGD2011 degrees, so `crs` applies to GeoJSON only. Raises SourceError.
    """
    if _is_json(path):
        return _read_geojson(path, crs, None)
    if crs is not None and given_crs(path, crs) not in ("EPSG:4326", _CSV_CRS):
        raise SourceError(path, f"GSI CSV coordinates are JGD2011 degrees, not {crs}", field="crs")
    return read_sites_csv(path)


def _flagtext_property(value: bool) -> str:
    return "1" if value else ""


def _joined_feature(record: ShelterRecord) -> dict[str, Any]:
    properties: dict[str, Any] = {
        COMMON_ID: record.common_id,
        NAME: record.name,
        ADDRESS: record.address,
        MUNICIPALITY: record.municipality,
        **{
            column: _flagtext_property(hazard in record.hazards)
            for column, hazard in GSI_FLAG_COLUMNS.items()
        },
        NOTES: record.notes,
        SHELTER_COMMON_ID: record.shelter_common_id,
        IS_EMERGENCY_SITE: _flagtext_property(record.is_emergency_site),
        IS_SHELTER: _flagtext_property(record.is_shelter),
        ACCEPTS: record.accepts,
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [record.lon, record.lat]},
        "properties": properties,
    }


def write_joined_geojson(
    records: Sequence[ShelterRecord], path: str | os.PathLike[str], credit: str
) -> None:
    """Write our shipped shelters.geojson: RFC 7946 lon/lat, one feature per line."""
    features = ",\n".join(
        json.dumps(_joined_feature(record), ensure_ascii=False) for record in records
    )
    header = json.dumps({"type": "FeatureCollection", "credit": credit}, ensure_ascii=False)
    # One feature per line keeps diffs of the shipped file readable.
    text = f'{header[:-1]}, "features": [\n{features}\n]}}\n'
    Path(path).write_text(text, encoding="utf-8")
