"""The readers of official formats in gis/: CRS handling, GSI shelters, hazard zones, N03.

Real data comes from the shared data directory (override with CIVIC_GIS_DATA). Every CSV
variant below (Shift_JIS, BOM, embedded newline, missing or reordered columns, bad rows)
is SYNTHETIC: written into tmp_path from the real GSI excerpt by the test itself. The
fixtures in tests/fixtures/*_synthetic.geojson are synthetic too and say so in "note".
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Point, Polygon, mapping

from gis.crs import (
    crs_from_geojson,
    looks_like_japan,
    looks_swapped,
    normalise_crs,
    to_wgs84,
)
from gis.hazards import (
    A31_DEPTH_RANKS,
    GSI_FLAG_COLUMNS,
    HazardKind,
    ShelterHazard,
    parse_depth_text,
    shelter_hazard_for,
)
from gis.sources.boundary import read_area_geojson
from gis.sources.build_shelters import DEFAULT_CREDIT, main
from gis.sources.errors import SourceError
from gis.sources.gsi import (
    ShelterRecord,
    join_sites_and_shelters,
    read_shelters_file,
    read_shelters_geojson,
    read_sites_csv,
    read_sites_geojson,
    write_joined_geojson,
)
from gis.sources.ksj import read_hazard_geojson

DATA = Path(os.environ.get("CIVIC_GIS_DATA", "/work/shared/data"))
SITES = DATA / "gsi" / "kita_13117_emergency_sites.geojson"
SHELTERS = DATA / "gsi" / "kita_13117_shelters.geojson"
SITES_CSV = DATA / "gsi" / "kita_13117_mergeFromCity_2_excerpt.csv"
LANDSLIDE = DATA / "plateau" / "kita_tabata_landslide.geojson"
FLOOD = DATA / "flood" / "kita_flood_max_all_rivers.geojson"
BOUNDARY = DATA / "boundary" / "kita_13117.geojson"
FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED = Path(__file__).parents[1] / "shelters.geojson"

GEOD = Geod(ellps="GRS80")
# A small made-up polygon at 王子 (Kita-ku), lon/lat.
SQUARE = Polygon(
    [(139.7360, 35.7580), (139.7372, 35.7580), (139.7372, 35.7589), (139.7360, 35.7589)]
)


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ellipsoidal distance between two lon/lat points."""
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def max_shift(original: Any, moved: Any) -> float:
    """Largest vertex-to-vertex distance in metres between two lon/lat geometries."""
    pairs = zip(shapely.get_coordinates(original), shapely.get_coordinates(moved), strict=True)
    return max(metres_apart(tuple(a), tuple(b)) for a, b in pairs)


def write_collection(
    path: Path,
    geometries: list[dict[str, Any]],
    properties: list[dict[str, Any]] | None = None,
    crs: str | None = None,
) -> Path:
    """Write a synthetic FeatureCollection; `crs` goes into a `crs` member when given."""
    props = properties or [{"depth_rank": 1} for _ in geometries]
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": p, "geometry": g}
            for p, g in zip(props, geometries, strict=True)
        ],
    }
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def reprojected(geom: Any, crs: str) -> Any:
    """`geom` (lon/lat) transformed into `crs` with pyproj, the other way round."""
    transformer = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(
        geom, lambda xy: shapely.get_coordinates(shapely.points(*transformer.transform(*xy.T)))
    )


