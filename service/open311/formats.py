"""How Open311 answers: JSON or XML by the path's suffix, errors in the spec's format, and
the wording of values in answers and errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi import Request, Response

from gis.clusters import CLOSED_STATUSES
from service.localtime import JST
from service.settings import Category, Settings
from service.xmlchars import xml_safe

Fmt = Literal["json", "xml"]
FORMATS: tuple[Fmt, ...] = ("json", "xml")
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


def _cleaned(value: Any) -> Any:
    """`value` with every text stripped of the characters XML cannot hold: they may have come
    in by any way (a LINE location's address, a crew note), and one would make the whole
    feed unreadable to XML parsers. JSON answers are cleaned alike, so both formats agree."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, Mapping):
        return {xml_safe(str(key)): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    return value


def render(fmt: Fmt, root: str, payload: Payload, status: int = 200) -> Response:
    """`payload` as JSON, or as XML under the element `root` (with the declaration the
    spec asks for); text XML cannot hold is left out of both."""
    payload = _cleaned(payload)
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False).encode()
    else:
        body = ET.tostring(_element(root, payload), encoding="UTF-8", xml_declaration=True)
    return Response(body, status_code=status, media_type=_MEDIA_TYPES[fmt])


def error_response(fmt: Fmt, error: Open311Error) -> Response:
    """`error` in the spec's format: one entry per description."""
    items = [{"code": error.status, "description": text} for text in error.descriptions]
    return render(fmt, "errors", items, error.status)


def format_of(request: Request) -> Fmt:
    """The format asked for by the path's suffix; XML (the spec's required one) otherwise."""
    return "json" if request.url.path.endswith(".json") else "xml"


def shown(value: str) -> str:
    """A client's value quoted in an error, cut short."""
    return repr(value if len(value) <= _SHOWN_MAX else value[:_SHOWN_MAX] + "…")


def w3c(at: datetime) -> str:
    """A time as the spec writes it (ISO 8601 with its offset), in Japan time."""
    return at.astimezone(JST).isoformat(timespec="seconds")


def codes_list(categories: Sequence[Category]) -> str:
    """The service codes, for an error that lists them."""
    return ", ".join(c.code for c in categories)


def not_a_service(code: str, settings: Settings) -> str:
    """The error of a service_code that is none of the services."""
    return (
        f"service_code {shown(code)} is not a service here; "
        f"services: {codes_list(settings.reports.categories)}"
    )


def request_item(row: Any, settings: Settings) -> dict[str, Any]:
    """A row of `queries.find_requests` as the spec's service request."""
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
