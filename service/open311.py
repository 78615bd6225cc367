"""Open311 GeoReport v2 under /open311/v2 (https://wiki.open311.org/GeoReport_v2).

Every resource answers in JSON or XML, chosen by its suffix (`services.json`,
`requests/12.xml`); errors come in the spec's format (`[{"code": 400, "description": …}]`,
`<errors><error>…`), one entry per problem found.

- services are the report categories (service_name in Japanese, description in English);
- a service request is a REPORT (service_request_id = report number); its status is its
  cluster's: open while crews have it open, closed once resolved, rejected or merged, with
  the latest note of the cluster's history as status_notes;
- POST files a report through the same workflow as the LINE chat (it joins a cluster of
  the same problem nearby), for a system holding an API key (`civic apikey add`).

Nothing that identifies a reporter ever leaves here: no LINE user ID, and of LINE reports
neither the resident's own words nor their photos (those stay with the crews; residents
were never told they would be published). Description and media_url are shown only for
reports filed through this API. The personal fields of a POST (email, name, phone, device
and account ids) are not even stored.
"""

from __future__ import annotations

import json
import math
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from gis import nearby
from gis.clusters import CLOSED_STATUSES, OPEN_STATUSES
from service import apikeys, reports
from service.deps import AppSettings, Engine
from service.localtime import JST
from service.settings import Category, Settings

Fmt = Literal["json", "xml"]
FORMATS: tuple[Fmt, ...] = ("json", "xml")
SOURCE = "open311"
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
_MEDIA_TYPES: dict[Fmt, str] = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
# In XML a list is an element holding one element per item, named as the spec names them.
_ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}
# The largest id PostgreSQL's integer holds: a bigger "id" cannot be a report.
_MAX_ID = 2**31 - 1
# The spec caps a description at 4000 characters; an address this long is no address.
_ADDRESS_MAX = 300
_URL_MAX = 2000
_SHOWN_MAX = 60

Payload = dict[str, Any] | list[Any]


class Open311Error(Exception):
    """A request refused, answered in the spec's error format: an HTTP status and one
    description per problem."""

    def __init__(self, status: int, descriptions: Sequence[str]) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = list(descriptions)


def _element(tag: str, value: object) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, Mapping):
        for key, child in value.items():
            element.append(_element(str(key), child))
    elif isinstance(value, list):
        for child in value:
            element.append(_element(_ITEM_TAGS[tag], child))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def render(fmt: Fmt, root: str, payload: Payload, status: int = 200) -> Response:
    """`payload` as JSON, or as XML under the element `root` (with the declaration the
    spec asks for)."""
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False).encode()
    else:
        body = ET.tostring(_element(root, payload), encoding="UTF-8", xml_declaration=True)
    return Response(body, status_code=status, media_type=_MEDIA_TYPES[fmt])


def _error_response(fmt: Fmt, error: Open311Error) -> Response:
    items = [{"code": error.status, "description": text} for text in error.descriptions]
    return render(fmt, "errors", items, error.status)


def _format_of(request: Request) -> Fmt:
    """The format asked for by the path's suffix; XML (the spec's required one) otherwise."""
    return "json" if request.url.path.endswith(".json") else "xml"


class Open311Route(APIRoute):
    """An APIRoute that refuses an unknown format suffix and answers an Open311Error in the
    spec's format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, with the format check and the error rendering."""
        handler = super().get_route_handler()

        async def in_spec_format(request: Request) -> Response:
            fmt = _format_of(request)
            asked = request.path_params.get("fmt")
            try:
                if asked is not None and asked not in FORMATS:
                    raise Open311Error(
                        404, [f"format {_shown(asked)} is not served: use .json or .xml"]
                    )
                return await handler(request)
            except Open311Error as error:
                return _error_response(fmt, error)

        return in_spec_format


router = APIRouter(prefix="/open311/v2", route_class=Open311Route, tags=["open311"])


def _shown(value: str) -> str:
    """A client's value quoted in an error, cut short."""
    return repr(value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX] + "…")


def w3c(at: datetime) -> str:
    """A time as the spec writes it (ISO 8601 with its offset), in Japan time."""
    return at.astimezone(JST).isoformat(timespec="seconds")


def _check_jurisdiction(fields: Mapping[str, str], settings: Settings) -> None:
    # One jurisdiction is served: jurisdiction_id may be left out, but a wrong one is an error.
    asked = fields.get("jurisdiction_id")
    ours = settings.open311.jurisdiction_id
    if asked and asked != ours:
        raise Open311Error(404, [f"jurisdiction_id {_shown(asked)} is not served here; {ours}"])