def csv_rows() -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of the real GSI CSV excerpt."""
    with SITES_CSV.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def write_csv(
    path: Path,
    header: list[str],
    rows: list[dict[str, str]],
    encoding: str = "utf-8-sig",
) -> Path:
    """Write a CSV variant (columns in `header` order) in the given encoding."""
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- CRS ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6677", "EPSG:6677"),
        ("EPSG:6677", "EPSG:6677"),
        ("epsg:6677", "EPSG:6677"),
        ("urn:ogc:def:crs:EPSG::6668", "EPSG:6668"),
        ("urn:ogc:def:crs:EPSG:6.3:4612", "EPSG:4612"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"),
        ("http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:3857"),
        ("EPSG:2451", "EPSG:2451"),
    ],
)
def test_normalise_crs(text: str, expected: str) -> None:
    assert normalise_crs(text) == expected


@pytest.mark.parametrize("text", ["EPSG:32654", "6688", "WGS 84", ""])
def test_normalise_crs_rejects_unknown(text: str) -> None:
    with pytest.raises(ValueError, match="CRS"):
        normalise_crs(text)


def test_crs_from_geojson() -> None:
    def named(name: str) -> dict[str, Any]:
        return {"crs": {"type": "name", "properties": {"name": name}}}

    assert crs_from_geojson({"type": "FeatureCollection"}) is None
    assert crs_from_geojson(named("urn:ogc:def:crs:EPSG::6668")) == "EPSG:6668"
    assert crs_from_geojson(named("EPSG:4612")) == "EPSG:4612"
    assert crs_from_geojson(named("urn:ogc:def:crs:OGC:1.3:CRS84")) == "EPSG:4326"
    assert crs_from_geojson({"crs": {"type": "EPSG", "properties": {"code": 6677}}}) == (
        "EPSG:6677"
    )
    with pytest.raises(ValueError, match="malformed"):
        crs_from_geojson({"crs": {"type": "link", "properties": {"href": "x.prj"}}})


def test_to_wgs84_identity_for_jgd2011() -> None:
    assert to_wgs84(SQUARE, "EPSG:6668") is SQUARE
    assert to_wgs84(SQUARE, "OGC:CRS84") is SQUARE


def test_tokyo_datum_shift_offline() -> None:
    # No network grids here: pyproj's Helmert fallback must still move the point.
    point = Point(139.7360, 35.7580)
    moved = to_wgs84(point, "EPSG:4301")
    assert 300 < metres_apart((point.x, point.y), (moved.x, moved.y)) < 600


def test_japan_bounds_and_swap_detection() -> None:
    assert looks_like_japan(SQUARE)
    assert not looks_like_japan(Point(-0.12, 51.5))
    assert looks_swapped(Point(35.758, 139.736))
    assert not looks_swapped(Point(139.736, 35.758))
    assert not looks_swapped(Point(-0.12, 51.5))


@pytest.mark.parametrize("crs", ["EPSG:6677", "EPSG:2451", "EPSG:4612", "EPSG:4301", "EPSG:3857"])
@pytest.mark.parametrize("where", ["file", "call"])
def test_polygon_in_other_crs_lands_on_original(tmp_path: Path, crs: str, where: str) -> None:
    source = reprojected(SQUARE, crs)
    # Really transformed (JGD2000 alone may coincide with WGS84 to the last digit).
    assert crs == "EPSG:4612" or not shapely.equals_exact(source, SQUARE, tolerance=1e-7)
    path = write_collection(
        tmp_path / "zone.geojson", [mapping(source)], crs=crs if where == "file" else None
    )
    (record,) = read_hazard_geojson(path, HazardKind.FLOOD, crs=crs if where == "call" else None)
    assert max_shift(SQUARE, record.geometry) < 1.0


def test_tokyo_datum_coordinates_move_hundreds_of_metres(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "tokyo.geojson", [mapping(SQUARE)], crs="EPSG:4301")
    (record,) = read_hazard_geojson(path, HazardKind.FLOOD)
    assert 300 < max_shift(SQUARE, record.geometry) < 600


def test_explicit_crs_wins_over_file(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "z.geojson", [mapping(SQUARE)], crs="EPSG:6677")
    (record,) = read_hazard_geojson(path, HazardKind.FLOOD, crs="EPSG:4326")
    assert max_shift(SQUARE, record.geometry) < 0.01


def test_plane_coordinates_declared_as_wgs84_fail(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "plane.geojson", [mapping(reprojected(SQUARE, "EPSG:6677"))])
    with pytest.raises(SourceError, match="CRS is probably wrong") as info:
        read_hazard_geojson(path, HazardKind.FLOOD)
    assert (info.value.feature, info.value.field) == (1, "geometry")


def test_swapped_lat_lon_fail(tmp_path: Path) -> None:
    swapped = shapely.transform(SQUARE, lambda xy: xy[:, ::-1])
    path = write_collection(tmp_path / "swapped.geojson", [mapping(swapped)])
    with pytest.raises(SourceError, match="swapped"):
        read_hazard_geojson(path, HazardKind.FLOOD)


def test_unsupported_crs_member_fail(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "utm.geojson", [mapping(SQUARE)], crs="EPSG:32654")
    with pytest.raises(SourceError, match="unsupported CRS") as info:
        read_hazard_geojson(path, HazardKind.FLOOD)
    assert info.value.field == "crs"


def test_unsupported_crs_argument_fail(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "z.geojson", [mapping(SQUARE)])
    with pytest.raises(SourceError, match="unsupported CRS") as info:
        read_hazard_geojson(path, HazardKind.FLOOD, crs="EPSG:32654")
    assert info.value.field == "crs"
    with pytest.raises(SourceError, match="JGD2011") as info:
        read_shelters_file(SITES_CSV, crs="EPSG:6677")
    assert info.value.field == "crs"
    assert len(read_shelters_file(SITES_CSV, crs="EPSG:6668")) == 58


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection",\n "features": [,]}\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"^broken\.geojson: invalid JSON at line 2"):
        read_hazard_geojson(path, HazardKind.FLOOD)


# --- hazard vocabulary -------------------------------------------------------------


def test_flag_columns_in_gsi_order() -> None:
    assert list(GSI_FLAG_COLUMNS.values()) == list(ShelterHazard)
    assert list(GSI_FLAG_COLUMNS)[1] == "崖崩れ、土石流及び地滑り"


def test_shelter_hazard_for_each_kind() -> None:
    assert {kind: shelter_hazard_for(kind) for kind in HazardKind} == {
        HazardKind.FLOOD: ShelterHazard.FLOOD,
        HazardKind.LANDSLIDE: ShelterHazard.LANDSLIDE,
        HazardKind.TSUNAMI: ShelterHazard.TSUNAMI,
        HazardKind.STORM_SURGE: ShelterHazard.STORM_SURGE,
        HazardKind.INLAND_FLOOD: ShelterHazard.INLAND_FLOOD,
    }


def test_a31_depth_ranks() -> None:
    bounds = {rank: (r.min_m, r.max_m) for rank, r in A31_DEPTH_RANKS.items()}
    assert bounds == {
        1: (0, 0.5),
        2: (0.5, 3),
        3: (3, 5),
        4: (5, 10),
        5: (10, 20),
        6: (20, None),
    }
    assert (A31_DEPTH_RANKS[1].label_ja, A31_DEPTH_RANKS[6].label_en) == (
        "0.5m未満",
        "20 m and over",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.3m未満", (0.0, 0.3)),
        ("0.3m以上1m未満", (0.3, 1.0)),
        ("1m以上2m未満", (1.0, 2.0)),
        ("1～2m", (1.0, 2.0)),
        ("2.0m〜5.0m", (2.0, 5.0)),
        ("5m以上10m未満", (5.0, 10.0)),
        ("10m以上", (10.0, None)),
        ("20ｍ以上", (20.0, None)),
        ("０．３ｍ以上１ｍ未満", (0.3, 1.0)),
        ("50cm未満", (0.0, 0.5)),
        ("5m～", (5.0, None)),
        ("調査中", None),
        ("", None),
        ("2m", None),
    ],
)
def test_parse_depth_text(text: str, expected: tuple[float, float | None] | None) -> None:
    depth = parse_depth_text(text)
    assert (None if depth is None else (depth.min_m, depth.max_m)) == expected


def test_parse_depth_text_labels() -> None:
    depth = parse_depth_text("０．３ｍ以上１ｍ未満")
    assert depth is not None
    assert (depth.label_ja, depth.label_en) == ("0.3〜1m", "0.3–1 m")


# --- GSI shelters: real data -------------------------------------------------------


def test_real_sites_geojson() -> None:
    sites = read_sites_geojson(SITES)
    assert len(sites) == 58
    assert all(s.is_emergency_site and not s.is_shelter for s in sites)
    by_id = {s.common_id: s for s in sites}
    # The name is padded with 18 full-width spaces in the source.
    assert by_id["E1311700050201"].name == "北区防災センター"
    assert all(s.name == s.name.strip() for s in sites)
    counts = {h: sum(h in s.hazards for s in sites) for h in ShelterHazard}
    assert counts == {
        ShelterHazard.FLOOD: 23,
        ShelterHazard.LANDSLIDE: 9,
        ShelterHazard.STORM_SURGE: 20,
        ShelterHazard.EARTHQUAKE: 56,
        ShelterHazard.TSUNAMI: 0,
        ShelterHazard.LARGE_FIRE: 0,
        ShelterHazard.INLAND_FLOOD: 0,
        ShelterHazard.VOLCANO: 0,
    }
    assert by_id["E1311700160201"].hazards == {
        ShelterHazard.FLOOD,
        ShelterHazard.LANDSLIDE,
        ShelterHazard.STORM_SURGE,
        ShelterHazard.EARTHQUAKE,
    }
    assert (by_id["E1311700115201"].lon, by_id["E1311700115201"].lat) == (139.736233, 35.758357)


def test_real_shelters_geojson() -> None:
    shelters = read_shelters_geojson(SHELTERS)
    assert len(shelters) == 56
    assert all(s.is_shelter and not s.is_emergency_site and not s.hazards for s in shelters)
    assert all(s.shelter_common_id == s.common_id for s in shelters)
    # Two source rows hold JSON null in 受入対象者.
    assert {s.accepts for s in shelters} == {""}


def test_layout_mismatch_is_an_error() -> None:
    with pytest.raises(SourceError, match="expected the 指定緊急避難場所"):
        read_sites_geojson(SHELTERS)
    with pytest.raises(SourceError, match="expected the 指定避難所"):
        read_shelters_geojson(SITES)


def test_real_join() -> None:
    sites = read_sites_geojson(SITES)
    joined = join_sites_and_shelters(sites, read_shelters_geojson(SHELTERS))
    assert len(joined) == 58
    assert [r.common_id for r in joined] == sorted(s.common_id for s in sites)
    by_id = {r.common_id: r for r in joined}
    # One prefix, two schools each way; the suffixes pair crosswise, names decide.
    assert by_id["E1311700115201"].name == "区立王子桜中学校"
    assert by_id["E1311700115201"].shelter_common_id == "E1311700115112"
    assert by_id["E1311700115202"].name == "区立王子小学校"
    assert by_id["E1311700115202"].shelter_common_id == "E1311700115111"
    assert {r.common_id for r in joined if not r.is_shelter} == {
        "E1311700050201",  # 北区防災センター: flagged 指定避難所との住所同一 yet no shelter
        "E1311700171201",  # 十条台ふれあい館
    }
    assert all(r.is_emergency_site for r in joined)
    for site in sites:
        record = by_id[site.common_id]
        assert (record.name, record.hazards, record.lon, record.lat) == (
            site.name,
            site.hazards,
            site.lon,
            site.lat,
        )


def test_join_keeps_shelters_without_site_and_matches_by_name() -> None:
    def record(common_id: str, name: str, site: bool) -> ShelterRecord:
        return ShelterRecord(
            common_id=common_id,
            name=name,
            address="東京都北区",
            municipality="東京都北区",
            lon=139.73,
            lat=35.75,
            hazards=frozenset({ShelterHazard.EARTHQUAKE}) if site else frozenset(),
            is_emergency_site=site,
            is_shelter=not site,
            shelter_common_id=None if site else common_id,
            notes="",
            accepts="" if site else "要配慮者",
        )

    sites = [record("E1311799001201", "甲公園", True), record("E1311799001202", "乙小学校", True)]
    shelters = [
        record("E1311799001111", "乙小学校", False),
        record("E1311799001112", "丙会館", False),  # same prefix, no site of that name
        record("E1311799002111", "丁センター", False),  # no site at all
    ]
    joined = {r.common_id: r for r in join_sites_and_shelters(sites, shelters)}
    assert set(joined) == {
        "E1311799001112",
        "E1311799001201",
        "E1311799001202",
        "E1311799002111",
    }
    assert joined["E1311799001202"].shelter_common_id == "E1311799001111"
    assert joined["E1311799001202"].accepts == "要配慮者"
    assert not joined["E1311799001201"].is_shelter
    assert joined["E1311799002111"] == shelters[2]


# --- GSI shelters: the official CSV ------------------------------------------------


def test_real_csv_equals_geojson_sites() -> None:
    from_csv = {s.common_id: s for s in read_sites_csv(SITES_CSV)}
    from_geojson = {s.common_id: s for s in read_sites_geojson(SITES)}
    assert from_csv.keys() == from_geojson.keys()
    for common_id, site in from_geojson.items():
        other = from_csv[common_id]
        assert (other.name, other.hazards, other.is_emergency_site) == (
            site.name,
            site.hazards,
            site.is_emergency_site,
        )
        # The GeoJSON rounds to 6 decimals; the CSV keeps up to 11 for a few sites.
        assert other.lon == pytest.approx(site.lon, abs=1e-6)
        assert other.lat == pytest.approx(site.lat, abs=1e-6)


def _variant_cp932(tmp_path: Path) -> tuple[Path, Callable[[list[ShelterRecord]], None]]:
    header, rows = csv_rows()
    path = write_csv(tmp_path / "sites_sjis.csv", header, rows, encoding="cp932")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    def check(records: list[ShelterRecord]) -> None:
        assert records[0].municipality == "東京都北区"

    return path, check


def _variant_newline(tmp_path: Path) -> tuple[Path, Callable[[list[ShelterRecord]], None]]:
    header, rows = csv_rows()
    rows[2]["備考"] = "体育館を使用\n要配慮者優先"
    path = write_csv(tmp_path / "sites_bom.csv", header, rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    def check(records: list[ShelterRecord]) -> None:
        assert records[2].notes == "体育館を使用\n要配慮者優先"

    return path, check


def _variant_reordered(tmp_path: Path) -> tuple[Path, Callable[[list[ShelterRecord]], None]]:
    header, rows = csv_rows()
    header = [c for c in reversed(header) if c != "都道府県名及び市町村名"]
    path = write_csv(tmp_path / "sites_old_city.csv", header, rows, encoding="cp932")

    def check(records: list[ShelterRecord]) -> None:
        assert {r.municipality for r in records} == {""}

    return path, check


@pytest.mark.parametrize("variant", [_variant_cp932, _variant_newline, _variant_reordered])
def test_csv_variants_read_like_the_original(
    tmp_path: Path,
    variant: Callable[[Path], tuple[Path, Callable[[list[ShelterRecord]], None]]],
) -> None:
    path, check = variant(tmp_path)
    records = read_sites_csv(path)
    original = read_sites_csv(SITES_CSV)
    assert [(r.common_id, r.name, r.hazards, r.lon, r.lat) for r in records] == [
        (r.common_id, r.name, r.hazards, r.lon, r.lat) for r in original
    ]
    check(records)
    assert read_shelters_file(path) == records


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("緯度", "", "missing or blank"),
        ("経度", "abc", "not a number: 'abc'"),
        ("共通ID", " ", "missing or blank"),
        ("洪水", "○", "expected '1' or blank, got '○'"),
    ],
)
def test_csv_bad_row(tmp_path: Path, column: str, value: str, message: str) -> None:
    header, rows = csv_rows()
    rows[11][column] = value
    path = write_csv(tmp_path / "shelters.csv", header, rows)
    with pytest.raises(SourceError) as info:
        read_sites_csv(path)
    assert (info.value.feature, info.value.field) == (12, column)
    assert str(info.value) == f"shelters.csv: row 12, field {column}: {message}"


def test_csv_swapped_coordinates(tmp_path: Path) -> None:
    header, rows = csv_rows()
    rows[4]["緯度"], rows[4]["経度"] = rows[4]["経度"], rows[4]["緯度"]
    path = write_csv(tmp_path / "swapped.csv", header, rows)
    with pytest.raises(SourceError, match=r"row 5.*swapped"):
        read_sites_csv(path)


def test_csv_missing_column(tmp_path: Path) -> None:
    header, rows = csv_rows()
    path = write_csv(tmp_path / "no_lon.csv", [c for c in header if c != "経度"], rows)
    with pytest.raises(SourceError, match="missing column") as info:
        read_sites_csv(path)
    assert info.value.field == "経度"


# --- the joined shelters.geojson we ship -------------------------------------------


def test_joined_geojson_round_trip(tmp_path: Path) -> None:
    joined = join_sites_and_shelters(read_sites_csv(SITES_CSV), read_shelters_geojson(SHELTERS))
    # A record of every shape: with notes, shelter-only, no municipality.
    joined.append(replace(read_shelters_geojson(SHELTERS)[0], common_id="E1311799999111"))
    joined[0] = replace(joined[0], notes="2階", municipality="")
    path = tmp_path / "shelters.geojson"
    write_joined_geojson(joined, path, credit="出典：テスト")
    assert read_shelters_file(path) == joined
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["credit"] == "出典：テスト"
    assert "crs" not in doc
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(joined) + 2
    assert "王子" in path.read_text(encoding="utf-8")  # ensure_ascii=False


def test_build_shelters_reproduces_shipped_file(tmp_path: Path) -> None:
    out = tmp_path / "shelters.geojson"
    assert main([str(SITES), str(SHELTERS), str(out)]) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["credit"] == DEFAULT_CREDIT
    first = doc["features"][0]["properties"]
    assert list(first)[:4] == ["共通ID", "施設・場所名", "住所", "都道府県名及び市町村名"]
    assert {"指定避難所_共通ID", "指定緊急避難場所", "指定避難所", "受入対象者"} <= set(first)


def test_build_shelters_reports_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{", encoding="utf-8")
    assert main([str(bad), str(SHELTERS), str(tmp_path / "out.geojson")]) == 1
    assert "bad.geojson: invalid JSON" in capsys.readouterr().err
    assert not (tmp_path / "out.geojson").exists()


# --- hazard zones ------------------------------------------------------------------


def test_real_landslide_zones() -> None:
    zones = read_hazard_geojson(LANDSLIDE, HazardKind.LANDSLIDE)
    assert len(zones) == 25
    assert all(
        z.kind is HazardKind.LANDSLIDE and z.geometry.geom_type == "MultiPolygon" for z in zones
    )
    (k094,) = [z for z in zones if z.zone_key == "117001-K094"]
    assert k094.label_ja == "土砂災害警戒区域（急傾斜地の崩壊）"
    assert k094.label_en == "Landslide warning zone (steep slope failure)"
    assert k094.attributes["location"] == "北区田端4"
    special = [z for z in zones if z.attributes["area_type"] == 2]
    assert len(special) == 10
    assert all(z.label_ja == "土砂災害特別警戒区域（急傾斜地の崩壊）" for z in special)
    assert [z.feature_index for z in zones] == list(range(1, 26))


def test_real_flood_layer() -> None:
    zones = read_hazard_geojson(FLOOD, HazardKind.FLOOD)
    assert [z.rank for z in zones] == [1, 2, 2, 3, 4, 5]
    # Rank 3 there is the union of two legends: its explicit 2–5 m range wins.
    assert [(z.depth_min_m, z.depth_max_m) for z in zones] == [
        (0, 0.5),
        (0.5, 1),
        (0.5, 3),
        (2, 5),
        (5, 10),
        (10, 20),
    ]
    assert zones[3].label_ja == "浸水深 2〜5m"
    assert zones[3].label_en == "depth 2–5 m"
    assert all(z.geometry.is_valid and z.zone_key is None for z in zones)


def test_a31_fixture() -> None:
    zones = read_hazard_geojson(FIXTURES / "a31_synthetic.geojson", HazardKind.FLOOD)
    assert [z.rank for z in zones] == [3, 1, 6]  # A31_201 first, A31_101 when it is null
    assert (zones[0].label_ja, zones[0].label_en) == ("浸水深 3〜5m", "depth 3–5 m")
    assert (zones[2].depth_min_m, zones[2].depth_max_m) == (20, None)
    assert zones[0].attributes["A31_301"] == 2
    assert zones[0].attributes["A31_401"] == 1


def test_a31a_fixture_names_the_river() -> None:
    zones = read_hazard_geojson(FIXTURES / "a31a_synthetic.geojson", HazardKind.FLOOD)
    assert [z.rank for z in zones] == [4, 2]
    assert zones[0].label_ja == "浸水深 5〜10m（荒川）"
    assert zones[1].label_en == "depth 0.5–3 m (隅田川)"


def test_a33_fixture() -> None:
    zones = read_hazard_geojson(FIXTURES / "a33_synthetic.geojson", HazardKind.LANDSLIDE)
    assert [z.zone_key for z in zones] == ["117001-X001", "117001-X002", "117001-X003"]
    assert [z.label_ja for z in zones] == [
        "土砂災害警戒区域（急傾斜地の崩壊）",
        "土砂災害特別警戒区域（土石流）",
        "土砂災害警戒区域（指定前）（地滑り）",
    ]
    assert zones[1].label_en == "Landslide special warning zone (debris flow)"


def test_a40_fixture() -> None:
    zones = read_hazard_geojson(FIXTURES / "a40_synthetic.geojson", HazardKind.TSUNAMI)
    assert [(z.depth_min_m, z.depth_max_m) for z in zones] == [
        (0, 0.3),
        (0.3, 1),
        (20, None),
        (None, None),
    ]
    assert zones[1].label_ja == "浸水深 0.3〜1m"
    assert zones[3].label_ja == "浸水深 調査中"  # unreadable: raw text kept
    assert all(z.rank is None for z in zones)


def test_storm_surge_and_inland_flood_accept_depth_rank(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "s.geojson", [mapping(SQUARE)], [{"depth_rank": 2}])
    for kind in (HazardKind.STORM_SURGE, HazardKind.INLAND_FLOOD):
        (zone,) = read_hazard_geojson(path, kind)
        assert (zone.kind, zone.rank, zone.label_ja) == (kind, 2, "浸水深 0.5〜3m")


@pytest.mark.parametrize(
    ("kind", "properties", "field", "message"),
    [
        (HazardKind.FLOOD, {"A31_201": 9}, "A31_201", "code 9 is not in the codelist"),
        (HazardKind.FLOOD, {"A31a_205": "x"}, "A31a_205", "not a code"),
        (HazardKind.LANDSLIDE, {"A33_001": 7, "A33_002": 1}, "A33_001", "code 7"),
        (HazardKind.LANDSLIDE, {"A33_001": 1}, "A33_002", "missing zone type"),
        (HazardKind.LANDSLIDE, {"disaster_type": 1, "area_type": 5}, "area_type", "code 5"),
        (HazardKind.TSUNAMI, {"A40_003": " "}, "A40_003", "blank"),
    ],
)
def test_bad_codes(
    tmp_path: Path, kind: HazardKind, properties: dict[str, Any], field: str, message: str
) -> None:
    good = {"depth_rank": 1} if kind is not HazardKind.LANDSLIDE else {"A33_001": 1, "A33_002": 1}
    path = write_collection(tmp_path / "bad.geojson", [mapping(SQUARE)] * 2, [good, properties])
    with pytest.raises(SourceError, match=message) as info:
        read_hazard_geojson(path, kind)
    assert (info.value.feature, info.value.field) == (2, field)


def test_no_known_layout(tmp_path: Path) -> None:
    props: list[dict[str, Any]] = [{"depth_rank": 1}, {"depth_rank": 2}, {"浸水深": "1m"}]
    path = write_collection(tmp_path / "odd.geojson", [mapping(SQUARE)] * 3, props)
    with pytest.raises(SourceError) as info:
        read_hazard_geojson(path, HazardKind.FLOOD)
    assert str(info.value) == (
        "odd.geojson: feature 3: none of the fields expected for a flood layer "
        "(A31_201, A31_101, A31a_X05 or depth_rank)"
    )
    # A flood file is not a tsunami layer.
    with pytest.raises(SourceError, match="A40_003"):
        read_hazard_geojson(FIXTURES / "a31_synthetic.geojson", HazardKind.TSUNAMI)


def test_non_polygon_and_empty(tmp_path: Path) -> None:
    path = write_collection(tmp_path / "p.geojson", [mapping(Point(139.73, 35.75))])
    with pytest.raises(SourceError, match="expected MultiPolygon or Polygon, got Point"):
        read_hazard_geojson(path, HazardKind.FLOOD)
    path = write_collection(tmp_path / "e.geojson", [])
    with pytest.raises(SourceError, match="no features"):
        read_hazard_geojson(path, HazardKind.FLOOD)


def test_invalid_polygon_repaired_or_rejected(tmp_path: Path) -> None:
    x, y = 139.736, 35.758
    bowtie = Polygon([(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)])
    path = write_collection(tmp_path / "bowtie.geojson", [mapping(bowtie)])
    (zone,) = read_hazard_geojson(path, HazardKind.FLOOD)
    assert zone.geometry.is_valid
    assert len(zone.geometry.geoms) == 2
    # A ring with a spike repairs to a polygon plus a line: not polygonal, so refused.
    spike = {
        "type": "Polygon",
        "coordinates": [
            [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y],
             [x - 0.001, y - 0.001], [x, y]]
        ],
    }  # fmt: skip
    path = write_collection(tmp_path / "spike.geojson", [spike])
    with pytest.raises(SourceError, match="cannot be repaired") as info:
        read_hazard_geojson(path, HazardKind.FLOOD)
    assert info.value.field == "geometry"


# --- boundary ----------------------------------------------------------------------


def test_real_boundary() -> None:
    area = read_area_geojson(BOUNDARY)
    assert (area.code, area.name) == ("13117", "東京都北区")
    assert area.geometry.geom_type == "MultiPolygon"
    area_km2 = reprojected(area.geometry, "EPSG:6677").area / 1e6
    assert area_km2 == pytest.approx(20.605, abs=0.01)


def test_boundary_unions_parts_and_falls_back_to_code(tmp_path: Path) -> None:
    east = shapely.affinity.translate(SQUARE, xoff=0.002)
    parts = [mapping(SQUARE), mapping(east)]
    n03 = {"N03_001": "東京都", "N03_003": None, "N03_004": "北区", "N03_007": "13117"}
    area = read_area_geojson(write_collection(tmp_path / "n03.geojson", parts, [n03, n03]))
    assert (area.code, area.name, len(area.geometry.geoms)) == ("13117", "東京都北区", 2)
    plain = [{"code": "13117", "name": "北区"}]
    area = read_area_geojson(write_collection(tmp_path / "p.geojson", parts[:1], plain))
    assert (area.code, area.name) == ("13117", "北区")


def test_boundary_errors(tmp_path: Path) -> None:
    parts = [mapping(SQUARE)] * 2
    two = [{"N03_004": "北区", "N03_007": "13117"}, {"N03_004": "板橋区", "N03_007": "13119"}]
    with pytest.raises(SourceError, match=r"several areas \(13117, 13119\)"):
        read_area_geojson(write_collection(tmp_path / "two.geojson", parts, two))
    with pytest.raises(SourceError, match="feature 1: no area code"):
        read_area_geojson(write_collection(tmp_path / "none.geojson", parts[:1], [{"x": 1}]))


def test_source_error_format() -> None:
    error = SourceError(
        "/data/shelters.csv", "not a number: 'abc'", feature=12, field="緯度", unit="row"
    )
    assert str(error) == "shelters.csv: row 12, field 緯度: not a number: 'abc'"
    assert (error.path, error.feature, error.field) == (Path("/data/shelters.csv"), 12, "緯度")
    assert isinstance(error, ValueError)
    assert str(SourceError("a.geojson", "no features")) == "a.geojson: no features"
