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
from prometheus_client import start_http_server
from shapely.geometry.base import BaseGeometry
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gis import load as gis_load
from gis import shelter_status
from gis.clusters import STATUSES, recluster_open_reports
from gis.facilities import DATASET_NAMES, Dataset
from gis.hazards import HazardKind
from gis.sources.errors import SourceError
from gis.sources.facilities import note_lines, read_facilities_csv
from service import alerts, bundled, localdb, reports
from service.apikeys import ApiKeyError, create_key, list_keys, revoke_key
from service.app import create_app
from service.crew import auth as crew_auth
from service.line.inbox import status_counts
from service.line.keywords import KeywordError, load_keywords
from service.localtime import when
from service.logs import configure_logging
from service.metrics import Metrics
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


def _configure_logging(settings: Settings) -> None:
    """LOG_FORMAT and LOG_LEVEL, for the commands that run the service."""
    try:
        configure_logging(settings.ops)
    except ValueError as exc:
        raise _fail(exc) from exc


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


@load_app.command("facilities")
def load_facilities(
    file: Path,
    kind: Annotated[
        Dataset | None, typer.Option(help="The dataset, when the columns do not tell")
    ] = None,
) -> None:
    """Load a 公共施設一覧, 医療機関一覧 or AED設置箇所一覧 CSV (standard open data, either
    layout); a newer file of the same city updates by ID and retires rows it no longer has."""
    engine = create_engine(_database_url(_settings()))
    try:
        with engine.begin() as conn:
            # Swapped coordinates are told apart against the service area, when one is loaded.
            area = gis_load.current_service_area(conn)
            read = read_facilities_csv(file, kind=kind, area=area)
            result = gis_load.load_facilities(conn, read, file.name)
    except (SourceError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"{file.name}: {DATASET_NAMES[read.dataset]} ({read.layout}): {result.summary()}, "
        f"{len(read.skipped)} rows skipped"
    )
    for title, notes in (("skipped", read.skipped), ("fixed", read.fixed)):
        for line in note_lines(notes):
            typer.echo(f"  {title}: {line}")


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
    typer.echo(f"  crew pages:      {base}/crew/   (accounts: civic crew add NAME --role admin)")
    typer.echo(f"  shelter status:  {base}/shelters   (public; GeoJSON at /shelters.geojson)")
    typer.echo(f"  Open311:         {base}/open311/v2/discovery.json")
    typer.echo(f"  health:          {base}/healthz  {base}/readyz  {base}/metrics")
    typer.echo(f"  API docs:        {base}/docs")
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
    settings = _settings()
    settings.server.host = "127.0.0.1"
    settings.server.port = port
    # Plain HTTP on loopback: a Secure cookie would never come back, and no one could log in.
    settings.crew.cookie_secure = False
    _configure_logging(settings)
    url = _database_url(settings)
    typer.echo("migrating…")
    upgrade(url)
    typer.echo("loading bundled data…")
    for line in bundled.load_bundled(create_engine(url), settings.data):
        typer.echo(f"  {line}")
    _print_urls(settings)
    # log_config=None: uvicorn's own lines go through configure_logging's handler too.
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_config=None)


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
    _configure_logging(settings)
    _print_urls(settings)
    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True, log_config=None)


@app.command()
def worker(
    count: Annotated[int, typer.Option(help="Concurrent workers in this process")] = 2,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this process's counters at http://127.0.0.1:PORT/metrics"),
    ] = None,
) -> None:
    """Drain the inbox in this process (run several beside `civic serve INBOX_WORKERS=0`)."""
    settings = _settings()
    _configure_logging(settings)
    _database_url(settings)  # DATABASE_URL, or the private cluster started on demand
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


apikey_app = typer.Typer(help="Open311 API keys: the systems allowed to file reports.")
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("add")
def apikey_add(
    name: Annotated[str, typer.Argument(help="Who holds it (letters, digits, . _ @ -)")],
) -> None:
    """Make an API key for POST /open311/v2/requests and print it (shown only now)."""
    url = _database_url(_settings())
    try:
        key = asyncio.run(_in_transaction(url, lambda conn: create_key(conn, name)))
    except ApiKeyError as exc:
        raise _fail(exc) from exc
    typer.echo(f"created API key {name!r}")
    typer.echo(f"api_key: {key}")
    typer.echo("it is shown only now: hand it over safely (only its SHA-256 is kept)")


@apikey_app.command("list")
def apikey_list() -> None:
    """Every API key by name: when made, last used, revoked (never the keys themselves)."""
    url = _database_url(_settings())
    for key in asyncio.run(_in_transaction(url, list_keys)):
        state = f"revoked {when(key.revoked_at)}" if key.revoked_at else "live"
        typer.echo(
            f"{key.name}: {state}; created {when(key.created_at)} JST, "
            f"last used {when(key.last_used_at) or '-'}"
        )


