"""The `civic` command: run the service, migrate, load data, drain the inbox.

One module per sub-command group (`civic db` is `db.py`, `civic shelter` is `shelter.py`, …);
`dev`, `serve` and `worker` are in `serve.py`; what they share is in `common.py`.
"""

from __future__ import annotations

import logging

import typer

from service.cli import (
    alert,
    apikey,
    crew,
    db,
    inbox,
    keywords,
    load,
    photos,
    reports,
    sandbox,
    serve,
    shelter,
)

app = typer.Typer(help="civic-gis: a municipality's LINE account, made spatial.")
# Commands of the top level (`civic dev`, `civic alert`, …), then the groups.
for commands in (serve.app, alert.app, keywords.app):
    app.add_typer(commands)
app.add_typer(db.app, name="db")
app.add_typer(load.app, name="load")
app.add_typer(inbox.app, name="inbox")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(reports.app, name="reports")
app.add_typer(crew.app, name="crew")
app.add_typer(apikey.app, name="apikey")
app.add_typer(photos.app, name="photos")
app.add_typer(shelter.app, name="shelter")


def main() -> None:
    """Entry point of the `civic` command."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()
