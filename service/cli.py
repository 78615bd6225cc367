"""The `civic` command: run the service, migrate, load data, drain the inbox."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from functools import partial
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from gis.hazards import HazardKind
from gis.sources.errors import SourceError
from service import bundled, localdb
from service.app import create_app
from service.line.handlers import HandlerContext, handle_event
from service.line.inbox import InboxWorkers, status_counts
from service.line.platform import LinePlatform
from service.migrations import upgrade
from service.settings import Settings

app = typer.Typer(help="civic-gis: a municipality's LINE account, made spatial.")
db_app = typer.Typer(help="The database schema.")
load_app = typer.Typer(help="Load official data files (idempotent: a reload changes nothing).")
inbox_app = typer.Typer(help="The webhook inbox.")
sandbox_app = typer.Typer(help="Play a resident against a running sandbox (`civic dev`).")
app.add_typer(db_app, name="db")
app.add_typer(load_app, name="load")
app.add_typer(inbox_app, name="inbox")
app.add_typer(sandbox_app, name="sandbox")

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
    url = _database_url(settings)

    async def run() -> None:
        engine = create_async_engine(url, pool_size=count + 1)
        platform = LinePlatform(settings.line, settings.line_api_url)
        context = HandlerContext(engine=engine, platform=platform, answer=settings.answer)
        workers = InboxWorkers(engine, partial(handle_event, context), settings.inbox)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        workers.start(count)
        typer.echo(f"{count} inbox workers running (pid {os.getpid()}); Ctrl-C stops")
        await stopping.wait()
        await workers.stop()
        await platform.aclose()
        await engine.dispose()

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