def _codes_list(categories: Sequence[Category]) -> str:
    return ", ".join(c.code for c in categories)


def _not_a_service(code: str, settings: Settings) -> str:
    return (
        f"service_code {_shown(code)} is not a service here; "
        f"services: {_codes_list(settings.reports.categories)}"
    )


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
        raise Open311Error(404, [_not_a_service(code, settings)])
    return render(fmt, "service_definition", {"service_code": code, "attributes": []})


@dataclass(frozen=True)
class RequestFilter:
    """Which requests GET /requests returns (None: no condition on that field)."""

    ids: list[int] | None
    codes: list[str] | None
    statuses: list[str] | None
    since: datetime | None
    until: datetime | None
    limit: int


def _listed(params: QueryParams, name: str) -> list[str] | None:
    # The spec lets list parameters be comma separated, or given several times.
    values = [v.strip() for value in params.getlist(name) for v in value.split(",")]
    return [v for v in values if v] or None


def _request_ids(values: list[str], errors: list[str]) -> list[int]:
    ids = []
    for value in values:
        if value.isdecimal() and 0 < int(value) <= _MAX_ID:
            ids.append(int(value))
        else:
            errors.append(f"service_request_id {_shown(value)} is not a request number")
    return ids


def _w3c_time(name: str, value: str, *, end_of_day: bool, errors: list[str]) -> datetime | None:
    """A start_date/end_date: a W3C date-time with its offset, or a date (Japan time; as an
    end, the whole day)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        moment = time.max if end_of_day else time.min
        return datetime.combine(day, moment, JST)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        hint = " (send a + in a URL as %2B)" if " " in value else ""
        errors.append(
            f"{name} {_shown(value)} is not a W3C date-time like 2024-04-01T09:00:00+09:00{hint}"
        )
        return None
    if parsed.tzinfo is None:
        errors.append(f"{name} {_shown(value)} has no time zone: add Z or an offset like +09:00")
        return None
    return parsed


def parse_filter(params: QueryParams, settings: Settings, now: datetime) -> RequestFilter:
    """The filter of GET /requests from its parameters, as the spec defines them: a list of
    service_request_id overrides everything else; otherwise the dates default to the last
    `max_days` days and may not span more. Raises Open311Error naming every bad one."""
    errors: list[str] = []
    limit = settings.open311.max_requests
    max_span = timedelta(days=settings.open311.max_days)
    asked_ids = _listed(params, "service_request_id")
    if asked_ids:
        ids = _request_ids(asked_ids, errors)
        if errors:
            raise Open311Error(400, errors)
        return RequestFilter(ids, None, None, None, None, limit)
    codes = _listed(params, "service_code")
    for code in codes or ():
        if settings.reports.category(code) is None:
            errors.append(_not_a_service(code, settings))
    statuses: list[str] | None = None
    asked_statuses = _listed(params, "status")
    if asked_statuses:
        statuses = []
        for status in asked_statuses:
            if status == "open":
                statuses += OPEN_STATUSES
            elif status == "closed":
                statuses += CLOSED_STATUSES
            else:
                errors.append(f"status {_shown(status)} is neither open nor closed")
    since = until = None
    if raw := params.get("start_date"):
        since = _w3c_time("start_date", raw, end_of_day=False, errors=errors)
    if raw := params.get("end_date"):
        until = _w3c_time("end_date", raw, end_of_day=True, errors=errors)
    if since is not None and until is not None:
        if since > until:
            errors.append("start_date is after end_date")
        elif until - since > max_span:
            errors.append(
                f"start_date to end_date spans {(until - since).days} days; "
                f"at most {settings.open311.max_days} are served at once"
            )
    if errors:
        raise Open311Error(400, errors)
    if since is None:
        since = (until or now) - max_span
    elif until is None:
        until = since + max_span
    return RequestFilter(None, codes, statuses, since, until, limit)


# Columns chosen one by one: reports.line_user_id is never selected. The resident's own
# words and any media are shown only for requests filed through this API.
_REQUESTS = text("""
    SELECT r.id, r.category, r.address, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           r.created_at, c.status,
           CASE WHEN r.source = :source THEN r.description ELSE '' END AS description,
           CASE WHEN r.source = :source THEN r.media_url END AS media_url,
           coalesce(e.note, '') AS status_notes,
           greatest(r.created_at, e.at) AS updated_at
    FROM reports r
    JOIN report_clusters c ON c.id = r.cluster_id
    LEFT JOIN LATERAL (
        SELECT at, note FROM cluster_events
        WHERE cluster_id = c.id ORDER BY at DESC, id DESC LIMIT 1
    ) e ON true
    WHERE (CAST(:ids AS integer[]) IS NULL OR r.id = ANY(CAST(:ids AS integer[])))
      AND (CAST(:codes AS text[]) IS NULL OR r.category = ANY(CAST(:codes AS text[])))
      AND (CAST(:statuses AS text[]) IS NULL OR c.status = ANY(CAST(:statuses AS text[])))
      AND (CAST(:since AS timestamptz) IS NULL OR r.created_at >= CAST(:since AS timestamptz))
      AND (CAST(:until AS timestamptz) IS NULL OR r.created_at <= CAST(:until AS timestamptz))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT :limit
