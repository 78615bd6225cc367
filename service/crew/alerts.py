"""Admins send area alerts from the crew pages: pick a topic, write the text, choose the area
(drawn on the map, a circle around a point clicked on the map, hazard layers picked by their
names, or an uploaded GeoJSON file), preview it, then send. The preview shows the area on the
map, how many residents it reaches in how many batches, and the LINE message in each language
those residents get, worded by the outbox's own rendering (`Notices`) and drawn as the
sandbox chat draws a bubble (`linebubbles.js`). An area that reaches nobody cannot be sent.
Past alerts are listed with their counts; residents are never named or placed on the map.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import shapely
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from shapely.geometry import mapping
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import UploadFile

from service import alerts
from service.crew import queries
from service.crew.auth import Account
from service.crew.basemaps import basemaps, tile_origins
from service.crew.deps import SECURITY_HEADERS, AdminUser, CrewRoute, CsrfChecked, LoggedIn
from service.crew.map import data_credits
from service.crew.map_page import basemap_spec
from service.crew.routes import invalid_form
from service.deps import AppSettings, Engine, Notices, NoticeWording
from service.errors import show_errors_on
from service.localtime import when
from service.notifications import AlertNotice
from service.settings import Settings
from service.templating import path_for, render
from service.vocabulary import DEFAULT, join_list, label, language
from service.vocabulary.pages import FIRST, SECOND, Both, both

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])

AREA_KINDS = ("draw", "circle", "layer", "file")
# The area shown on the preview map: about a metre of detail is plenty to see where it is.
SHOWN_TOLERANCE_DEGREES = 1e-5


@dataclass(frozen=True)
class AlertForm:
    """What the admin entered (as text, to show it again after a preview or an error)."""

    topic: str = ""
    text: str = ""
    area_kind: str = "draw"
    # Polygons drawn on the map, as a GeoJSON FeatureCollection (the page's script keeps it).
    drawn: str = ""
    # The circle's centre is clicked on the map (the script fills these in).
    lat: str = ""
    lon: str = ""
    radius: str = "500"
    layers: tuple[str, ...] = field(default=())
    # An uploaded area, once read: carried from the preview to the send in hidden fields.
    area_name: str = ""
    area_geojson: str = ""

    def hidden(self) -> list[tuple[str, str]]:
        """The form as (name, value) pairs, to carry it in the confirm form."""
        pairs = [(name, value) for name, value in asdict(self).items() if name != "layers"]
        return pairs + [("layers", name) for name in self.layers]


async def _read_form(request: Request) -> tuple[AlertForm, UploadFile | None]:
    form = await request.form()
    values: dict[str, Any] = {
        name: value
        for name in AlertForm.__dataclass_fields__
        if isinstance(value := form.get(name), str)
    }
    values["layers"] = tuple(v for v in form.getlist("layers") if isinstance(v, str) and v)
    upload = form.get("upload")
    chosen = upload if isinstance(upload, UploadFile) and upload.filename else None
    return AlertForm(**values), chosen


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError as exc:
        raise alerts.AlertError(f"circle: {what} must be a number, not {value!r}") from exc


def _layer_label(layer: alerts.HazardLayer, same_kind: int, index: int) -> Both:
    """A layer by its kind's name (洪水浸水想定区域), numbered when several share a kind."""
    name = Both(escape(label(layer.kind, FIRST)), escape(label(layer.kind, SECOND)))
    if same_kind == 1:
        return name
    return both("{layer} ({n})", layer=name, n=index)


def _layer_choices(layers: list[alerts.HazardLayer]) -> list[dict[str, Any]]:
    """The loaded layers as the form offers them: by the names people know them by."""
    choices = []
    for layer in layers:
        same = [other for other in layers if other.kind == layer.kind]
        name = _layer_label(layer, len(same), same.index(layer) + 1)
        choices.append({"name": layer.name, "label": name, "zones": layer.zones})
    return choices