@apikey_app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke an API key: requests filed with it are refused from now on."""
    url = _database_url(_settings())
    try:
        asyncio.run(_in_transaction(url, lambda conn: revoke_key(conn, name)))
    except ApiKeyError as exc:
        raise _fail(exc) from exc
    typer.echo(f"revoked API key {name!r}")


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
    settings = _settings()
    if sum(given is not None for given in (area, hazard_layer, circle)) != 1:
        raise _fail(ValueError("give exactly one of --area, --hazard-layer, --circle"))
    url = _database_url(settings)

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
        typer.echo(asyncio.run(_in_transaction(url, work)))
    except alerts.AlertError as exc:
        raise _fail(exc) from exc


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


@app.command("keywords")
def keywords_check(
    file: Annotated[Path, typer.Argument(help="A keyword table (CSV or YAML)")],
    ask: Annotated[str | None, typer.Option(help="Show the answer to this text")] = None,
) -> None:
    """Check a keyword table before pointing KEYWORD_ANSWERS at it."""
    try:
        table = load_keywords(file)
    except KeywordError as exc:
        raise _fail(exc) from exc
    count = sum(len(entry.keywords) for entry in table.entries)
    typer.echo(f"{file}: {len(table.entries)} answers, {count} keywords")
    if ask is not None:
        found = table.match(ask)
        typer.echo(found.message("ja")["text"] if found else "no answer: the help message")


shelter_app = typer.Typer(
    help="Shelters in a disaster: mark sites open, full or closed, or clear them; declare the "
    "hazard; see the history."
)
app.add_typer(shelter_app, name="shelter")

ShelterIds = Annotated[
    list[str] | None, typer.Argument(help="Sites by 共通ID (see `civic shelter list`)")
]
HazardOption = Annotated[
    str | None,
    typer.Option(help="Also every site designated for this hazard (flood, earthquake, …)"),
]
TownOption = Annotated[
    str | None,
    typer.Option(help="Also every site in this town: the 町名 in its address, e.g. 田端"),
]
WithinOption = Annotated[
    Path | None, typer.Option(help="Also every site inside this GeoJSON file's polygons")
]
NoteOption = Annotated[str, typer.Option(help="Shown to residents with the status")]
ByOption = Annotated[str, typer.Option(help="Who made the change (kept in the log)")]


async def _chosen_sites(
    conn: AsyncConnection,
    ids: list[str] | None,
    hazard: str | None,
    town: str | None,
    area: BaseGeometry | None,
) -> list[str]:
    """The sites named by ID plus every site matching --hazard, --town and --within together
    (when any of them is given)."""
    chosen = list(ids or [])
    if hazard is not None or town is not None or area is not None:
        chosen += await shelter_status.select_ids(
            conn,
            hazard=shelter_status.parse_hazard(hazard) if hazard is not None else None,
            town=town,
            area=area,
        )
    return chosen


def _within(within: Path | None, crs: str | None) -> BaseGeometry | None:
    """The polygons of the --within file (AlertError naming what is wrong with it)."""
    return alerts.area_from_file(within, crs).geometry if within is not None else None


def _shelter_status_command(status: shelter_status.ShelterStatus) -> Callable[..., None]:
    """The `civic shelter open|full|close` command that sets `status`."""

    def command(
        ids: ShelterIds = None,
        hazard: HazardOption = None,
        town: TownOption = None,
        within: WithinOption = None,
        crs: CrsOption = None,
        note: NoteOption = "",
        by: ByOption = "cli",
    ) -> None:
        url = _database_url(_settings())

        async def work(conn: AsyncConnection) -> list[str]:
            chosen = await _chosen_sites(conn, ids, hazard, town, area)
            return await shelter_status.set_status(conn, chosen, status, actor=by, note=note)

        try:
            area = _within(within, crs)
            done = asyncio.run(_in_transaction(url, work))
        except (shelter_status.StatusError, alerts.AlertError) as exc:
            raise _fail(exc) from exc
        sites = "site is" if len(done) == 1 else "sites are"
        typer.echo(f"{len(done)} {sites} now {status}: {', '.join(done)}")

    command.__doc__ = (
        f"Mark sites {status} (by ID, and/or every site matching --hazard, --town and "
        "--within together); the change is logged and residents see it at once."
    )
    return command


for _name, _status in (("open", "open"), ("full", "full"), ("close", "closed")):
    shelter_app.command(_name)(_shelter_status_command(shelter_status.ShelterStatus(_status)))


@shelter_app.command("clear")
def shelter_clear(
    ids: ShelterIds = None,
    hazard: HazardOption = None,
    town: TownOption = None,
    within: WithinOption = None,
    crs: CrsOption = None,
    all_sites: Annotated[
        bool, typer.Option("--all", help="Every site with a status: the end of the disaster")
    ] = False,
    by: ByOption = "cli",
) -> None:
    """Clear sites back to no status: by ID and/or selection (as open), or --all; logged."""
    if all_sites and (ids or hazard is not None or town is not None or within is not None):
        raise _fail(
            ValueError(
                "--all takes every site: give no site IDs, --hazard, --town or --within with it"
            )
        )
    url = _database_url(_settings())

    async def work(
        conn: AsyncConnection,
    ) -> tuple[list[str], shelter_status.ActiveHazard | None]:
        if all_sites:
            cleared = await shelter_status.clear_all(conn, actor=by)
        else:
            chosen = await _chosen_sites(conn, ids, hazard, town, area)
            cleared = await shelter_status.clear_status(conn, chosen, actor=by)
        return cleared, await shelter_status.active_hazard(conn)

    try:
        area = _within(within, crs)
        done, declared = asyncio.run(_in_transaction(url, work))
    except (shelter_status.StatusError, alerts.AlertError) as exc:
        raise _fail(exc) from exc
    if done:
        sites = "site" if len(done) == 1 else "sites"
        typer.echo(f"{len(done)} {sites} cleared (no status): {', '.join(done)}")
    else:
        typer.echo("no chosen site had a status; nothing was changed")
    if all_sites and declared is not None:
        typer.echo(
            f"the declared hazard ({declared.hazard}) is still active: "
            "`civic shelter hazard none` ends it"
        )


@shelter_app.command("hazard")
def shelter_hazard(
    kind: Annotated[str, typer.Argument(help="flood, landslide, earthquake, … or none")],
    by: ByOption = "cli",
) -> None:
    """Declare the disaster's hazard (its open sites are offered first), or end it: none."""
    url = _database_url(_settings())

    async def work(conn: AsyncConnection) -> str:
        if kind.strip().lower() == "none":
            ended = await shelter_status.clear_hazard(conn, actor=by)
            return f"no active hazard (ended: {ended})" if ended else "no active hazard"
        hazard = shelter_status.parse_hazard(kind)
        await shelter_status.declare_hazard(conn, hazard, actor=by)
        return f"active hazard: {hazard}"

    try:
        typer.echo(asyncio.run(_in_transaction(url, work)))
    except shelter_status.StatusError as exc:
        raise _fail(exc) from exc


