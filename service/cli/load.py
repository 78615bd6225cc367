"""`civic load`: the official data files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import create_engine

from gis import load as gis_load
from gis.facilities import DATASET_NAMES, Dataset
from gis.hazards import HazardKind
from gis.sources.errors import SourceError
from gis.sources.facilities import note_lines, read_facilities_csv
from service import bundled
from service.cli.common import (
    CrsOption,
    database_url,
    fail,
    load_settings,
)

app = typer.Typer(help="Load official data files (idempotent: a reload changes nothing).")


@app.command("shelters")
def load_shelters(file: Path, crs: CrsOption = None) -> None:
    """Load GSI 指定緊急避難場所・指定避難所 data (GeoJSON or the official CSV)."""
    engine = create_engine(database_url(load_settings()))
    try:
        typer.echo(bundled.load_shelters_file(engine, file, crs).summary())
    except (SourceError, OSError) as exc:
        raise fail(exc) from exc


@app.command("hazards")
def load_hazards(
    file: Path,
    kind: Annotated[HazardKind, typer.Option(help="What the layer holds")],
    name: Annotated[str | None, typer.Option(help="Layer name (default: file name)")] = None,
    crs: CrsOption = None,
) -> None:
    """Load a hazard layer (国土数値情報 A31/A33/A40 and compatible GeoJSON)."""
    engine = create_engine(database_url(load_settings()))
    try:
        typer.echo(bundled.load_hazard_file(engine, file, kind, name, crs).summary())
    except (SourceError, OSError) as exc:
        raise fail(exc) from exc


@app.command("area")
def load_area(file: Path, crs: CrsOption = None) -> None:
    """Load the service area (国土数値情報 N03 boundary GeoJSON)."""
    engine = create_engine(database_url(load_settings()))
    try:
        typer.echo(bundled.load_area_file(engine, file, crs).summary())
    except (SourceError, OSError) as exc:
        raise fail(exc) from exc


@app.command("facilities")
def load_facilities(
    file: Path,
    kind: Annotated[
        Dataset | None, typer.Option(help="The dataset, when the columns do not tell")
    ] = None,
    allow_retire: Annotated[
        bool,
        typer.Option(
            help="Retire however many rows the file no longer has (FACILITY_RETIRE_MAX_SHARE)"
        ),
    ] = False,
) -> None:
    """Load a 公共施設一覧, 医療機関一覧 or AED設置箇所一覧 CSV (standard open data, either
    layout); a newer file of the same city updates by ID and retires rows it no longer has
    (at most FACILITY_RETIRE_MAX_SHARE of them without --allow-retire)."""
    settings = load_settings()
    engine = create_engine(database_url(settings))
    share = None if allow_retire else settings.data.facility_retire_max_share
    try:
        with engine.begin() as conn:
            # Swapped coordinates are told apart against the service area, when one is loaded.
            area = gis_load.current_service_area(conn)
            read = read_facilities_csv(file, kind=kind, area=area)
            result = gis_load.load_facilities(conn, read, file.name, max_retire_share=share)
    except (SourceError, OSError, gis_load.RetireRefused) as exc:
        raise fail(exc) from exc
    typer.echo(
        f"{file.name}: {DATASET_NAMES[read.dataset]} ({read.layout}): {result.summary()}, "
        f"{len(read.skipped)} rows skipped"
    )
    for title, notes in (("skipped", read.skipped), ("fixed", read.fixed)):
        for line in note_lines(notes):
            typer.echo(f"  {title}: {line}")


@app.command("bundled")
def load_bundled() -> None:
    """Load the shipped shelters, hazard layers and service area (SHELTERS_FILE, …)."""
    settings = load_settings()
    engine = create_engine(database_url(settings))
    try:
        for line in bundled.load_bundled(engine, settings.data):
            typer.echo(line)
    except (SourceError, OSError) as exc:
        raise fail(exc) from exc
