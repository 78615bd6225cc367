"""The filter of `GET requests`, parsed from its parameters as the spec defines them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from starlette.datastructures import QueryParams

from gis.clusters import CLOSED_STATUSES, OPEN_STATUSES
from service.localtime import JST
from service.open311.formats import Open311Error, not_a_service, shown
from service.settings import Settings

# The largest id PostgreSQL's integer holds: a bigger "id" cannot be a report.
_MAX_ID = 2**31 - 1


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


def request_ids(values: list[str], errors: list[str]) -> list[int]:
    """The values that are request numbers; an error in `errors` for each other one."""
    ids = []
    for value in values:
        if value.isdecimal() and 0 < int(value) <= _MAX_ID:
            ids.append(int(value))
        else:
            errors.append(f"service_request_id {shown(value)} is not a request number")
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
            f"{name} {shown(value)} is not a W3C date-time like 2024-04-01T09:00:00+09:00{hint}"
        )
        return None
    if parsed.tzinfo is None:
        errors.append(f"{name} {shown(value)} has no time zone: add Z or an offset like +09:00")
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
        ids = request_ids(asked_ids, errors)
        if errors:
            raise Open311Error(400, errors)
        return RequestFilter(ids, None, None, None, None, limit)
    codes = _listed(params, "service_code")
    for code in codes or ():
        if settings.reports.category(code) is None:
            errors.append(not_a_service(code, settings))
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
                errors.append(f"status {shown(status)} is neither open nor closed")
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
