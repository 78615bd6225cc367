"""A case's page (a report cluster: 案件, numbered 案件番号) and the search that opens it.

The page has what a crew needs in the field: the address the phone gave, the place on a small
map over the base map and as links to open it in a map app, the reports by the 受付番号 each
resident was told, their photos, the status history, and the status form. A status change
goes through the report workflow, so the residents who reported it are notified (the outbox
is woken at once). Reporters' LINE user IDs are never shown.

The header's search takes either number: a case number opens that case, a report number the
case it belongs to; when one number is both and they differ, the crew picks.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.clusters import STATUSES
from service import reports
from service.crew import queries
from service.crew.auth import Account, Session
from service.crew.deps import AdminUser, CrewRoute, CrewUser, CsrfChecked, LoggedIn
from service.crew.map import MAP_QUERY
from service.crew.routes import invalid_form
from service.deps import AppSettings, Engine, Photos
from service.errors import show_errors_on
from service.localtime import when
from service.photos import PhotoStore
from service.settings import Settings
from service.templating import path_for, render
from service.vocabulary.pages import Both, both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])


def place_links(lat: float, lon: float, name: str) -> dict[str, str]:
    """Where a crew's phone or tablet opens the place: a `geo:` URI (the device's map app)
    and GSI's web map at street level."""
    return {
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
        "gsi": f"https://maps.gsi.go.jp/#18/{lat:.6f}/{lon:.6f}/",
    }


def _back_to_map(request: Request, map_query: str) -> str:
    """The map page with the filter the crew came from."""
    page = path_for(request, "crew_map")
    return f"{page}?{map_query}" if map_query else page


def _with_map(path: str, map_query: str) -> str:
    """`path` carrying the map's filter along (for the way back to the map)."""
    return f"{path}?{urlencode({MAP_QUERY: map_query})}" if map_query else path


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse)
async def cluster_page(
    request: Request,
    cluster_id: int,
    account: CrewUser,
    session: LoggedIn,
    engine: Engine,
    settings: AppSettings,
    map_query: Annotated[str, Query(alias=MAP_QUERY)] = "",
) -> HTMLResponse:
    """Everything a crew needs to work one case."""
    page = await _page(request, cluster_id, account, session, engine, settings, map_query)
    if page is None:
        raise HTTPException(404, "no such report cluster")
    return page


async def _page(
    request: Request,
    cluster_id: int,
    account: Account,
    session: Session,
    engine: Engine,
    settings: Settings,
    map_query: str = "",
    error: Both | None = None,
) -> HTMLResponse | None:
    """The case's page (None when there is no such case), showing `error` if given."""
    async with engine.connect() as conn:
        cluster = await queries.cluster(conn, cluster_id)
        if cluster is None:
            return None
        filed = await queries.cluster_reports(conn, cluster_id)
        history = await queries.cluster_history(conn, cluster_id)
    category = settings.reports.category(cluster.category)
    addresses = [row.address for row in filed if row.address]
    name = both("Case No.{id}", id=cluster.id).ja
    return render(
        request,
        "cluster.html",
        {
            "account": account,
            "csrf_token": session.csrf_token,
            "error": error,
            "cluster": cluster,
            "category": category,
            "address": addresses[0] if addresses else "",
            "place": place_links(cluster.lat, cluster.lon, name),
            "map_query": map_query,
            "back_to_map": _back_to_map(request, map_query),
            "status_action": _with_map(
                path_for(request, "change_status", cluster_id=cluster.id), map_query
            ),
            "statuses": STATUSES,
            "reports": [{**row._asdict(), "when": when(row.created_at)} for row in filed],
            "history": [{**row._asdict(), "when": when(row.at)} for row in history],
        },
    )


def _show_errors(
    request: Request,
    cluster_id: int | None,
    account: Account,
    session: Session,
    engine: Engine,
    settings: Settings,
    map_query: str = "",
) -> None:
    """A WorkflowError is shown on the case's page (when it exists)."""

    async def page(exc: Exception) -> Response | None:
        if cluster_id is None:
            return None
        error = invalid_form(exc)
        return await _page(
            request, cluster_id, account, session, engine, settings, map_query, error=error
        )

    show_errors_on(request, page)


# A number as a crew member types it: "123", "No.123", "#123", "受付123", "案件 No. 123", in
# full-width digits too (NFKC makes them ASCII). A prefix says which kind of number it is.
_NUMBER = re.compile(r"(?P<kind>受付|案件|[RrCc])?\s*(?:番号)?\s*(?:No\.?|#)?\s*(?P<n>\d{1,9})")


