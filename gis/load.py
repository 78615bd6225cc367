"""Put records read from official files into PostGIS.

Every loader is idempotent: loading the same file twice changes nothing, and a newer release
updates what changed by the stable key (共通ID for shelters, the layer name for hazard
layers, the municipality code for the service area, city code + dataset + ID for
facilities). Each runs in the caller's transaction, so a failure leaves the database as it
was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import (
    Connection,
    Row,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import Label

from gis.hazards import HazardKind
from gis.sources.boundary import AreaRecord
from gis.sources.facilities import FacilityFile, FacilityRecord
from gis.sources.gsi import ShelterRecord
from gis.sources.ksj import HazardRecord
from gis.tables import (
    facilities,
    hazard_layer_area_parts,
    hazard_layer_areas,
    hazard_layers,
    hazard_zone_parts,
    hazard_zones,
    service_area,
    shelters,
)

# Vertices per piece after ST_Subdivide: small enough for fast point-in-polygon tests.
SUBDIVIDE_MAX_VERTICES = 128


@dataclass(frozen=True)
class LoadResult:
    """What a load changed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0

    def summary(self) -> str:
        """One line for the command line."""
        return (
            f"{self.inserted} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.retired} retired"
        )


class RetireRefused(ValueError):
    """A facility file that would retire more of a city's rows than allowed: likely cut
    short or the wrong file. Nothing was loaded."""


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes: a layer is reloaded only when its file changed."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shelter_row(record: ShelterRecord) -> dict[str, object]:
    return {
        "common_id": record.common_id,
        "name": record.name,
        "address": record.address,
        "municipality": record.municipality,
        "hazards": sorted(str(h) for h in record.hazards),
        "is_emergency_site": record.is_emergency_site,
        "is_shelter": record.is_shelter,
        "shelter_common_id": record.shelter_common_id,
        "accepts": record.accepts,
        "notes": record.notes,
        "active": True,
        "geom": from_shape(Point(record.lon, record.lat), srid=4326),
    }


def load_shelters(conn: Connection, records: Sequence[ShelterRecord]) -> LoadResult:
    """Upsert shelters by 共通ID.

    Active sites of the same municipalities (the city code in 共通ID) that are missing from
    `records` are retired: kept for history, no longer offered to residents.
    """
    inserted = updated = 0
    data_columns = [c for c in shelters.c if c.name not in ("common_id", "updated_at")]
    for record in records:
        stmt = pg_insert(shelters).values(_shelter_row(record))
        stmt = stmt.on_conflict_do_update(
            index_elements=[shelters.c.common_id],
            set_={
                **{c.name: stmt.excluded[c.name] for c in data_columns},
                "updated_at": func.now(),
            },
            # Only a real change counts (and touches updated_at).
            where=tuple_(*data_columns).is_distinct_from(
                tuple_(*(stmt.excluded[c.name] for c in data_columns))
            ),
        )
        # xmax = 0 tells a fresh insert from an update; no row means nothing changed.
        fresh: Label[bool] = literal_column("xmax = 0").label("fresh")
        row: Row[Any] | None = conn.execute(stmt.returning(fresh)).first()
        if row is not None:
            inserted += int(row.fresh)
            updated += int(not row.fresh)
    retired = _retire_missing_shelters(conn, {r.common_id for r in records})
    return LoadResult(inserted, updated, len(records) - inserted - updated, retired)


def _city_prefix(common_id: str) -> str:
    # 共通ID = "E" + 5-digit city code + facility number + suffix.
    return common_id[:6]


def _retire_missing_shelters(conn: Connection, loaded: set[str]) -> int:
    prefixes = sorted({_city_prefix(common_id) for common_id in loaded})
    if not prefixes:
        return 0
    stmt = (
        update(shelters)
        .where(
            shelters.c.active,
            func.left(shelters.c.common_id, 6).in_(prefixes),
            shelters.c.common_id.not_in(sorted(loaded)),
        )
        .values(active=False, updated_at=func.now())
    )
    return conn.execute(stmt).rowcount


