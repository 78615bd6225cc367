"""`civic dev`, `civic serve` and `civic worker`: running the service."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from prometheus_client import start_http_server
from sqlalchemy import create_engine

from service import bundled
from service.cli.common import (
    database_url,
    fail,
    load_settings,
    start_logging,
)
from service.migrations import upgrade
from service.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer()


def _web_app(settings: Settings) -> FastAPI:
    # Imported here, not at the top: the web app and the LINE SDK take over a second to
    # import, which every other `civic` command (and its --help) would wait for.
    from service.app import create_app

    return create_app(settings)


def _print_urls(settings: Settings) -> None:
    base = settings.server.base_url
    typer.echo(f"\ncivic-gis is serving on {base}")
    typer.echo(f"  LINE webhook:    {base}/line/webhook")
    typer.echo(f"  crew pages:      {base}/crew/   (accounts: civic crew add NAME --role admin)")
    typer.echo(f"  shelter status:  {base}/shelters   (public; GeoJSON at /shelters.geojson)")
    typer.echo(f"  Open311:         {base}/open311/v2/discovery.json")
    typer.echo(f"  health:          {base}/healthz  {base}/readyz  {base}/metrics")
    typer.echo(f"  API schema:      {base}/crew/openapi.json   (logged-in crews)")
    if settings.line.sandbox:
        typer.echo("  sandbox mode (no LINE credentials): LINE is simulated locally")
        typer.echo(f"  chat with the bot in a browser: {base}/sandbox")
        typer.echo(f"  or from a terminal: civic sandbox say 避難所   (POST {base}/sandbox/say)")
        typer.echo(f"  stand-in calls:  {base}/sandbox/line/_standin/calls")


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8000,
) -> None:
    """Private PostGIS, migrate, load the bundled data, serve (sandbox unless LINE is set)."""
    settings = load_settings()
    settings.server.host = "127.0.0.1"
    settings.server.port = port
    # Plain HTTP on loopback: a Secure cookie would never come back, and no one could log in.
    settings.crew.cookie_secure = False
    start_logging(settings)
    url = database_url(settings)
    typer.echo("migrating…")
    upgrade(url)
    typer.echo("loading bundled data…")
    for line in bundled.load_bundled(create_engine(url), settings.data):
        typer.echo(f"  {line}")
    _print_urls(settings)
    # log_config=None: uvicorn's own lines go through configure_logging's handler too.
    uvicorn.run(
        _web_app(settings),
        host="127.0.0.1",
        port=port,
        root_path=settings.server.root_path,
        # The app reads forwarded headers itself, from FORWARDED_ALLOW_IPS only.
        proxy_headers=False,
        log_config=None,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option()] = 8000,
    sandbox: Annotated[bool, typer.Option(help="Allow running without LINE credentials")] = False,
) -> None:
    """Production: serve against DATABASE_URL with the configured LINE channel."""
    settings = load_settings()
    if not settings.database.url:
        raise fail(RuntimeError("DATABASE_URL is not set"))
    if settings.line.sandbox and not sandbox:
        raise fail(
            RuntimeError(
                "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not set "
                "(pass --sandbox to run with the local stand-in)"
            )
        )
    settings.server.host, settings.server.port = host, port
    start_logging(settings)
    _print_urls(settings)
    uvicorn.run(
        _web_app(settings),
        host=host,
        port=port,
        root_path=settings.server.root_path,
        # The app reads forwarded headers itself, from FORWARDED_ALLOW_IPS only (uvicorn's
        # own default would believe any client on 127.0.0.1).
        proxy_headers=False,
        log_config=None,
    )


@app.command()
def worker(
    count: Annotated[int, typer.Option(help="Concurrent workers in this process")] = 2,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this process's counters at http://127.0.0.1:PORT/metrics"),
    ] = None,
) -> None:
    """Drain the inbox in this process (run several beside `civic serve INBOX_WORKERS=0`)."""
    # Imported on use, as in _web_app.
    from service.metrics import Metrics
    from service.runtime import running

    settings = load_settings()
    start_logging(settings)
    database_url(settings)  # DATABASE_URL, or the private cluster started on demand
    metrics = Metrics()
    if metrics_port is not None:
        # Loopback only and no token: scraped by an agent on the same machine. The queue
        # depths are on the app's /metrics (read from the database).
        start_http_server(metrics_port, addr="127.0.0.1", registry=metrics.registry)

    async def run() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        async with running(settings, inbox_workers=count, outbox_workers=1, metrics=metrics):
            typer.echo(f"{count} inbox workers and an outbox worker (pid {os.getpid()})")
            await stopping.wait()

    asyncio.run(run())
