"""`civic shelter`: shelters in a disaster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.asyncio import AsyncConnection

from gis import shelter_status
from service import alerts
from service.cli.common import (
    CrsOption,
    database_url,
    fail,
    in_transaction,
    load_settings,
)
from service.localtime import when

app = typer.Typer(
    help="Shelters in a disaster: mark sites open, full or closed, or clear them; declare the "
    "hazard; see the history."
)


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
        url = database_url(load_settings())

        async def work(conn: AsyncConnection) -> list[str]:
            chosen = await _chosen_sites(conn, ids, hazard, town, area)
            return await shelter_status.set_status(conn, chosen, status, actor=by, note=note)

        try:
            area = _within(within, crs)
            done = asyncio.run(in_transaction(url, work))
        except (shelter_status.StatusError, alerts.AlertError) as exc:
            raise fail(exc) from exc
        sites = "site is" if len(done) == 1 else "sites are"
        typer.echo(f"{len(done)} {sites} now {status}: {', '.join(done)}")

    command.__doc__ = (
        f"Mark sites {status} (by ID, and/or every site matching --hazard, --town and "
        "--within together); the change is logged and residents see it at once."
    )
    return command


for _name, _status in (("open", "open"), ("full", "full"), ("close", "closed")):
    app.command(_name)(_shelter_status_command(shelter_status.ShelterStatus(_status)))


@app.command("clear")
def shelter_clear(
    ids: ShelterIds = None,
    hazard: HazardOption = None,
    town: TownOption = None,
    within: WithinOption = None,
    crs: CrsOption = None,
    all_sites: Annotated[
        bool,
        typer.Option(
            "--all",
            help="The end of the disaster: every site's status cleared and the declared "
            "hazard ended, as the crew page's end of the disaster does",
        ),
    ] = False,
    by: ByOption = "cli",
) -> None:
    """Clear sites back to no status: by ID and/or selection (as open); or --all, the end of
    the disaster (the declared hazard ends too). Logged."""
    if all_sites and (ids or hazard is not None or town is not None or within is not None):
        raise fail(
            ValueError(
                "--all takes every site: give no site IDs, --hazard, --town or --within with it"
            )
        )
    url = database_url(load_settings())

    async def work(conn: AsyncConnection) -> shelter_status.DisasterEnd:
        if all_sites:
            return await shelter_status.end_disaster(conn, actor=by)
        chosen = await _chosen_sites(conn, ids, hazard, town, area)
        cleared = await shelter_status.clear_status(conn, chosen, actor=by)
        return shelter_status.DisasterEnd(cleared, None)

    try:
        area = _within(within, crs)
        done = asyncio.run(in_transaction(url, work))
    except (shelter_status.StatusError, alerts.AlertError) as exc:
        raise fail(exc) from exc
    if done.cleared:
        sites = "site" if len(done.cleared) == 1 else "sites"
        typer.echo(f"{len(done.cleared)} {sites} cleared (no status): {', '.join(done.cleared)}")
    elif all_sites:
        typer.echo("no site had a status")
    else:
        typer.echo("no chosen site had a status; nothing was changed")
    if done.ended is not None:
        typer.echo(f"the declared hazard ({done.ended}) has ended")
    elif all_sites:
        typer.echo("no hazard was declared")


@app.command("hazard")
def shelter_hazard(
    kind: Annotated[str, typer.Argument(help="flood, landslide, earthquake, … or none")],
    by: ByOption = "cli",
) -> None:
    """Declare the disaster's hazard (its open sites are offered first), or end it: none."""
    url = database_url(load_settings())

    async def work(conn: AsyncConnection) -> str:
        if kind.strip().lower() == "none":
            ended = await shelter_status.clear_hazard(conn, actor=by)
            return f"no active hazard (ended: {ended})" if ended else "no active hazard"
        hazard = shelter_status.parse_hazard(kind)
        await shelter_status.declare_hazard(conn, hazard, actor=by)
        return f"active hazard: {hazard}"

    try:
        typer.echo(asyncio.run(in_transaction(url, work)))
    except shelter_status.StatusError as exc:
        raise fail(exc) from exc


@app.command("list")
def shelter_list() -> None:
    """Every site with its status, last update (Japan time) and note; the declared hazard."""
    url = database_url(load_settings())

    async def work(
        conn: AsyncConnection,
    ) -> tuple[shelter_status.ActiveHazard | None, list[shelter_status.SiteStatus]]:
        return await shelter_status.active_hazard(conn), await shelter_status.current_statuses(conn)

    declared, sites = asyncio.run(in_transaction(url, work))
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


@app.command("history")
def shelter_history(
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest changes")] = 50,
) -> None:
    """The latest status changes and hazard declarations, oldest first, in Japan time."""
    url = database_url(load_settings())

    async def work(
        conn: AsyncConnection,
    ) -> tuple[list[shelter_status.HazardDeclaration], list[shelter_status.StatusChange]]:
        return (
            await shelter_status.hazard_history(conn, limit),
            await shelter_status.status_history(conn, limit),
        )

    declarations, changes = asyncio.run(in_transaction(url, work))
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
