"""`civic crew`: crew accounts."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from service.cli.common import (
    database_url,
    fail,
    in_transaction,
    load_settings,
)
from service.crew import auth as crew_auth

app = typer.Typer(help="Crew accounts: the logins to the crew pages.")


@app.command("add")
def crew_add(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -)")],
    role: Annotated[str, typer.Option(help="crew or admin")] = "crew",
) -> None:
    """Create a crew account and print its one-time password (changed at first login)."""
    url = database_url(load_settings())
    try:
        password = asyncio.run(
            in_transaction(url, lambda conn: crew_auth.create_account(conn, name, role))
        )
    except crew_auth.AccountError as exc:
        raise fail(exc) from exc
    typer.echo(f"created {role} account {name!r}")
    typer.echo(f"one-time password: {password}")
    typer.echo("it is shown only now, and must be changed at the first login (/crew/login)")
