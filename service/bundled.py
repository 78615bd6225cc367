"""Loading data files into the database: one file at a time, or everything the repo ships."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from gis import load
from gis.hazards import HazardKind
from gis.sources.boundary import read_area_geojson
from gis.sources.gsi import read_shelters_file
from gis.sources.ksj import read_hazard_geojson
from gis.tables import hazard_layers
from service import resident_layers
from service.settings import DataSettings


def load_shelters_file(engine: Engine, path: Path, crs: str | None = None) -> load.LoadResult:
    """Read a GSI shelter file and upsert it by 共通ID."""
    records = read_shelters_file(path, crs=crs)
    with engine.begin() as conn:
        return load.load_shelters(conn, records)


def load_hazard_file(
    engine: Engine, path: Path, kind: HazardKind, name: str | None = None, crs: str | None = None
) -> load.LoadResult:
    """Read a hazard layer and load it under `name` (default: the file's stem), working out
    again which registered spots it holds when it changed."""
    records = read_hazard_geojson(path, kind, crs=crs)
    layer = name or path.stem
    with engine.begin() as conn:
        result = load.load_hazard_layer(
            conn, name=layer, kind=kind, source_file=path, records=records
        )
        if result.inserted or result.updated or result.retired:
            found = conn.execute(select(hazard_layers.c.id).where(hazard_layers.c.name == layer))
            resident_layers.refresh_layer(conn, found.scalar_one())
        return result


def load_area_file(engine: Engine, path: Path, crs: str | None = None) -> load.LoadResult:
    """Read a boundary file and make it the service area."""
    record = read_area_geojson(path, crs=crs)
    with engine.begin() as conn:
        return load.load_service_area(conn, record, path)


def hazard_kind_of(path: Path) -> HazardKind | None:
    """The kind a bundled hazard file holds, from its name: `flood_*.geojson` and so on."""
    for kind in sorted(HazardKind, key=len, reverse=True):
        if path.stem.startswith(f"{kind}_"):
            return kind
    return None


def load_bundled(engine: Engine, data: DataSettings) -> list[str]:
    """Load the shipped shelters, hazard layers and service area. Returns one line per file."""
    lines = [f"{data.shelters.name}: {load_shelters_file(engine, data.shelters).summary()}"]
    for path in sorted(data.hazard_maps.glob("*.geojson")):
        kind = hazard_kind_of(path)
        if kind is not None:
            lines.append(f"{path.name} ({kind}): {load_hazard_file(engine, path, kind).summary()}")
    area = data.service_area
    lines.append(f"{area.name} (service area): {load_area_file(engine, area).summary()}")
    return lines