def load_hazard_layer(
    conn: Connection,
    *,
    name: str,
    kind: HazardKind,
    source_file: Path,
    records: Sequence[HazardRecord],
) -> LoadResult:
    """Load one hazard layer, replacing an older release of the layer of the same name.

    Zones are stored whole and also cut into small pieces (ST_Subdivide) for point lookups;
    the union of the layer's zones is stored too, whole and in pieces, for alerts to the
    whole layer.
    """
    checksum = file_checksum(source_file)
    current = conn.execute(
        select(hazard_layers.c.id, hazard_layers.c.kind, hazard_layers.c.checksum).where(
            hazard_layers.c.name == name
        )
    ).first()
    if current is not None and current.checksum == checksum and current.kind == kind:
        return LoadResult(unchanged=len(records))
    layer = {
        "name": name,
        "kind": str(kind),
        "source_file": source_file.name,
        "checksum": checksum,
        "feature_count": len(records),
        "loaded_at": func.now(),
    }
    replaced = 0
    if current is None:
        inserted = conn.execute(insert(hazard_layers).values(layer).returning(hazard_layers.c.id))
        layer_id = inserted.scalar_one()
    else:
        layer_id = current.id
        conn.execute(update(hazard_layers).where(hazard_layers.c.id == layer_id).values(layer))
        deleted = conn.execute(delete(hazard_zones).where(hazard_zones.c.layer_id == layer_id))
        replaced = deleted.rowcount
    conn.execute(insert(hazard_zones), [_zone_row(layer_id, r) for r in records])
    pieces = select(
        hazard_zones.c.id, func.ST_Subdivide(hazard_zones.c.geom, SUBDIVIDE_MAX_VERTICES)
    ).where(hazard_zones.c.layer_id == layer_id)
    conn.execute(insert(hazard_zone_parts).from_select(["zone_id", "geom"], pieces))
    _store_layer_area(conn, layer_id)
    if replaced:
        return LoadResult(updated=len(records), retired=max(replaced - len(records), 0))
    return LoadResult(inserted=len(records))


def _store_layer_area(conn: Connection, layer_id: int) -> None:
    """The union of the layer's zones (none for a layer without zones), replacing the
    previous release's, and its pieces."""
    conn.execute(delete(hazard_layer_areas).where(hazard_layer_areas.c.layer_id == layer_id))
    union = func.ST_Multi(func.ST_CollectionExtract(func.ST_Union(hazard_zones.c.geom), 3))
    whole = (
        select(hazard_zones.c.layer_id, union)
        .where(hazard_zones.c.layer_id == layer_id)
        .group_by(hazard_zones.c.layer_id)
    )
    conn.execute(insert(hazard_layer_areas).from_select(["layer_id", "geom"], whole))
    pieces = select(
        hazard_layer_areas.c.layer_id,
        func.ST_Subdivide(hazard_layer_areas.c.geom, SUBDIVIDE_MAX_VERTICES),
    ).where(hazard_layer_areas.c.layer_id == layer_id)
    conn.execute(insert(hazard_layer_area_parts).from_select(["layer_id", "geom"], pieces))


def _zone_row(layer_id: int, record: HazardRecord) -> dict[str, object]:
    return {
        "layer_id": layer_id,
        "kind": str(record.kind),
        "feature_index": record.feature_index,
        "zone_key": record.zone_key,
        "rank": record.rank,
        "depth_min_m": record.depth_min_m,
        "depth_max_m": record.depth_max_m,
        "label_ja": record.label_ja,
        "label_en": record.label_en,
        "attributes": record.attributes,
        "geom": from_shape(record.geometry, srid=4326),
    }


def load_service_area(conn: Connection, record: AreaRecord, source_file: Path) -> LoadResult:
    """Make `record` the service area (a deployment serves one area)."""
    checksum = file_checksum(source_file)
    current = conn.execute(select(service_area.c.code, service_area.c.checksum)).all()
    if [(row.code, row.checksum) for row in current] == [(record.code, checksum)]:
        return LoadResult(unchanged=1)
    conn.execute(delete(service_area))
    conn.execute(
        insert(service_area).values(
            code=record.code,
            name=record.name,
            checksum=checksum,
            geom=from_shape(record.geometry, srid=4326),
        )
    )
    return LoadResult(updated=1) if current else LoadResult(inserted=1)


