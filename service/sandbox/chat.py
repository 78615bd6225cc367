"""Trying the bot without LINE (sandbox mode only): play a resident, see the bot's answer.

`GET /sandbox` is a chat page that looks and behaves like a LINE chat with the bot (its
script is `service/sandbox/static/sandbox.js`). Whatever the resident does there (a text, a
location picked on a map, a photo, a quick reply or a Flex button) goes to `POST /sandbox/say`
or `POST /sandbox/say/image`, which build the event LINE would send, sign it with the sandbox
channel secret and post it to the app's own webhook over HTTP, so the whole real path runs
(signature, inbox, worker, handler, platform client); they then return what the stand-in
delivered to that resident. `GET /sandbox/deliveries` returns what came later (a photo's
answer, a status notice pushed when a crew changes a report).

A resident's deliveries are numbered in order (the stand-in only appends to its record): each
answer says `from`, the number of its first delivery, and a client passes `since`, how many
it has already shown, so nothing is shown twice or lost between the two endpoints.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import httpx
from fastapi import (
    APIRouter,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    UploadFile,
    status,
)
from fastapi.responses import HTMLResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from service.deps import AppSettings, Engine
from service.sandbox import events, queries
from service.sandbox.ids import message_id
from service.sandbox.standin import LinePlatformStandIn, create_standin_app
from service.sandbox.webhooks import sign, webhook_body
from service.settings import SANDBOX_ACCESS_TOKEN, SANDBOX_PATH, Settings
from service.templating import render
from service.vocabulary import LANGUAGES

router = APIRouter(prefix="/sandbox", tags=["sandbox"])

# The chat page's own templates; its script and stylesheet are in this package's `static`
# folder, served under /assets in sandbox mode beside the Leaflet the page uses.
TEMPLATES: Final = Path(__file__).resolve().parent / "templates"
ASSETS: Final = ("service.sandbox", "static")

USER_ID_PATTERN: Final = r"^U[0-9a-f]{32}$"
LANGUAGE_PATTERN: Final = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
DEFAULT_USER: Final = "U" + "0" * 31 + "1"
# A bound on uploads to the sandbox only. It is above the bot's own PHOTO_MAX_BYTES on
# purpose, so that the bot's refusal of a large photo can be tried here too.
MAX_IMAGE_BYTES: Final = 20_000_000
# The body of a photo upload: the image, the resident's fields and the multipart framing.
IMAGE_BODY_MAX_BYTES: Final = MAX_IMAGE_BYTES + 100_000
POSTBACK_DATA_MAX: Final = 300  # LINE's limit on a postback action's data
# What LINE puts in `postback.params`: a datetime picker's choice, a rich menu switch.
POSTBACK_PARAMS: Final = frozenset({"date", "time", "datetime", "newRichMenuAliasId", "status"})
# Where the location picker opens when no service area is loaded: Kita-ku's ward office.
DEFAULT_CENTRE: Final = (35.7528, 139.7336)
PICKER_ZOOM: Final = 13

# The page runs only its own files; Leaflet sets styles through the DOM, which CSP allows.
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class Resident(BaseModel):
    """Who is talking, and how long to wait for the bot."""

    user_id: str = Field(default=DEFAULT_USER, pattern=USER_ID_PATTERN)
    # The LINE language of a new resident (LINE's profile); the bot remembers it per user.
    language: str = Field(default="ja", max_length=35, pattern=LANGUAGE_PATTERN)
    # How many deliveries the client has shown; the answer starts there (default: this turn's).
    since: int | None = Field(default=None, ge=0)
    timeout: float = Field(default=10.0, gt=0, le=30)


class Postback(BaseModel):
    """A tapped postback action, as LINE reports it."""

    data: str = Field(min_length=1, max_length=POSTBACK_DATA_MAX)
    params: dict[str, str] | None = None

    @field_validator("params")
    @classmethod
    def _known_params(cls, params: dict[str, str] | None) -> dict[str, str] | None:
        unknown = sorted(set(params or {}) - POSTBACK_PARAMS)
        if unknown:
            raise ValueError(f"unknown params {unknown}: LINE sends only {sorted(POSTBACK_PARAMS)}")
        return params


class Say(Resident):
    """One thing the pretend resident sends: a text, a location or a postback."""

    text: str | None = Field(default=None, min_length=1, max_length=5000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    postback: Postback | None = None

    @model_validator(mode="after")
    def _one_thing(self) -> Say:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("a location needs both latitude and longitude")
        sent = [self.text is not None, self.latitude is not None, self.postback is not None]
        if sum(sent) != 1:
            raise ValueError("send exactly one of: text, latitude and longitude, or postback")
        return self


def _standin(request: Request) -> LinePlatformStandIn:
    standin: LinePlatformStandIn = request.app.state.standin
    return standin


def _invalid(
    field: str, message: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> NoReturn:
    """Refuse the request, naming the form field, in FastAPI's own error shape."""
    detail = [{"type": "value_error", "loc": ["body", field], "msg": message}]
    raise HTTPException(code, detail)


def _start(since: int | None, shown: int) -> int:
    """Where the answer starts: at `since`, which cannot be past the record's end."""
    if since is None:
        return shown
    if since > shown:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"since={since} is past this resident's {shown} deliveries (the sandbox keeps "
            "its record in memory, so it starts empty when the app restarts): reload the page",
        )
    return since


