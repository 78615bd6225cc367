"""The `civic` command: run the service, migrate, load data, drain the inbox."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import httpx
import typer
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gis.clusters import STATUSES, recluster_open_reports
from gis.hazards import HazardKind
from gis.sources.errors import SourceError
from service import bundled, localdb, reports
from service.app import create_app
from service.crew import auth as crew_auth
from service.line.inbox import status_counts
from service.migrations import upgrade
from service.runtime import running
from service.settings import Settings

app = typer.Typer(help="civic-gis: a municipality's LINE account, made spatial.")
db_app = typer.Typer(help="The database schema.")
load_app = typer.Typer(help="Load official data files (idempotent: a reload changes nothing).")
inbox_app = typer.Typer(help="The webhook inbox.")
sandbox_app = typer.Typer(help="Play a resident against a running sandbox (`civic dev`).")
reports_app = typer.Typer(help="Defect reports: status changes, clustering, retention.")
crew_app = typer.Typer(help="Crew accounts: the logins to the crew pages.")
app.add_typer(db_app, name="db")
app.add_typer(load_app, name="load")
app.add_typer(inbox_app, name="inbox")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(reports_app, name="reports")
app.add_typer(crew_app, name="crew")

T = TypeVar("T")

CrsOption = Annotated[
    str | None, typer.Option(help="CRS of the file when it does not say, e.g. EPSG:6677")
]


def _settings() -> Settings:
    return Settings.from_env()


def _database_url(settings: Settings) -> str:
    """DATABASE_URL, or the private cluster under .data/postgres (started on demand)."""
    if settings.database.url:
        return settings.database.url
    try:
        cluster = localdb.start(settings.database.local_dir)
    except localdb.LocalDbError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    localdb.ensure_database(cluster, "civic")
    settings.database.url = cluster.url("civic")
    return settings.database.url


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    upgrade(_database_url(_settings()))
    typer.echo("database is up to date")


@load_app.command("shelters")
def load_shelters(file: Path, crs: CrsOption = None) -> None:
    """Load GSI 指定緊急避難場所・指定避難所 data (GeoJSON or the official CSV)."""
    engine = create_engine(_database_url(_settings()))
    try:
        typer.echo(bundled.load_shelters_file(engine, file, crs).summary())
    except (SourceError, OSError) as exc:
        raise _fail(exc) from exc


@load_app.command("hazards")
def load_hazards(
    file: Path,
    kind: Annotated[HazardKind, typer.Option(help="What the layer holds")],
    name: Annotated[str | None, typer.Option(help="Layer name (default: file name)")] = None,
    crs: CrsOption = None,
) -> None:
    """Load a hazard layer (国土数値情報 A31/A33/A40 and compatible GeoJSON)."""
    engine = create_engine(_database_url(_settings()))
    try:
        typer.echo(bundled.load_hazard_file(engine, file, kind, name, crs).summary())
    except (SourceError, OSError) as exc:
        raise _fail(exc) from exc


@load_app.command("area")
def load_area(file: Path, crs: CrsOption = None) -> None:
    """Load the service area (国土数値情報 N03 boundary GeoJSON)."""
    engine = create_engine(_database_url(_settings()))
    try:
        typer.echo(bundled.load_area_file(engine, file, crs).summary())
    except (SourceError, OSError) as exc:
        raise _fail(exc) from exc


@load_app.command("bundled")
def load_bundled() -> None:
    """Load the shipped shelters, hazard layers and service area (SHELTERS_FILE, …)."""
    settings = _settings()
    engine = create_engine(_database_url(settings))
    try:
        for line in bundled.load_bundled(engine, settings.data):
            typer.echo(line)
    except (SourceError, OSError) as exc:
        raise _fail(exc) from exc


def _print_urls(settings: Settings) -> None:
    base = settings.server.base_url
    typer.echo(f"\ncivic-gis is serving on {base}")
    typer.echo(f"  LINE webhook:    {base}/line/webhook")
    typer.echo(f"  health:          {base}/healthz")
    typer.echo(f"  API docs:        {base}/docs")
    if settings.line.sandbox:
        typer.echo("  sandbox mode (no LINE credentials): LINE is simulated locally")
        typer.echo(f"  try it:          civic sandbox say 避難所   (or POST {base}/sandbox/say)")
        typer.echo(f"  stand-in calls:  {base}/sandbox/line/_standin/calls")


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8000,
) -> None:
    """Private PostGIS, migrate, load the bundled data, serve (sandbox unless LINE is set)."""
    settings = _settings()
    settings.server.host = "127.0.0.1"
    settings.server.port = port
    # Plain HTTP on loopback: a Secure cookie would never come back, and no one could log in.
    settings.crew.cookie_secure = False
    url = _database_url(settings)
    typer.echo("migrating…")
    upgrade(url)
    typer.echo("loading bundled data…")
    for line in bundled.load_bundled(create_engine(url), settings.data):
        typer.echo(f"  {line}")
    _print_urls(settings)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="info")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option()] = 8000,
    sandbox: Annotated[bool, typer.Option(help="Allow running without LINE credentials")] = False,
) -> None:
    """Production: serve against DATABASE_URL with the configured LINE channel."""
    settings = _settings()
    if not settings.database.url:
        raise _fail(RuntimeError("DATABASE_URL is not set"))
    if settings.line.sandbox and not sandbox:
        raise _fail(
            RuntimeError(
                "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not set "
                "(pass --sandbox to run with the local stand-in)"
            )
        )
    settings.server.host, settings.server.port = host, port
    _print_urls(settings)
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True)


@app.command()
def worker(
    count: Annotated[int, typer.Option(help="Concurrent workers in this process")] = 2,
) -> None:
    """Drain the inbox in this process (run several beside `civic serve INBOX_WORKERS=0`)."""
    settings = _settings()
    _database_url(settings)  # DATABASE_URL, or the private cluster started on demand

    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        async with running(settings, inbox_workers=count, outbox_workers=1):
            typer.echo(f"{count} inbox workers and an outbox worker (pid {os.getpid()})")
            await stopping.wait()

    asyncio.run(run())


@inbox_app.command("status")
def inbox_status() -> None:
    """How many events are pending, processing, done, ignored or failed."""
    url = _database_url(_settings())

    async def run() -> dict[str, int]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            counts = await status_counts(conn)
        await engine.dispose()
        return counts

    for status, count in asyncio.run(run()).items():
        typer.echo(f"{status:>10}: {count}")


async def _in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


@reports_app.command("status")
def reports_status(
    cluster: Annotated[int, typer.Argument(help="The report cluster (what crews work)")],
    status: Annotated[str, typer.Argument(help=", ".join(STATUSES))],
    note: Annotated[str, typer.Option(help="Told to the residents")] = "",
    actor: Annotated[str, typer.Option(help="Who made the change")] = "cli",
) -> None:
    """Change a cluster's status; every resident who reported it is notified (outbox)."""
    settings = _settings()
    url = _database_url(settings)

    async def work(conn: AsyncConnection) -> int:
        return await reports.change_status(
            conn, cluster, status, actor=actor, note=note, settings=settings.reports
        )

    try:
        queued = asyncio.run(_in_transaction(url, work))
    except reports.WorkflowError as exc:
        raise _fail(exc) from exc
    typer.echo(f"cluster {cluster} is now {status}; {queued} residents will be notified")