""")


async def find_requests(conn: AsyncConnection, where: RequestFilter) -> list[Any]:
    """The reports `where` selects, newest first, with their cluster's status and latest
    note; only columns that identify nobody."""
    params = {
        "source": SOURCE,
        "ids": where.ids,
        "codes": where.codes,
        "statuses": where.statuses,
        "since": where.since,
        "until": where.until,
        "limit": where.limit,
    }
    return list((await conn.execute(_REQUESTS, params)).all())


def _request_item(row: Any, settings: Settings) -> dict[str, Any]:
    category = settings.reports.category(row.category)
    item = {
        "service_request_id": str(row.id),
        "status": "closed" if row.status in CLOSED_STATUSES else "open",
        "status_notes": row.status_notes,
        "service_name": category.label_ja if category else row.category,
        "service_code": row.category,
        "description": row.description,
        "requested_datetime": w3c(row.created_at),
        "updated_datetime": w3c(row.updated_at),
        "address": row.address,
        "lat": row.lat,
        "long": row.lon,
    }
    if row.media_url:
        item["media_url"] = row.media_url
    return item


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
    return render(fmt, "service_requests", [_request_item(row, settings) for row in rows])


@router.get("/requests/{request_id}.{fmt}")
async def get_request(
    request_id: str, fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """One service request (a list of one, as the spec has it)."""
    _check_jurisdiction(request.query_params, settings)
    errors: list[str] = []
    ids = _request_ids([request_id], errors)
    rows = []
    if ids:
        async with engine.connect() as conn:
            rows = await find_requests(conn, RequestFilter(ids, None, None, None, None, limit=1))
    if not rows:
        raise Open311Error(404, [f"no service request {_shown(request_id)}"])
    return render(fmt, "service_requests", [_request_item(rows[0], settings)])


_BY_TOKEN = text("SELECT id FROM reports WHERE token = :token")


async def request_for_token(conn: AsyncConnection, token: str) -> int | None:
    """The report filed with this token, if any."""
    found = (await conn.execute(_BY_TOKEN, {"token": token})).scalar_one_or_none()
    return None if found is None else int(found)


@router.get("/tokens/{token}.{fmt}")
async def get_token(
    token: str, fmt: Fmt, request: Request, settings: AppSettings, engine: Engine
) -> Response:
    """The service_request_id of the request filed with this token."""
    _check_jurisdiction(request.query_params, settings)
    async with engine.connect() as conn:
        report_id = await request_for_token(conn, token)
    if report_id is None:
        raise Open311Error(404, [f"no service request was filed with token {_shown(token)}"])
    item = {"service_request_id": str(report_id), "token": token}
    return render(fmt, "service_requests", [item])


@dataclass(frozen=True)
class Filing:
    """A valid POST /requests: what becomes a report."""

    category: str
    lon: float
    lat: float
    address: str
    description: str
    media_url: str | None


def _coordinate(name: str, value: str, limit: float, errors: list[str]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        errors.append(f"{name} {_shown(value)} is not a number")
        return None
    if not (math.isfinite(number) and -limit <= number <= limit):
        errors.append(f"{name} {_shown(value)} is out of range (-{limit:g} to {limit:g})")
        return None
    return number


def _media_url(value: str, errors: list[str]) -> str | None:
    # Kept and shown as given, never fetched: only a plain http(s) URL.
    if not value:
        return None
    parts = urlsplit(value)
    plain = value.isprintable() and " " not in value
    if len(value) > _URL_MAX or not plain or parts.scheme not in ("http", "https"):
        errors.append(f"media_url {_shown(value)} is not an http(s) URL")
        return None
    if not parts.hostname:
        errors.append(f"media_url {_shown(value)} names no host")
        return None
    return value


def parse_filing(fields: Mapping[str, str], settings: Settings) -> Filing:
    """The report a POST asks for. Raises Open311Error naming every bad field: lat/long are
    required (addresses are not geocoded here), service_code must be a service."""
    errors: list[str] = []
    code = fields.get("service_code", "").strip()
    if not code:
        errors.append(
            f"service_code is required; services: {_codes_list(settings.reports.categories)}"
        )
    elif settings.reports.category(code) is None:
        errors.append(_not_a_service(code, settings))
    raw_lat, raw_lon = fields.get("lat", "").strip(), fields.get("long", "").strip()
    lat = lon = None
    if not raw_lat and not raw_lon:
        # Addresses are not geocoded here: a point is what the report workflow files.
        addressed = fields.get("address_string") or fields.get("address_id")
        why = ": an address_string or address_id alone cannot be located" if addressed else ""
        errors.append(f"lat and long are required{why}")
    elif not (raw_lat and raw_lon):
        errors.append("lat and long must be given together")
    else:
        lat = _coordinate("lat", raw_lat, 90, errors)
        lon = _coordinate("long", raw_lon, 180, errors)
    description = fields.get("description", "").strip()
    limit = settings.reports.description_max
    if len(description) > limit:
        errors.append(f"description has {len(description)} characters; at most {limit} are taken")
    address = fields.get("address_string", "").strip()
    if len(address) > _ADDRESS_MAX:
        errors.append(f"address_string has {len(address)} characters; at most {_ADDRESS_MAX}")
    media_url = _media_url(fields.get("media_url", "").strip(), errors)
    if errors or lat is None or lon is None:
        raise Open311Error(400, errors)
    return Filing(code, lon, lat, address, description, media_url)


_FILED_LAST_HOUR = text("""
    SELECT count(*) FROM reports
    WHERE api_key_id = :key_id AND created_at > now() - interval '1 hour'