async def _post_webhook(request: Request, settings: Settings, event: dict[str, Any]) -> None:
    # Straight to this app's server, as LINE would post (not through a proxy's path prefix:
    # the server adds its root_path itself).
    body = webhook_body([event])
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            settings.server.base_url + request.app.url_path_for("line_webhook"),
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Line-Signature": sign(settings.line.secret, body),
            },
        )
    response.raise_for_status()


async def _say(
    request: Request,
    settings: Settings,
    who: Resident,
    make_event: Callable[[LinePlatformStandIn], dict[str, Any]],
) -> dict[str, Any]:
    """Send the event `make_event` builds as `who`, wait for the bot's first answer, and
    return the deliveries from `who.since` on."""
    standin = _standin(request)
    if not standin.known_user(who.user_id):
        standin.add_user(who.user_id, display_name="Sandbox", language=who.language)
    before = len(standin.delivered(who.user_id))
    start = _start(who.since, before)
    event = make_event(standin)
    await _post_webhook(request, settings, event)
    try:
        delivered = await asyncio.to_thread(
            standin.wait_for_deliveries, before + 1, who.user_id, who.timeout
        )
    except TimeoutError as exc:
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"the bot did not answer within {who.timeout:g} s "
            "(a later answer shows in GET /sandbox/deliveries)",
        ) from exc
    return {"event": event, "from": start, "answers": [asdict(d) for d in delivered[start:]]}


@router.post("/say")
async def say(request: Request, said: Say, settings: AppSettings) -> dict[str, Any]:
    """Send a text, a location or a postback as a resident; return the bot's answers."""

    def event(standin: LinePlatformStandIn) -> dict[str, Any]:
        if said.text is not None:
            return events.text_event(standin, said.user_id, said.text)
        if said.postback is not None:
            return events.postback_event(
                standin, said.user_id, said.postback.data, said.postback.params
            )
        assert said.latitude is not None and said.longitude is not None  # noqa: S101
        return events.location_event(standin, said.user_id, said.latitude, said.longitude)

    return await _say(request, settings, said, event)


def _image_type(data: bytes) -> str:
    """The MIME type of an image, identified by its content (Pillow reads the header only)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.get_format_mimetype() or "application/octet-stream"
    except Image.DecompressionBombError:
        _invalid(
            "image", "the image has too many pixels to open", status.HTTP_413_CONTENT_TOO_LARGE
        )
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _invalid("image", "the file is not an image (LINE would send it as a file, not a photo)")


@router.post("/say/image")
async def say_image(
    request: Request,
    settings: AppSettings,
    who: Annotated[Resident, Form()],
    image: Annotated[UploadFile, File(description="The photo the resident sends")],
) -> dict[str, Any]:
    """Send a photo as a resident (a multipart form: `image` and the fields of `Resident`):
    the stand-in keeps the bytes for the bot to download, as LINE does; return the bot's
    answers."""
    data = await image.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        _invalid(
            "image",
            f"the image is larger than the sandbox's {MAX_IMAGE_BYTES} bytes",
            status.HTTP_413_CONTENT_TOO_LARGE,
        )
    if not data:
        _invalid("image", "the file is empty")
    content_type = await asyncio.to_thread(_image_type, data)

    def event(standin: LinePlatformStandIn) -> dict[str, Any]:
        return events.image_event(
            standin,
            who.user_id,
            message_id(),
            content=data,
            content_type=content_type,
        )

    return await _say(request, settings, who, event)


@router.get("/deliveries")
async def deliveries(
    request: Request,
    user_id: Annotated[str, Query(pattern=USER_ID_PATTERN)],
    since: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """What the stand-in delivered to the resident, from delivery number `since` on."""
    delivered = _standin(request).delivered(user_id)
    start = _start(since, len(delivered))
    return {"from": start, "answers": [asdict(d) for d in delivered[start:]]}


async def picker_map(conn: AsyncConnection) -> dict[str, Any]:
    """What the location picker draws: the service area (where it opens) and the shelters,
    so a spot can be found with no base map (a closed network has no tiles)."""
    area = await queries.service_area(conn)
    shelters = await queries.shelter_points(conn)
    lat, lon = (area.lat, area.lon) if area is not None else DEFAULT_CENTRE
    return {
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "zoom": PICKER_ZOOM,
        "area_name": area.name if area is not None else None,
        "area": area.geometry if area is not None else None,
        "shelters": shelters,
    }


@router.get("", response_class=HTMLResponse, name="sandbox_page")
async def page(request: Request, engine: Engine) -> HTMLResponse:
    """The chat page: a LINE-like chat with the bot, in the browser."""
    async with engine.connect() as conn:
        picker = await picker_map(conn)
    return render(
        request,
        "sandbox.html",
        {"picker": picker, "languages": LANGUAGES},
        headers=PAGE_HEADERS,
    )


def mount(app: FastAPI) -> None:
    """Serve the LINE stand-in at SANDBOX_PATH (the app's LINE client talks to it over HTTP)
    and the chat page's routes under /sandbox."""
    standin = LinePlatformStandIn(SANDBOX_ACCESS_TOKEN)
    app.state.standin = standin
    app.mount(SANDBOX_PATH, create_standin_app(standin), name="sandbox_line")
    app.include_router(router)