@router.get("/find", response_class=HTMLResponse)
async def find_case(
    request: Request,
    account: CrewUser,
    session: LoggedIn,
    engine: Engine,
    q: str = "",
) -> Response:
    """Open the case of a case number or a report number (the 受付番号 a resident was
    told). One case: straight there; a number that names two different cases: a choice;
    none: the search page saying so (a search that finds nothing is still an answer)."""
    typed = unicodedata.normalize("NFKC", q).strip()
    found = _NUMBER.fullmatch(typed)
    context: dict[str, Any] = {
        "account": account,
        "csrf_token": session.csrf_token,
        "search_query": q,
        "choices": [],
    }
    if found is None:
        context["error"] = both("Type a case number or a report number (digits, e.g. 123).")
        return render(request, "find.html", context, status_code=400 if typed else 200)
    number = int(found.group("n"))
    kind = (found.group("kind") or "").upper()
    async with engine.connect() as conn:
        case_id, report_case_id = await queries.find_number(conn, number)
    if kind in ("受付", "R"):
        case_id = None
    elif kind in ("案件", "C"):
        report_case_id = None
    choices = []
    if case_id is not None:
        choices.append({"kind": "case", "number": number, "case_id": case_id})
    if report_case_id is not None and report_case_id != case_id:
        choices.append({"kind": "report", "number": number, "case_id": report_case_id})
    if len(choices) == 1 or (case_id is not None and case_id == report_case_id):
        target = path_for(request, "cluster_page", cluster_id=choices[0]["case_id"])
        if choices[0]["kind"] == "report" or report_case_id == case_id:
            target += f"#report-{number}"
        return RedirectResponse(target, 303)
    context["choices"] = choices
    context["number"] = number
    if not choices:
        context["error"] = both("No case or report has the number {n}.", n=number)
    return render(request, "find.html", context)


@router.post("/clusters/{cluster_id}/status")
async def change_status(
    request: Request,
    cluster_id: int,
    account: CrewUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
    status: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=1000)] = "",
    map_query: Annotated[str, Query(alias=MAP_QUERY)] = "",
) -> Response:
    """Change the status; every resident who reported the problem is told."""
    _show_errors(request, cluster_id, account, session, engine, settings, map_query)
    async with engine.begin() as conn:
        await reports.change_status(
            conn,
            cluster_id,
            status,
            actor=f"crew:{account.name}",
            note=note.strip(),
        )
    request.app.state.outbox.wake()
    page = path_for(request, "cluster_page", cluster_id=cluster_id)
    return RedirectResponse(_with_map(page, map_query), 303)


async def _jpeg(store: PhotoStore, key: str, thumbnail: bool) -> Response:
    try:
        data = await asyncio.to_thread(store.get, key, thumbnail=thumbnail)
    except (KeyError, ValueError) as exc:
        raise HTTPException(404, "no such photo") from exc
    # Photos are personal data: kept by no cache, the browser's included (a shared office
    # computer), like the crew pages.
    headers = {"Cache-Control": "no-store"}
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get("/clusters/{cluster_id}/thumbnail")
async def cluster_thumbnail(
    cluster_id: int, account: CrewUser, engine: Engine, photos: Photos
) -> Response:
    """The first photo of the cluster, small (for the map's popups)."""
    async with engine.connect() as conn:
        key = await queries.first_photo(conn, cluster_id)
    if key is None:
        raise HTTPException(404, "no photo")
    return await _jpeg(photos, key, thumbnail=True)


@router.get("/clusters/{cluster_id}/photos/{key}")
async def cluster_photo(
    cluster_id: int,
    key: str,
    account: CrewUser,
    engine: Engine,
    photos: Photos,
    thumbnail: bool = False,
) -> Response:
    """One photo of the cluster, full size or as a thumbnail."""
    async with engine.connect() as conn:
        found = await queries.is_photo_of_cluster(conn, cluster_id, key)
    if not found:
        raise HTTPException(404, "no such photo")
    return await _jpeg(photos, key, thumbnail)


@router.post("/clusters/{cluster_id}/merge")
async def merge_cluster(
    request: Request,
    cluster_id: int,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
    other: Annotated[int, Form()],
) -> Response:
    """Merge cluster `other` (the same problem filed apart) into this one; admins only."""
    _show_errors(request, cluster_id, account, session, engine, settings)
    async with engine.begin() as conn:
        await reports.merge_clusters(conn, cluster_id, other, actor=f"crew:{account.name}")
    return RedirectResponse(path_for(request, "cluster_page", cluster_id=cluster_id), 303)


@router.post("/reports/{report_id}/split")
async def split_report(
    request: Request,
    report_id: int,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
) -> Response:
    """Move one report out into a cluster of its own (a different problem); admins only."""
    async with engine.connect() as conn:
        cluster_id = await queries.report_cluster(conn, report_id)
    _show_errors(request, cluster_id, account, session, engine, settings)
    async with engine.begin() as conn:
        new_id = await reports.split_report(conn, report_id, actor=f"crew:{account.name}")
    return RedirectResponse(path_for(request, "cluster_page", cluster_id=new_id), 303)