@shelter_app.command("list")
def shelter_list() -> None:
    """Every site with its status, last update (Japan time) and note; the declared hazard."""
    url = _database_url(_settings())

    async def work(
        conn: AsyncConnection,
    ) -> tuple[shelter_status.ActiveHazard | None, list[shelter_status.SiteStatus]]:
        return await shelter_status.active_hazard(conn), await shelter_status.current_statuses(conn)

    declared, sites = asyncio.run(_in_transaction(url, work))
    if declared is None:
        typer.echo("active hazard: none")
    else:
        typer.echo(
            f"active hazard: {declared.hazard} "
            f"(declared {when(declared.declared_at)} by {declared.declared_by})"
        )
    for site in sites:
        typer.echo(
            f"{site.common_id}  {site.status or '-':<6}  {when(site.updated_at) or '-':<16}  "
            f"{site.name}{'  ' + site.note if site.note else ''}"
        )


@shelter_app.command("history")
def shelter_history(
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest changes")] = 50,
) -> None:
    """The latest status changes and hazard declarations, oldest first, in Japan time."""
    url = _database_url(_settings())

    async def work(
        conn: AsyncConnection,
    ) -> tuple[list[shelter_status.HazardDeclaration], list[shelter_status.StatusChange]]:
        return (
            await shelter_status.hazard_history(conn, limit),
            await shelter_status.status_history(conn, limit),
        )

    declarations, changes = asyncio.run(_in_transaction(url, work))
    # (when, subject, what, who, details), each log oldest first; the sort is stable, so at
    # one instant (an end of the disaster on the crew page) the hazard comes before the sites.
    entries = [(d.at, "hazard", d.hazard or "ended", d.actor, "") for d in reversed(declarations)]
    entries += [
        (
            c.at,
            c.common_id,
            c.status or shelter_status.CLEARED,
            c.actor,
            "  ".join(part for part in (c.name, c.note) if part),
        )
        for c in reversed(changes)
    ]
    latest = sorted(entries, key=lambda entry: entry[0])[-limit:]
    if not latest:
        typer.echo("no status change or hazard declaration recorded")
    for at, subject, what, who, details in latest:
        typer.echo(f"{when(at)}  {subject:<14}  {what:<12}  by {who}  {details}".rstrip())


def main() -> None:
    """Entry point of the `civic` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
