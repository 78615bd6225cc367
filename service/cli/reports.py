"""`civic reports`: defect reports' status changes, clustering and retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gis.clusters import STATUSES, recluster_open_reports
from service import reports
from service.cli.common import (
    database_url,
    fail,
    in_transaction,
    load_settings,
)
from service.photo_cleanup import remove_unreferenced_photos
from service.photo_stores import open_photo_store

app = typer.Typer(help="Defect reports: status changes, clustering, retention.")


@app.command("status")
def reports_status(
    cluster: Annotated[int, typer.Argument(help="The report cluster (what crews work)")],
    status: Annotated[str, typer.Argument(help=", ".join(STATUSES))],
    note: Annotated[str, typer.Option(help="Told to the residents")] = "",
    actor: Annotated[str, typer.Option(help="Who made the change")] = "cli",
) -> None:
    """Change a cluster's status; every resident who reported it is notified (outbox)."""
    url = database_url(load_settings())

    async def work(conn: AsyncConnection) -> int:
        return await reports.change_status(conn, cluster, status, actor=actor, note=note)

    try:
        queued = asyncio.run(in_transaction(url, work))
    except reports.WorkflowError as exc:
        raise fail(exc) from exc
    typer.echo(f"cluster {cluster} is now {status}; {queued} residents will be notified")


@app.command("forget")
def reports_forget(
    days: Annotated[
        int | None, typer.Option(min=0, help="Retention (default REPORT_RETENTION_DAYS)")
    ] = None,
) -> None:
    """Unlink reporters (LINE user IDs) from reports closed longer ago than the retention,
    and remove the photos no report or live draft holds (cancelled and expired drafts')."""
    settings = load_settings()
    url = database_url(settings)
    # 0 days is a retention of its own (forget every closed report), not the default.
    retention = settings.reports.retention_days if days is None else days
    before = datetime.now(UTC) - timedelta(days=retention)
    store = open_photo_store(settings.data, settings.objects)
    lifetime = timedelta(minutes=settings.reports.draft_minutes)

    async def forget() -> tuple[reports.Forgotten, int]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                done = await reports.forget_reporters(conn, before)
            return done, await remove_unreferenced_photos(engine, store, lifetime)
        finally:
            await engine.dispose()

    done, removed = asyncio.run(forget())
    typer.echo(
        f"unlinked {done.reports} reports; deleted {done.outbox_rows} sent pushes and "
        f"{done.events} webhook events older than {before:%Y-%m-%d}; removed {removed} "
        f"photos no report holds from {store.location}"
    )


@app.command("recluster")
def reports_recluster() -> None:
    """Rebuild open clusters with DBSCAN (after changing REPORT_DUPLICATE_METRES)."""
    settings = load_settings()
    engine = create_engine(database_url(settings))
    with engine.begin() as conn:
        result = recluster_open_reports(
            conn, settings.reports.duplicate_metres, settings.reports.metric_srid
        )
    typer.echo(str(result))
