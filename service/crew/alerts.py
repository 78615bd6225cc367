"""Admins send area alerts from the crew pages: pick a topic, write the text, choose the area
(a hazard layer, a circle, or an uploaded GeoJSON file), preview how many residents it will
reach, then send. Past alerts are listed with their counts; residents are never named.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import UploadFile

from service import alerts
from service.crew.auth import Account
from service.crew.deps import AdminUser, CrewRoute, CsrfChecked, LoggedIn
from service.crew.routes import invalid_form
from service.deps import AppSettings, Engine
from service.errors import show_errors_on
from service.localtime import when
from service.settings import Settings
from service.templating import path_for, render
from service.vocabulary.pages import Both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])

AREA_KINDS = ("layer", "circle", "file")


@dataclass(frozen=True)
class AlertForm:
    """What the admin entered (as text, to show it again after a preview or an error)."""

    topic: str = ""
    text: str = ""
    area_kind: str = "layer"
    layer: str = ""
    lat: str = ""
    lon: str = ""
    radius: str = ""
    # An uploaded area, once read: carried from the preview to the send in hidden fields.
    area_name: str = ""
    area_geojson: str = ""


async def _read_form(request: Request) -> tuple[AlertForm, UploadFile | None]:
    form = await request.form()
    values = {
        name: value
        for name in AlertForm.__dataclass_fields__
        if isinstance(value := form.get(name), str)
    }
    upload = form.get("upload")
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    return AlertForm(**values), chosen


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise alerts.AlertError(f"circle: {what} must be a number, not {value!r}") from exc


async def _area(
    conn: AsyncConnection, form: AlertForm, upload: UploadFile | None
) -> alerts.AlertArea:
    if form.area_kind == "layer":
        return await alerts.area_from_hazard_layer(conn, form.layer)
    if form.area_kind == "circle":
        lat = _number(form.lat, "latitude")
        lon = _number(form.lon, "longitude")
        return await alerts.area_from_circle(conn, lat, lon, _number(form.radius, "radius"))
    if form.area_kind == "file" and upload is not None:
        data = await upload.read(alerts.MAX_UPLOAD_BYTES + 1)
        return alerts.area_from_upload(data, upload.filename or "")
    if form.area_kind == "file" and form.area_geojson:
        return alerts.area_from_upload(form.area_geojson.encode(), form.area_name)
    if form.area_kind == "file":
        raise alerts.AlertError("choose a GeoJSON file of the area")
    raise alerts.AlertError(f"choose an area: one of {', '.join(AREA_KINDS)}")


async def _page(
    request: Request,
    account: Account,
    csrf_token: str,
    engine: Engine,
    settings: Settings,
    *,
    form: AlertForm | None = None,
    reach: alerts.Reach | None = None,
    area_label: str = "",
    error: Both | None = None,
    sent_id: int | None = None,
) -> HTMLResponse:
    async with engine.connect() as conn:
        layers = await alerts.hazard_layer_names(conn)
        past = await alerts.recent_alerts(conn)
    labels = {topic.code: topic for topic in settings.alerts.topics}
    listed = [
        {
            **asdict(alert),
            "when": when(alert.created_at),
            "topic_label": labels.get(alert.topic),
        }
        for alert in past
    ]
    return render(
        request,
        "alerts.html",
        {
            "account": account,
            "csrf_token": csrf_token,
            "topics": settings.alerts.topics,
            "layers": layers,
            "form": form or AlertForm(topic=next((t.code for t in settings.alerts.topics), "")),
            "reach": reach,
            "area_label": area_label,
            "alerts": listed,
            "sent": next((a for a in listed if a["id"] == sent_id), None),
            "error": error,
        },
        status_code=400 if error else 200,
    )


def _show_errors(
    request: Request,
    account: Account,
    csrf_token: str,
    engine: Engine,
    settings: Settings,
    form: AlertForm,
) -> None:
    """An AlertError is shown on the page, with the form as the admin filled it."""

    async def page(exc: Exception) -> Response:
        return await _page(
            request, account, csrf_token, engine, settings, form=form, error=invalid_form(exc)
        )

    show_errors_on(request, page)


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request,
    account: AdminUser,
    session: LoggedIn,
    engine: Engine,
    settings: AppSettings,
    sent: int | None = None,
) -> HTMLResponse:
    """Admins: the alert form and the past alerts."""
    return await _page(request, account, session.csrf_token, engine, settings, sent_id=sent)


@router.post("/alerts/preview", response_class=HTMLResponse)
async def preview_alert(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
) -> HTMLResponse:
    """How many residents the alert would reach now; the page then offers to send it."""
    form, upload = await _read_form(request)
    _show_errors(request, account, session.csrf_token, engine, settings, form)
    alerts.check_text(form.text)
    async with engine.connect() as conn:
        area = await _area(conn, form, upload)
        reach = await alerts.preview(conn, settings.alerts, area, form.topic)
    if form.area_kind == "file":
        form = replace(form, area_name=area.label, area_geojson=area.geojson())
    return await _page(
        request,
        account,
        session.csrf_token,
        engine,
        settings,
        form=form,
        reach=reach,
        area_label=area.label,
    )


@router.post("/alerts/send")
async def send_alert(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
) -> Response:
    """Queue the alert to every resident inside the area who chose the topic."""
    form, upload = await _read_form(request)
    _show_errors(request, account, session.csrf_token, engine, settings, form)
    async with engine.begin() as conn:
        area = await _area(conn, form, upload)
        queued = await alerts.queue_alert(
            conn, settings.alerts, area, form.topic, form.text, created_by=f"crew:{account.name}"
        )
    request.app.state.outbox.wake()
    page = path_for(request, "alerts_page")
    return RedirectResponse(f"{page}?{urlencode({'sent': queued.alert_id})}", status_code=303)