def current_service_area(conn: Connection) -> MultiPolygon | None:
    """The loaded service area (lon/lat), for readers that check coordinates against it."""
    geom = conn.execute(select(func.ST_AsBinary(service_area.c.geom))).scalar()
    if geom is None:
        return None
    area = shapely.from_wkb(bytes(geom))
    return area if isinstance(area, MultiPolygon) else MultiPolygon([area])


def _facility_row(record: FacilityRecord, source_file: str) -> dict[str, object]:
    return {
        "city_code": record.city_code,
        "dataset": str(record.dataset),
        "source_id": record.source_id,
        "category": str(record.category),
        "category_text": record.category_text,
        "name": record.name,
        "kana": record.kana,
        "address": record.address,
        "phone": record.phone,
        "hours": record.hours,
        "url": record.url,
        "barrier_free": record.barrier_free,
        "attributes": record.attributes,
        "source_file": source_file,
        "active": True,
        "geom": from_shape(Point(record.lon, record.lat), srid=4326),
    }


def load_facilities(
    conn: Connection,
    read: FacilityFile,
    source_file: str,
    *,
    max_retire_share: float | None = None,
) -> LoadResult:
    """Upsert a facility file's records by (city code, dataset, ID).

    Active facilities of the same cities and dataset whose ID is not in the file at all are
    retired: kept, no longer offered. A row the reader skipped (no coordinates) is still in
    the file, so its older version stays as it was. Raises RetireRefused, before anything
    changes, when that would retire more than `max_retire_share` of a city's active rows of
    the dataset (None: any share).
    """
    if max_retire_share is not None:
        _check_retire_share(conn, read, max_retire_share)
    inserted = updated = 0
    key = ("city_code", "dataset", "source_id")
    # The file name alone does not make a change: the same data in a renamed file is unchanged.
    compared = [c for c in facilities.c if c.name not in (*key, "id", "loaded_at", "source_file")]
    for record in read.records:
        stmt = pg_insert(facilities).values(_facility_row(record, source_file))
        stmt = stmt.on_conflict_do_update(
            constraint="facilities_source_key",
            set_={
                **{c.name: stmt.excluded[c.name] for c in [*compared, facilities.c.source_file]},
                "loaded_at": func.now(),
            },
            where=tuple_(*compared).is_distinct_from(
                tuple_(*(stmt.excluded[c.name] for c in compared))
            ),
        )
        fresh: Label[bool] = literal_column("xmax = 0").label("fresh")
        row: Row[Any] | None = conn.execute(stmt.returning(fresh)).first()
        if row is not None:
            inserted += int(row.fresh)
            updated += int(not row.fresh)
    retired = _retire_missing_facilities(conn, read)
    return LoadResult(inserted, updated, len(read.records) - inserted - updated, retired)


_RETIRE_SHARES = text("""
    SELECT city_code, count(*) AS active,
           count(*) FILTER (WHERE NOT (source_id = ANY(CAST(:ids AS text[])))) AS gone
    FROM facilities
    WHERE active AND dataset = :dataset AND city_code = :city
    GROUP BY city_code
""")


def _check_retire_share(conn: Connection, read: FacilityFile, max_share: float) -> None:
    for city in sorted({city for city, _ in read.present}):
        ids = sorted(source_id for code, source_id in read.present if code == city)
        row = conn.execute(
            _RETIRE_SHARES, {"ids": ids, "dataset": str(read.dataset), "city": city}
        ).first()
        if row is not None and row.gone > max_share * row.active:
            raise RetireRefused(
                f"this file would retire {row.gone} of the {row.active} facilities of city "
                f"{city} in this list ({row.gone / row.active:.0%}, more than "
                f"{max_share:.0%}): is it cut short, or another list? Nothing was loaded; "
                "if it is complete, load it again with --allow-retire"
            )


def _retire_missing_facilities(conn: Connection, read: FacilityFile) -> int:
    if not read.present:
        return 0
    stmt = (
        update(facilities)
        .where(
            facilities.c.active,
            facilities.c.dataset == str(read.dataset),
            facilities.c.city_code.in_(sorted({city for city, _ in read.present})),
            tuple_(facilities.c.city_code, facilities.c.source_id).not_in(sorted(read.present)),
        )
        .values(active=False, loaded_at=func.now())
    )
    return conn.execute(stmt).rowcount
