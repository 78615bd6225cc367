"""The Open311 routes under /open311/v2 (the package docstring says what they serve)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, Request, Response
from starlette.exceptions import HTTPException

from service import apikeys
from service.body_limit import BodyTooLarge
from service.deps import AppSettings, Engine
from service.localtime import JST
from service.open311.filing import file_request, notice, parse_filing
from service.open311.filters import RequestFilter, parse_filter, request_ids
from service.open311.formats import (
    FORMATS,
    Fmt,
    Open311Error,
    not_a_service,
    render,
    request_item,
    shown,
    w3c,
)
from service.open311.queries import find_requests, request_for_token
from service.settings import Category, Settings
from service.xmlchars import unsafe_character


def _served_format(request: Request) -> None:
    """Refuse a format suffix other than .json and .xml (before any other check)."""
    asked = request.path_params.get("fmt")
    if asked is not None and asked not in FORMATS:
        raise Open311Error(404, [f"format {shown(asked)} is not served: use .json or .xml"])


# Errors come in the spec's format: service/errors.py answers every Open311Error.
router = APIRouter(prefix="/open311/v2", dependencies=[Depends(_served_format)], tags=["open311"])
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"


def _check_jurisdiction(fields: Mapping[str, str], settings: Settings) -> None:
    # One jurisdiction is served: jurisdiction_id may be left out, but a wrong one is an error.
    asked = fields.get("jurisdiction_id")
    ours = settings.open311.jurisdiction_id
    if asked and asked != ours:
        raise Open311Error(404, [f"jurisdiction_id {shown(asked)} is not served here; {ours}"])


def _service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.label_ja,
        "description": category.label_en,
        "metadata": False,
        "type": "realtime",
        "keywords": category.label_en,
    }


@router.get("/discovery.{fmt}")
async def discovery(fmt: Fmt, request: Request, settings: AppSettings) -> Response:
    """The service discovery document: this endpoint, its formats, whom to ask for a key."""
    changeset = _changeset(request)
    contact = settings.open311.contact or "Ask the city office that runs this service."
    endpoint = {
        "specification": SPEC_URL,
        "url": str(request.url_for("services", fmt="json")).removesuffix("/services.json"),
        "changeset": changeset,
        "type": "test" if settings.line.sandbox else "production",
        "formats": ["text/xml", "application/json"],
    }
    document = {
        "changeset": changeset,
        "contact": contact,
        "key_service": (
            "Reading needs no key. Filing a request needs an api_key issued by the city "
            f"(`civic apikey add`): {contact}"
        ),
        "endpoints": [endpoint],
    }
    return render(fmt, "discovery", document)


def _changeset(request: Request) -> str:
    # Services change only with the configuration, that is with a restart: the time this
    # app first answered stands for "last changed", and is later after every restart.
    state = request.app.state
    if getattr(state, "open311_changeset", None) is None:
        state.open311_changeset = w3c(datetime.now(JST))
    return cast(str, state.open311_changeset)


@router.get("/services.{fmt}")
async def services(fmt: Fmt, request: Request, settings: AppSettings) -> Response:
    """The service list: one service per report category."""
    _check_jurisdiction(request.query_params, settings)
    return render(fmt, "services", [_service(c) for c in settings.reports.categories])


@router.get("/services/{code}.{fmt}")
async def service_definition(
    code: str, fmt: Fmt, request: Request, settings: AppSettings
) -> Response:
    """A service's definition. No service asks for extra attributes (metadata is false)."""
    _check_jurisdiction(request.query_params, settings)
    if settings.reports.category(code) is None:
        raise Open311Error(404, [not_a_service(code, settings)])
    return render(fmt, "service_definition", {"service_code": code, "attributes": []})


@router.get("/requests.{fmt}")
async def list_requests(
    fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """Service requests: by service_request_id, or by service_code, status and dates
    (the last 90 days by default), newest first, at most 1000."""
    params = request.query_params
    _check_jurisdiction(params, settings)
    where = parse_filter(params, settings, datetime.now(JST))
    async with engine.connect() as conn:
        rows = await find_requests(conn, where)
    return render(fmt, "service_requests", [request_item(row, settings) for row in rows])


@router.get("/requests/{request_id}.{fmt}")
async def get_request(
    request_id: str, fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """One service request (a list of one, as the spec has it)."""
    _check_jurisdiction(request.query_params, settings)
    errors: list[str] = []
    ids = request_ids([request_id], errors)
    rows = []
    if ids:
        async with engine.connect() as conn:
            rows = await find_requests(conn, RequestFilter(ids, None, None, None, None, limit=1))
    if not rows:
        raise Open311Error(404, [f"no service request {shown(request_id)}"])
    return render(fmt, "service_requests", [request_item(rows[0], settings)])


@router.get("/tokens/{token}.{fmt}")
async def get_token(
    token: str, fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """The service_request_id of the request filed with this token."""
    _check_jurisdiction(request.query_params, settings)
    if (character := unsafe_character(token)) is not None:
        raise Open311Error(400, [f"token {shown(token)} holds {character}: it is no token"])
    async with engine.connect() as conn:
        report_id = await request_for_token(conn, token)
    if report_id is None:
        raise Open311Error(404, [f"no service request was filed with token {shown(token)}"])
    item = {"service_request_id": str(report_id), "token": token}
    return render(fmt, "service_requests", [item])


async def _fields(request: Request) -> dict[str, str]:
    # Query parameters too: some clients send api_key and jurisdiction_id in the URL.
    fields = dict(request.query_params)
    try:
        async with request.form() as form:
            fields.update({k: v for k, v in form.items() if isinstance(v, str)})
    except BodyTooLarge:
        raise
    except HTTPException as exc:
        raise Open311Error(400, [f"the body is not a readable form: {exc.detail}"]) from exc
    return fields


@router.post("/requests.{fmt}")
async def create_request(
    fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """File a service request (form-encoded, with an api_key). Answers its
    service_request_id, a notice, and a token for tokens/{token}."""
    fields = await _fields(request)
    key = fields.get("api_key", "")
    if not key:
        raise Open311Error(403, ["api_key is required to file a request; ask the city for one"])
    async with engine.begin() as conn:
        key_id = await apikeys.verify_key(conn, key)
    if key_id is None:
        raise Open311Error(403, ["api_key is not valid, or has been revoked"])
    _check_jurisdiction(fields, settings)
    filing = parse_filing(fields, settings)
    async with engine.begin() as conn:
        submitted, token = await file_request(conn, filing, key_id, settings)
    item = {
        "service_request_id": str(submitted.report_id),
        "service_notice": notice(submitted),
        "token": token,
    }
    return render(fmt, "service_requests", [item])


@router.api_route("/{resource:path}", methods=["GET", "POST"], include_in_schema=False)
async def unknown(resource: str) -> Response:
    """Anything else under /open311/v2: a 404 in the spec's format."""
    raise Open311Error(
        404,
        [
            f"no resource {shown(resource)}; see discovery.json: services, requests, "
            "tokens, each with a .json or .xml suffix"
        ],
    )
