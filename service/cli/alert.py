"""`civic alert`: an area alert to the residents who chose its topic."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from service import alerts
from service.cli.common import (
    CrsOption,
    database_url,
    fail,
    in_transaction,
    load_settings,
)

app = typer.Typer()


@app.command("alert")
def alert(
    topic: Annotated[str, typer.Option(help="Topic code from ALERT_TOPICS, e.g. disaster")],
    text: Annotated[str, typer.Option(help="The message to send")],
    area: Annotated[Path | None, typer.Option(help="A GeoJSON file of the area (polygons)")] = None,
    hazard_layer: Annotated[
        str | None, typer.Option(help="A loaded hazard layer: the area is all its zones")
    ] = None,
    circle: Annotated[
        str | None, typer.Option(help="LAT,LON,METRES: a circle around a point")
    ] = None,
    crs: CrsOption = None,
    dry_run: Annotated[bool, typer.Option(help="Only count who it would reach")] = False,
    by: Annotated[str, typer.Option(help="Who sends it (kept with the alert)")] = "cli",
) -> None:
    """Send a message to the residents whose registered spot is inside an area and who chose
    the topic (multicast batches through the outbox, sent by the running service)."""
    settings = load_settings()
    if sum(given is not None for given in (area, hazard_layer, circle)) != 1:
        raise fail(ValueError("give exactly one of --area, --hazard-layer, --circle"))
    url = database_url(settings)

    async def resolve(conn: AsyncConnection) -> alerts.AlertArea:
        if area is not None:
            return alerts.area_from_file(area, crs)
        if hazard_layer is not None:
            return await alerts.area_from_hazard_layer(conn, hazard_layer)
        return await alerts.area_from_circle(conn, *alerts.parse_circle(circle or ""))

    async def work(conn: AsyncConnection) -> str:
        alerts.check_topic(settings.alerts, topic)
        alerts.check_text(text)
        where = await resolve(conn)
        if dry_run:
            reach = await alerts.preview(conn, settings.alerts, where, topic)
            return f"dry run: {reach.summary()} ({where.label}); nothing was sent"
        queued = await alerts.queue_alert(conn, settings.alerts, where, topic, text, created_by=by)
        return f"alert No.{queued.alert_id} queued: {queued.reach.summary()} ({where.label})"

    try:
        typer.echo(asyncio.run(in_transaction(url, work)))
    except alerts.AlertError as exc:
        raise fail(exc) from exc
