"""Loading official files into PostGIS: idempotent, updates by stable key, bad files load
nothing. Uses the shipped real Kita-ku files (and edited copies of them in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gis.hazards import HazardKind
from gis.load import LoadResult
from gis.sources.errors import SourceError
from service import bundled
from service.settings import DataSettings
from tests.utils.cli import civic

DATA = DataSettings()
LANDSLIDE = DATA.hazard_maps / "landslide_plateau_533946.geojson"


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_bundled_data_loads_and_a_second_load_changes_nothing(empty_engine: Engine) -> None:
    first = bundled.load_bundled(empty_engine, DATA)
    assert any("58 added" in line for line in first)
    assert _count(empty_engine, "SELECT count(*) FROM shelters WHERE active") == 58
    assert _count(empty_engine, "SELECT count(*) FROM hazard_zones WHERE kind = 'landslide'") == 25
    assert _count(empty_engine, "SELECT count(*) FROM hazard_zones WHERE kind = 'flood'") == 6
    parts = _count(empty_engine, "SELECT count(*) FROM hazard_zone_parts")
    assert parts > 100  # the 23k-vertex flood layer is cut into small pieces
    assert _count(empty_engine, "SELECT max(ST_NPoints(geom)) FROM hazard_zone_parts") <= 128
    area = _count(empty_engine, "SELECT round(ST_Area(geom::geography)) FROM service_area")
    assert 20.5e6 < area < 20.7e6  # 20.61 km², the official figure

    with empty_engine.connect() as conn:
        stamp = conn.execute(text("SELECT max(updated_at) FROM shelters")).scalar_one()
    second = bundled.load_bundled(empty_engine, DATA)
    assert all(" 0 added, 0 updated" in line for line in second), second
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT max(updated_at) FROM shelters")).scalar_one() == stamp
    assert _count(empty_engine, "SELECT count(*) FROM hazard_zone_parts") == parts


def test_newer_shelter_release_updates_by_common_id_and_retires_missing(
    empty_engine: Engine, tmp_path: Path
) -> None:
    bundled.load_shelters_file(empty_engine, DATA.shelters)
    document = json.loads(DATA.shelters.read_text(encoding="utf-8"))
    features = document["features"]
    renamed, removed = features[0], features[1]
    renamed["properties"]["施設・場所名"] = "改名された避難場所"
    renamed["properties"]["NO"] = 99999  # row numbers are not stable between releases
    document["features"] = [f for f in features if f is not removed]
    newer = tmp_path / "shelters-newer.geojson"
    newer.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    result = bundled.load_shelters_file(empty_engine, newer)
    assert result == LoadResult(inserted=0, updated=1, unchanged=56, retired=1)
    with empty_engine.connect() as conn:
        name = conn.execute(
            text("SELECT name FROM shelters WHERE common_id = :id"),
            {"id": renamed["properties"]["共通ID"]},
        ).scalar_one()
        active = conn.execute(
            text("SELECT active FROM shelters WHERE common_id = :id"),
            {"id": removed["properties"]["共通ID"]},
        ).scalar_one()
    assert name == "改名された避難場所"
    assert active is False


def test_changed_hazard_file_replaces_its_layer(empty_engine: Engine, tmp_path: Path) -> None:
    bundled.load_hazard_file(empty_engine, LANDSLIDE, HazardKind.LANDSLIDE, name="tabata")
    document = json.loads(LANDSLIDE.read_text(encoding="utf-8"))
    document["features"] = document["features"][:10]
    newer = tmp_path / "landslide-newer.geojson"
    newer.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = bundled.load_hazard_file(empty_engine, newer, HazardKind.LANDSLIDE, name="tabata")
    assert result.updated == 10
    assert _count(empty_engine, "SELECT count(*) FROM hazard_zones") == 10
    assert _count(empty_engine, "SELECT count(*) FROM hazard_layers") == 1
    orphans = (
        "SELECT count(*) FROM hazard_zone_parts p"
        " LEFT JOIN hazard_zones z ON z.id = p.zone_id WHERE z.id IS NULL"
    )
    assert _count(empty_engine, orphans) == 0


def test_a_bad_feature_loads_nothing_and_names_file_feature_and_field(
    empty_engine: Engine, tmp_path: Path
) -> None:
    document = json.loads(LANDSLIDE.read_text(encoding="utf-8"))
    document["features"][7]["properties"]["disaster_type"] = 9
    bad = tmp_path / "bad-landslide.geojson"
    bad.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(SourceError) as error:
        bundled.load_hazard_file(empty_engine, bad, HazardKind.LANDSLIDE)
    message = str(error.value)
    assert "bad-landslide.geojson" in message
    assert "feature 8" in message
    assert "disaster_type" in message
    assert _count(empty_engine, "SELECT count(*) FROM hazard_zones") == 0


def test_civic_load_commands(empty_url: str, tmp_path: Path) -> None:
    first = civic(empty_url, "load", "hazards", str(LANDSLIDE), "--kind", "landslide")
    assert first.returncode == 0, first.stderr
    assert "25 added" in first.stdout
    again = civic(empty_url, "load", "hazards", str(LANDSLIDE), "--kind", "landslide")
    assert "0 added, 0 updated, 25 unchanged" in again.stdout
    shelters = civic(empty_url, "load", "shelters", str(DATA.shelters))
    assert "58 added" in shelters.stdout
    area = civic(empty_url, "load", "area", str(DATA.service_area))
    assert "1 added" in area.stdout

    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    failed = civic(empty_url, "load", "hazards", str(broken), "--kind", "flood")
    assert failed.returncode == 1
    assert "broken.geojson" in failed.stderr
    assert "Traceback" not in failed.stderr
