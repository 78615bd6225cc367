"""`civic db`: the database schema."""

from __future__ import annotations

import typer

from service.cli.common import (
    database_url,
    load_settings,
)
from service.migrations import upgrade

app = typer.Typer(help="The database schema.")


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    upgrade(database_url(load_settings()))
    typer.echo("database is up to date")