""")

_MARK_FILED = text("""
    UPDATE reports SET api_key_id = :key_id, media_url = :media_url, token = :token
    WHERE id = :id
""")


async def file_request(
    conn: AsyncConnection, filing: Filing, key_id: int, settings: Settings
) -> tuple[reports.Submitted, str]:
    """File `filing` as a report through the report workflow (joining a cluster of the same
    problem nearby), remembering the key, media_url and a new token. Returns the
    submission and the token. Raises Open311Error for a point outside the service area, or
    429 when the key has filed OPEN311_REQUESTS_PER_HOUR in the last hour."""
    filed = await conn.scalar(_FILED_LAST_HOUR, {"key_id": key_id})
    if (filed or 0) >= settings.open311.per_key_hour:
        raise Open311Error(
            429,
            [
                f"this api_key filed {filed} requests in the last hour, the most allowed "
                f"(OPEN311_REQUESTS_PER_HOUR = {settings.open311.per_key_hour}); try again later"
            ],
        )
    area = await nearby.service_area_check(conn, filing.lon, filing.lat)
    if not area.inside:
        distance = f" ({area.distance_m / 1000:.1f} km from it)" if area.distance_m else ""
        raise Open311Error(
            400,
            [
                f"lat/long {filing.lat},{filing.lon} is outside "
                f"{area.area_name or 'the service area'}{distance}: this city cannot take it"
            ],
        )
    new = reports.NewReport(
        category=filing.category,
        lon=filing.lon,
        lat=filing.lat,
        address=filing.address,
        description=filing.description,
        source=SOURCE,
    )
    submitted = await reports.submit_report(conn, new, settings.reports.duplicate_metres)
    token = str(uuid.uuid4())
    params = {
        "key_id": key_id,
        "media_url": filing.media_url,
        "token": token,
        "id": submitted.report_id,
    }
    await conn.execute(_MARK_FILED, params)
    return submitted, token


def _notice(submitted: reports.Submitted) -> str:
    number = submitted.report_id
    if submitted.joined_existing:
        return (
            f"受け付けました（受付番号 No.{number}）。この場所の同じ問題はすでに報告されています"
            f"（これまでに{submitted.report_count}件）。 / Received as No.{number}. This problem "
            f"was already reported here ({submitted.report_count} reports so far)."
        )
    return f"受け付けました（受付番号 No.{number}）。 / Received as No.{number}."


async def _fields(request: Request) -> dict[str, str]:
    # Query parameters too: some clients send api_key and jurisdiction_id in the URL.
    fields = dict(request.query_params)
    try:
        async with request.form() as form:
            fields.update({k: v for k, v in form.items() if isinstance(v, str)})
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
        "service_notice": _notice(submitted),
        "token": token,
    }
    return render(fmt, "service_requests", [item])


@router.api_route("/{resource:path}", methods=["GET", "POST"], include_in_schema=False)
async def unknown(resource: str) -> Response:
    """Anything else under /open311/v2: a 404 in the spec's format."""
    raise Open311Error(
        404,
        [
            f"no resource {_shown(resource)}; see discovery.json: services, requests, "
            "tokens, each with a .json or .xml suffix"
        ],
    )
