"""`POST requests`: a filing checked field by field, then filed through the report workflow
under the API key's hourly allowance."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from gis import nearby
from service import reports
from service.open311 import queries
from service.open311.formats import Open311Error, codes_list, not_a_service, shown
from service.settings import Settings
from service.vocabulary.pages import both
from service.xmlchars import unsafe_character

# The spec caps a description at 4000 characters; an address this long is no address.
_ADDRESS_MAX = 300
_URL_MAX = 2000


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
        errors.append(f"{name} {shown(value)} is not a number")
        return None
    if not (math.isfinite(number) and -limit <= number <= limit):
        errors.append(f"{name} {shown(value)} is out of range (-{limit:g} to {limit:g})")
        return None
    return number


def _media_url(value: str, errors: list[str]) -> str | None:
    # Kept and shown as given, never fetched: only a plain http(s) URL.
    if not value:
        return None
    parts = urlsplit(value)
    plain = value.isprintable() and " " not in value
    if len(value) > _URL_MAX or not plain or parts.scheme not in ("http", "https"):
        errors.append(f"media_url {shown(value)} is not an http(s) URL")
        return None
    if not parts.hostname:
        errors.append(f"media_url {shown(value)} names no host")
        return None
    return value


def parse_filing(fields: Mapping[str, str], settings: Settings) -> Filing:
    """The report a POST asks for. Raises Open311Error naming every bad field: lat/long are
    required (addresses are not geocoded here), service_code must be a service, and no field
    may hold a character a report cannot (NUL, other control characters, U+FFFE)."""
    errors: list[str] = []
    for name, value in fields.items():
        if (character := unsafe_character(value)) is not None:
            errors.append(f"{shown(name)} holds {character}, a character a request cannot hold")
    code = fields.get("service_code", "").strip()
    if not code:
        errors.append(
            f"service_code is required; services: {codes_list(settings.reports.categories)}"
        )
    elif settings.reports.category(code) is None:
        errors.append(not_a_service(code, settings))
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


async def file_request(
    conn: AsyncConnection, filing: Filing, key_id: int, settings: Settings
) -> tuple[reports.Submitted, str]:
    """File `filing` as a report through the report workflow (joining a cluster of the same
    problem nearby), remembering the key, media_url and a new token. Returns the
    submission and the token. Raises Open311Error for a point outside the service area, or
    429 when the key has filed OPEN311_REQUESTS_PER_HOUR in the last hour."""
    filed = await queries.filed_last_hour(conn, key_id)
    if filed >= settings.open311.per_key_hour:
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
        source=queries.SOURCE,
    )
    submitted = await reports.submit_report(conn, new, settings.reports.duplicate_metres)
    token = str(uuid.uuid4())
    await queries.mark_filed(
        conn, submitted.report_id, key_id=key_id, media_url=filing.media_url, token=token
    )
    return submitted, token


def notice(submitted: reports.Submitted) -> str:
    """The notice a filing gets: its number, and whether it joined an earlier report."""
    number = submitted.report_id
    if submitted.joined_existing:
        joined = both(
            "Received as No.{id}. This problem was already reported here ({count} reports so far).",
            id=number,
            count=submitted.report_count,
        )
        return joined.plain(" / ")
    return both("Received as No.{id}.", id=number).plain(" / ")
