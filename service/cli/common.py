"""What every `civic` sub-command shares: the settings, the database, errors, logging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from service import localdb
from service.logs import configure_logging
from service.settings import Settings, SettingsError

T = TypeVar("T")

CrsOption = Annotated[
    str | None, typer.Option(help="CRS of the file when it does not say, e.g. EPSG:6677")
]


def load_settings() -> Settings:
    """The settings from the environment. A setting the service cannot run with stops the
    command with exit status 2 and one line per bad variable, naming it (no traceback)."""
    try:
        settings = Settings.from_env()
        settings.check()
    except ValidationError as exc:
        for error in exc.errors():
            variable = ".".join(str(part) for part in error["loc"])
            problem = error["msg"].removeprefix("Value error, ")
            typer.echo(f"error: {variable}: {problem} (got {error['input']!r})", err=True)
        raise typer.Exit(2) from exc
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    return settings


def database_url(settings: Settings) -> str:
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


def fail(exc: Exception) -> typer.Exit:
    """Print `exc` as the command's error; raise the returned Exit (status 1)."""
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


def start_logging(settings: Settings) -> None:
    """LOG_FORMAT and LOG_LEVEL, for the commands that run the service."""
    try:
        configure_logging(settings.ops)
    except ValueError as exc:
        raise fail(exc) from exc


async def in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()