@reports_app.command("forget")
def reports_forget(
    days: Annotated[
        int | None, typer.Option(help="Retention (default REPORT_RETENTION_DAYS)")
    ] = None,
) -> None:
    """Unlink reporters (LINE user IDs) from reports closed longer ago than the retention."""
    settings = _settings()
    url = _database_url(settings)
    before = datetime.now(UTC) - timedelta(days=days or settings.reports.retention_days)
    done = asyncio.run(_in_transaction(url, lambda conn: reports.forget_reporters(conn, before)))
    typer.echo(
        f"unlinked {done.reports} reports; deleted {done.outbox_rows} sent pushes and "
        f"{done.events} webhook events older than {before:%Y-%m-%d}"
    )


@reports_app.command("recluster")
def reports_recluster() -> None:
    """Rebuild open clusters with DBSCAN (after changing REPORT_DUPLICATE_METRES)."""
    settings = _settings()
    engine = create_engine(_database_url(settings))
    with engine.begin() as conn:
        result = recluster_open_reports(
            conn, settings.reports.duplicate_metres, settings.reports.metric_srid
        )
    typer.echo(str(result))


@crew_app.command("add")
def crew_add(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -)")],
    role: Annotated[str, typer.Option(help="crew or admin")] = "crew",
) -> None:
    """Create a crew account and print its one-time password (changed at first login)."""
    url = _database_url(_settings())
    try:
        password = asyncio.run(
            _in_transaction(url, lambda conn: crew_auth.create_account(conn, name, role))
        )
    except crew_auth.AccountError as exc:
        raise _fail(exc) from exc
    typer.echo(f"created {role} account {name!r}")
    typer.echo(f"one-time password: {password}")
    typer.echo("it is shown only now, and must be changed at the first login (/crew/login)")


@sandbox_app.command("say")
def sandbox_say(
    text: Annotated[str | None, typer.Argument(help="A text message")] = None,
    lat: Annotated[float | None, typer.Option(help="Send a location: latitude")] = None,
    lon: Annotated[float | None, typer.Option(help="Send a location: longitude")] = None,
    language: Annotated[str, typer.Option(help="The resident's LINE language")] = "ja",
    url: Annotated[str, typer.Option(help="The running app")] = "http://127.0.0.1:8000",
) -> None:
    """Send a text or a location as a resident and print the bot's answer."""
    payload: dict[str, object] = {"language": language}
    if lat is not None and lon is not None:
        payload |= {"latitude": lat, "longitude": lon}
    else:
        payload["text"] = text or "避難所"
    response = httpx.post(f"{url}/sandbox/say", json=payload, timeout=30, trust_env=False)
    if response.status_code != 200:
        raise _fail(RuntimeError(f"{response.status_code}: {response.text}"))
    for answer in response.json()["answers"]:
        for message in answer["messages"]:
            if message["type"] == "text":
                typer.echo(message["text"])
            else:
                typer.echo(json.dumps(message, ensure_ascii=False, indent=1))
        typer.echo("")


def main() -> None:
    """Entry point of the `civic` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
