"""Shelters in a disaster: every site with its status and the recent hazard declarations;
admins mark sites open, full or closed, or clear them (chosen one by one, or every site
designated for a hazard or in a town), declare the disaster's hazard, and end the disaster
(every status cleared, the hazard ended). Crew members may look; only admins change anything.

On a phone the board is a list of cards with a town index (`?town=王子`) and an open-only
view (`?open=1`), links that need no script; a change returns to the view it was made from.
The end of the disaster sits at the bottom of the page, folded, behind its confirmation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from gis import shelter_status
from gis.hazards import ShelterHazard
from service.crew.auth import Account
from service.crew.deps import AdminUser, CrewRoute, CrewUser, CsrfChecked, LoggedIn
from service.crew.routes import invalid_form
from service.deps import Engine
from service.errors import show_errors_on
from service.localtime import when
from service.shelter_index import index_sites
from service.templating import path_for, query, render
from service.vocabulary import join_list, label
from service.vocabulary.pages import FIRST, Both, both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])

NO_HAZARD = "none"
# Hazard declarations shown on the page: a disaster's day, not the archive (`civic shelter
# history` has more).
DECLARATIONS_SHOWN = 10


def _hazards(hazards: frozenset[ShelterHazard]) -> str:
    return join_list((label(h, FIRST) for h in ShelterHazard if h in hazards), FIRST)


def _actor(account: Account) -> str:
    """Who made a change, as the logs keep it."""
    return f"crew:{account.name}"


@dataclass(frozen=True)
class BoardView:
    """What the board lists: one town's sites or all, all sites or the open ones only."""

    town: str = ""
    open_only: bool = False

    @classmethod
    async def sent_with(cls, request: Request) -> BoardView:
        """The view a form was sent from (its hidden `view_town` and `view_open`)."""
        form = await request.form()
        town, opened = form.get("view_town"), form.get("view_open")
        return cls(town if isinstance(town, str) else "", opened == "1")

    def params(self) -> dict[str, str]:
        """The view as query parameters (none for the default view)."""
        return {"town": self.town, "open": "1" if self.open_only else ""}


def _back(request: Request, view: BoardView, **counts: int) -> RedirectResponse:
    """Back to the shelters page (see other) in the view the form was sent from, saying how
    many sites changed."""
    shown = query(**view.params(), **{name: str(n) for name, n in counts.items()})
    return RedirectResponse(path_for(request, "crew_shelters") + shown, status_code=303)


def _show_errors(
    request: Request,
    account: Account,
    csrf_token: str,
    engine: Engine,
    view: BoardView,
    form: dict[str, Any] | None = None,
) -> None:
    """A StatusError is shown on the page, with the form as the admin filled it."""

    async def page(exc: Exception) -> Response:
        return await _page(
            request, account, csrf_token, engine, view, form=form, error=invalid_form(exc)
        )

    show_errors_on(request, page)


async def _ticked(request: Request) -> list[str]:
    """The site IDs ticked in the table."""
    return [i for i in (await request.form()).getlist("ids") if isinstance(i, str)]


async def _chosen(conn: AsyncConnection, ids: list[str], hazard: str, town: str) -> list[str]:
    """The ticked sites plus every site matching the hazard and town (when either is given)."""
    if not (hazard or town.strip()):
        return ids
    return ids + await shelter_status.select_ids(
        conn, hazard=shelter_status.parse_hazard(hazard) if hazard else None, town=town
    )


