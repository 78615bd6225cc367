"""A report cluster's page: photos, status history, how many reported it, the status form.

A status change goes through the report workflow, so the residents who reported it are
notified (the outbox is woken at once). Reporters' LINE user IDs are never shown.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gis.clusters import STATUSES
from service import reports
from service.crew import queries
from service.crew.auth import Account, Session
from service.crew.deps import AdminUser, CrewRoute, CrewUser, CsrfChecked, LoggedIn
from service.crew.routes import invalid_form
from service.deps import AppSettings, Engine, Photos
from service.errors import show_errors_on
from service.localtime import when
from service.photos import PhotoStore
from service.settings import Settings
from service.templating import path_for, render
from service.vocabulary.pages import Both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])


@router.get("/clusters/{cluster_id}", response_class=HTMLResponse)
async def cluster_page(
    request: Request,
    cluster_id: int,
    account: CrewUser,
    session: LoggedIn,
    engine: Engine,
    settings: AppSettings,
) -> HTMLResponse:
    """Everything a crew needs to work one problem."""
    page = await _page(request, cluster_id, account, session, engine, settings)
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
    error: Both | None = None,
) -> HTMLResponse | None:
    """The cluster's page (None when there is no such cluster), showing `error` if given."""
    async with engine.connect() as conn:
        cluster = await queries.cluster(conn, cluster_id)
        if cluster is None:
            return None
        filed = await queries.cluster_reports(conn, cluster_id)
        history = await queries.cluster_history(conn, cluster_id)
    return render(
        request,
        "cluster.html",
        {
            "account": account,
            "csrf_token": session.csrf_token,
            "error": error,
            "cluster": cluster,
            "category": settings.reports.category(cluster.category),
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
) -> None:
    """A WorkflowError is shown on the cluster's page (when it exists)."""

    async def page(exc: Exception) -> Response | None:
        if cluster_id is None:
            return None
        error = invalid_form(exc)
        return await _page(request, cluster_id, account, session, engine, settings, error=error)

    show_errors_on(request, page)


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
) -> Response:
    """Change the status; every resident who reported the problem is told."""
    _show_errors(request, cluster_id, account, session, engine, settings)
    async with engine.begin() as conn:
        await reports.change_status(
            conn,
            cluster_id,
            status,
            actor=f"crew:{account.name}",
            note=note.strip(),
        )
    request.app.state.outbox.wake()
    return RedirectResponse(path_for(request, "cluster_page", cluster_id=cluster_id), 303)


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
