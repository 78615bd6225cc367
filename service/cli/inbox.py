"""`civic inbox`: the webhook inbox."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.ext.asyncio import create_async_engine

from service.cli.common import (
    database_url,
    load_settings,
)
from service.line.inbox import status_counts

app = typer.Typer(help="The webhook inbox.")


@app.command("status")
def inbox_status() -> None:
    """How many events are pending, processing, done, ignored, failed or rejected."""
    url = database_url(load_settings())

    async def run() -> dict[str, int]:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            counts = await status_counts(conn)
        await engine.dispose()
        return counts

    for status, count in asyncio.run(run()).items():
        typer.echo(f"{status:>10}: {count}")