async def _page(
    request: Request,
    account: Account,
    csrf_token: str,
    engine: Engine,
    view: BoardView,
    *,
    form: dict[str, Any] | None = None,
    error: Both | None = None,
    changed: int | None = None,
    cleared: int | None = None,
) -> HTMLResponse:
    async with engine.connect() as conn:
        declared = await shelter_status.active_hazard(conn)
        sites = await shelter_status.current_statuses(conn)
        declarations = await shelter_status.hazard_history(conn, DECLARATIONS_SHOWN)
    index = index_sites(sites, town=view.town, open_only=view.open_only)
    counts = Counter(site.status for site in sites)
    listed = [
        {
            "common_id": site.common_id,
            "name": site.name,
            "address": site.address,
            "hazards": _hazards(site.hazards),
            "status": site.status,
            "note": site.note,
            "updated": when(site.updated_at),
            "updated_by": site.updated_by or "",
        }
        for site in index.sites
    ]
    return render(
        request,
        "shelters.html",
        {
            "account": account,
            "csrf_token": csrf_token,
            "declared": declared,
            "declared_at": when(declared.declared_at) if declared else "",
            "hazards": list(ShelterHazard),
            "statuses": list(shelter_status.ShelterStatus),
            "sites": listed,
            "index": index,
            "view": view,
            "counts": [(status, counts[status]) for status in shelter_status.ShelterStatus],
            "not_set": counts[None],
            "declarations": [
                {"at": when(d.at), "hazard": d.hazard, "actor": d.actor} for d in declarations
            ],
            "form": form or {"ids": set()},
            "error": error,
            "changed": changed,
            "cleared": cleared,
        },
        status_code=400 if error else 200,
    )


@router.get("/shelters", response_class=HTMLResponse, name="crew_shelters")
async def shelters_page(
    request: Request,
    account: CrewUser,
    session: LoggedIn,
    engine: Engine,
    changed: int | None = None,
    cleared: int | None = None,
    town: str = "",
    open_only: Annotated[str, Query(alias="open")] = "",
) -> HTMLResponse:
    """The sites with their status (one town's, or the open ones only, when asked); admins
    also get the forms."""
    view = BoardView(town.strip(), open_only == "1")
    return await _page(
        request, account, session.csrf_token, engine, view, changed=changed, cleared=cleared
    )


@router.post("/shelters/status")
async def set_shelter_status(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    status: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    hazard: Annotated[str, Form()] = "",
    town: Annotated[str, Form()] = "",
) -> Response:
    """Set the status of the ticked sites and of every site matching the hazard and town;
    nothing changes when any part is wrong."""
    ids = await _ticked(request)
    view = await BoardView.sent_with(request)
    form = {"status": status, "note": note, "hazard": hazard, "town": town, "ids": set(ids)}
    _show_errors(request, account, session.csrf_token, engine, view, form)
    chosen_status = shelter_status.parse_status(status)
    async with engine.begin() as conn:
        chosen = await _chosen(conn, ids, hazard, town)
        done = await shelter_status.set_status(
            conn, chosen, chosen_status, actor=_actor(account), note=note
        )
    return _back(request, view, changed=len(done))


@router.post("/shelters/clear")
async def clear_shelter_status(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    hazard: Annotated[str, Form()] = "",
    town: Annotated[str, Form()] = "",
) -> Response:
    """Clear the ticked sites and every site matching the hazard and town back to no status
    (the status form's other button); nothing changes when any part is wrong."""
    ids = await _ticked(request)
    view = await BoardView.sent_with(request)
    form = {"hazard": hazard, "town": town, "ids": set(ids)}
    _show_errors(request, account, session.csrf_token, engine, view, form)
    async with engine.begin() as conn:
        chosen = await _chosen(conn, ids, hazard, town)
        done = await shelter_status.clear_status(conn, chosen, actor=_actor(account))
    return _back(request, view, cleared=len(done))


@router.post("/shelters/end")
async def end_disaster(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """The end of the disaster: every site back to no status and the declared hazard ended,
    in one transaction; only with the form's confirmation ticked."""
    view = BoardView()
    if confirm != "yes":
        error = both("Tick the confirmation to end the disaster.")
        return await _page(request, account, session.csrf_token, engine, view, error=error)
    async with engine.begin() as conn:
        ended = await shelter_status.end_disaster(conn, actor=_actor(account))
    return _back(request, view, cleared=len(ended.cleared))


@router.post("/shelters/hazard")
async def set_active_hazard(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    hazard: Annotated[str, Form()],
) -> Response:
    """Declare the disaster's hazard, or end it ("none")."""
    view = await BoardView.sent_with(request)
    _show_errors(request, account, session.csrf_token, engine, view)
    async with engine.begin() as conn:
        if hazard == NO_HAZARD:
            await shelter_status.clear_hazard(conn, actor=_actor(account))
        else:
            chosen = shelter_status.parse_hazard(hazard)
            await shelter_status.declare_hazard(conn, chosen, actor=_actor(account))
    return _back(request, view)
