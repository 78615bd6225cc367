"""`civic apikey`: Open311 API keys."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from service.apikeys import ApiKeyError, create_key, list_keys, revoke_key
from service.cli.common import (
    database_url,
    fail,
    in_transaction,
    load_settings,
)
from service.localtime import when

app = typer.Typer(help="Open311 API keys: the systems allowed to file reports.")


@app.command("add")
def apikey_add(
    name: Annotated[str, typer.Argument(help="Who holds it (letters, digits, . _ @ -)")],
) -> None:
    """Make an API key for POST /open311/v2/requests and print it (shown only now)."""
    url = database_url(load_settings())
    try:
        key = asyncio.run(in_transaction(url, lambda conn: create_key(conn, name)))
    except ApiKeyError as exc:
        raise fail(exc) from exc
    typer.echo(f"created API key {name!r}")
    typer.echo(f"api_key: {key}")
    typer.echo("it is shown only now: hand it over safely (only its SHA-256 is kept)")


@app.command("list")
def apikey_list() -> None:
    """Every API key by name: when made, last used, revoked (never the keys themselves)."""
    url = database_url(load_settings())
    for key in asyncio.run(in_transaction(url, list_keys)):
        state = f"revoked {when(key.revoked_at)}" if key.revoked_at else "live"
        typer.echo(
            f"{key.name}: {state}; created {when(key.created_at)} JST, "
            f"last used {when(key.last_used_at) or '-'}"
        )


@app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke an API key: requests filed with it are refused from now on."""
    url = database_url(load_settings())
    try:
        asyncio.run(in_transaction(url, lambda conn: revoke_key(conn, name)))
    except ApiKeyError as exc:
        raise fail(exc) from exc
    typer.echo(f"revoked API key {name!r}")