async def _area(
    conn: AsyncConnection, form: AlertForm, upload: UploadFile | None
) -> alerts.AlertArea:
    """The area the form describes, named for people (it is kept with the alert)."""
    if form.area_kind == "draw":
        if not form.drawn:
            raise alerts.AlertError("draw the area on the map first")
        area = alerts.area_from_upload(form.drawn.encode(), "map.geojson")
        return replace(area, label=both("Area drawn on the map").plain(" / "))
    if form.area_kind == "circle":
        if not (form.lat and form.lon):
            raise alerts.AlertError("circle: click the map where its centre is")
        lat, lon = _number(form.lat, "latitude"), _number(form.lon, "longitude")
        metres = _number(form.radius, "radius")
        area = await alerts.area_from_circle(conn, lat, lon, metres)
        where = {"m": format(metres, "g"), "lat": format(lat, ".5f"), "lon": format(lon, ".5f")}
        named = both("Circle of {m} m around {lat}, {lon}", **where)
        return replace(area, label=named.plain(" / "))
    if form.area_kind == "layer":
        if not form.layers:
            raise alerts.AlertError("tick at least one hazard layer")
        choices = {c["name"]: c["label"] for c in _layer_choices(await alerts.hazard_layers(conn))}
        picked = [await alerts.area_from_hazard_layer(conn, name) for name in form.layers]
        names = [choices[name] for name in form.layers]
        joined = Both(
            escape(join_list((name.ja for name in names), FIRST)),
            escape(join_list((name.en for name in names), SECOND)),
        )
        return alerts.union(picked, both("Hazard zones: {layers}", layers=joined).plain(" / "))
    if form.area_kind == "file" and upload is not None:
        data = await upload.read(alerts.MAX_UPLOAD_BYTES + 1)
        return alerts.area_from_upload(data, upload.filename or "")
    if form.area_kind == "file" and form.area_geojson:
        return alerts.area_from_upload(form.area_geojson.encode(), form.area_name)
    if form.area_kind == "file":
        raise alerts.AlertError("choose a GeoJSON file of the area")
    raise alerts.AlertError(f"choose an area: one of {', '.join(AREA_KINDS)}")


def _drawing_words() -> dict[str, dict[str, str]]:
    """The drawing tools' words (Leaflet-Geoman's translation keys), for the tools the page
    offers: from the vocabulary, Japanese with English."""

    return {
        "tooltips": {
            "firstVertex": both("Click to place the first corner").plain(),
            "continueLine": both("Click to place the next corner").plain(),
            "finishPoly": both("Click the first corner to finish").plain(),
            "finishRect": both("Click to finish the rectangle").plain(),
        },
        "actions": {
            "finish": both("Finish").plain(),
            "cancel": both("Cancel").plain(),
            "removeLastVertex": both("Remove the last corner").plain(),
        },
        "buttonTitles": {
            "drawPolyButton": both("Draw a polygon").plain(),
            "drawRectButton": both("Draw a rectangle").plain(),
            "editButton": both("Move the corners").plain(),
            "dragButton": both("Move a shape").plain(),
            "deleteButton": both("Remove a shape").plain(),
        },
    }


def _credits(form: AlertForm, preview: Preview | None) -> list[str]:
    """Whose data the map shows: the boundary's, and the zones' when they are the area."""
    credits = data_credits()
    zones = preview is not None and form.area_kind == "layer"
    return [credits["boundary"], *([credits["hazards"]] if zones else [])]


def _csp(tile_hosts: list[str]) -> str:
    """The crew pages' CSP, with images from the base maps' tile hosts and data: images (the
    drawing tools' icons)."""
    images = " ".join(["'self'", "data:", *tile_hosts])
    return f"{SECURITY_HEADERS['Content-Security-Policy']}; img-src {images}"


def _shown(area: alerts.AlertArea) -> dict[str, Any]:
    """The area as GeoJSON for the preview map, simplified to what a screen shows."""
    outline = shapely.simplify(area.geometry, SHOWN_TOLERANCE_DEGREES, preserve_topology=True)
    return dict(mapping(shapely.set_precision(outline, 1e-6)))


def _drawn(form: AlertForm) -> Any:
    """The drawn polygons, for the map to show them again (editable); None if unreadable:
    the error about them is shown on the page."""
    try:
        return json.loads(form.drawn) if form.drawn else None
    except ValueError:
        return None


def _circle(form: AlertForm) -> dict[str, float] | None:
    try:
        return {"lat": float(form.lat), "lon": float(form.lon), "radius": float(form.radius)}
    except ValueError:
        return None


@dataclass(frozen=True)
class Preview:
    """What the admin sees before sending: the area, the reach and the messages."""

    area: alerts.AlertArea
    reach: alerts.Reach
    # Per language the recipients have: its name, how many get it, the LINE messages.
    messages: list[dict[str, Any]]


def _messages(
    notices: NoticeWording, reach: alerts.Reach, topic: str, text: str
) -> list[dict[str, Any]]:
    """The alert in each language of its recipients, as the outbox will word it (in the
    default language when it reaches nobody, to show the text all the same)."""
    notice = AlertNotice(topic, alerts.check_text(text))
    languages = reach.languages or ((DEFAULT.code, 0),)
    return [
        {"lang": lang, "name": language(lang).name, "residents": n,
         "messages": notices.render(notice, lang)}
        for lang, n in languages
    ]  # fmt: skip


async def _page(
    request: Request,
    account: Account,
    csrf_token: str,
    engine: Engine,
    settings: Settings,
    *,
    form: AlertForm | None = None,
    preview: Preview | None = None,
    error: Both | None = None,
    sent_id: int | None = None,
) -> HTMLResponse:
    async with engine.connect() as conn:
        layers = _layer_choices(await alerts.hazard_layers(conn))
        past = await alerts.recent_alerts(conn)
        boundary = await queries.service_area_geojson(conn)
    form = form or AlertForm(topic=next((t.code for t in settings.alerts.topics), ""))
    labels = {topic.code: topic for topic in settings.alerts.topics}
    listed = [
        {**asdict(alert), "when": when(alert.created_at), "topic_label": labels.get(alert.topic)}
        for alert in past
    ]
    maps = basemaps(settings.maps)
    map_data = {
        "basemaps": [basemap_spec(basemap) for basemap in maps],
        "credits": _credits(form, preview),
        "tools": _drawing_words(),
        "boundary": boundary,
        "drawn": _drawn(form),
        "circle": _circle(form),
        "area": _shown(preview.area) if preview else None,
    }
    return render(
        request,
        "alerts.html",
        {
            "account": account,
            "csrf_token": csrf_token,
            "topics": settings.alerts.topics,
            "layers": layers,
            "form": form,
            "preview": preview,
            "map_data": map_data,
            "alerts": listed,
            "sent": next((a for a in listed if a["id"] == sent_id), None),
            "error": error,
        },
        status_code=400 if error else 200,
        headers={"Content-Security-Policy": _csp(tile_origins(maps))},
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
    """Admins: the alert form with its map, and the past alerts."""
    return await _page(request, account, session.csrf_token, engine, settings, sent_id=sent)


@router.post("/alerts/preview", response_class=HTMLResponse)
async def preview_alert(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
    notices: Notices,
) -> HTMLResponse:
    """The area on the map, how many residents the alert would reach now and the message
    they would get; the page then offers to send it, unless it reaches nobody."""
    form, upload = await _read_form(request)
    _show_errors(request, account, session.csrf_token, engine, settings, form)
    alerts.check_text(form.text)
    async with engine.connect() as conn:
        area = await _area(conn, form, upload)
        reach = await alerts.preview(conn, settings.alerts, area, form.topic)
    if form.area_kind == "file":
        form = replace(form, area_name=area.label, area_geojson=area.geojson())
    messages = _messages(notices, reach, form.topic, form.text)
    return await _page(
        request,
        account,
        session.csrf_token,
        engine,
        settings,
        form=form,
        preview=Preview(area, reach, messages),
    )


@router.post("/alerts/send")
async def send_alert(
    request: Request,
    account: AdminUser,
    session: CsrfChecked,
    engine: Engine,
    settings: AppSettings,
) -> Response:
    """Queue the alert to every resident inside the area who chose the topic; refused, with
    nothing sent, when that is nobody."""
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
