"""Bad input gets a 4xx, never a 500 or unbounded work.

Input that cannot be text (NUL, other control characters, lone surrogates) is refused
with a 4xx by every route, never a 500: each query parameter and each form field of every
route of the served app gets such a value in turn, as a logged-in admin with a valid CSRF
token, the other fields holding ordinary values.

The Open311 answers to such input, and the XML feed's own safety, are in test_open311.py.

Every route's request body has a cap (REQUEST_MAX_BODY_BYTES, or the route's own), answered
413 before the body is read: before a login, an API key or a CSRF token is checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncConnection

from service import apikeys, reports
from service.app import create_app
from service.settings import ServerSettings
from tests.utils.app import RunningApp
from tests.utils.crew import PASSWORD, Browser, logged_in
from tests.utils.database import in_transaction

# What a form or query holds when it is not the one being probed: plausible values, so a
# route reaches the code that uses the probed one.
ORDINARY: dict[str, str] = {
    "name": "sato",
    "password": PASSWORD,
    "current_password": PASSWORD,
    "new_password": PASSWORD + "!",
    "confirm_password": PASSWORD + "!",
    "status": "accepted",
    "note": "確認済み",
    "other": "2",
    "hazard": "flood",
    "town": "王子",
    "confirm": "yes",
    "topic": "disaster",
    "text": "テスト配信",
    "area_kind": "circle",
    "lat": "35.7584",
    "lon": "139.7362",
    "long": "139.7362",
    "radius": "300",
    "service_code": "road",
    "description": "段差があります",
    "address_string": "東京都北区王子1-1",
    "category": "road",
    "next": "/crew/",
    "jurisdiction_id": "city.kita.tokyo.jp",
    "media_url": "https://example.org/step.jpg",
    "service_request_id": "1",
    "start_date": "2026-04-01",
    "end_date": "2026-04-02",
}
# Parameters a route reads from the query or the form itself (no declared parameter says so).
_READ_BY_ROUTE: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/open311/v2/requests.{fmt}"): (
        "service_request_id",
        "service_code",
        "status",
        "start_date",
        "end_date",
        "jurisdiction_id",
    ),
    ("POST", "/open311/v2/requests.{fmt}"): (
        "service_code",
        "lat",
        "long",
        "description",
        "address_string",
        "media_url",
        "jurisdiction_id",
        "email",
        "first_name",
    ),
    ("POST", "/crew/alerts/preview"): ("topic", "text", "area_kind", "lat", "lon", "radius"),
    ("POST", "/crew/alerts/send"): ("topic", "text", "area_kind", "lat", "lon", "radius"),
}
BAD_VALUES = ("a%00b", "%01", "%ED%A0%80", "%FF")
# The logout ends the probe's session; the webhook checks its signature before anything.
_SKIPPED = {"/crew/logout", "/line/webhook"}


def _routes(app: Any) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """(method, path template, query parameter names, form field names) of every route."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.path in _SKIPPED:
            continue
        query = _names(route.dependant, "query_params")
        form = _names(route.dependant, "body_params")
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            read = list(_READ_BY_ROUTE.get((method, route.path), ()))
            if method == "GET":
                yield method, route.path, query + read, []
            else:
                yield method, route.path, query, form + read


def _names(dependant: Dependant, kind: str) -> list[str]:
    """The names of `dependant`'s parameters of `kind`, its dependencies' included."""
    found = [param.alias for param in getattr(dependant, kind)]
    for dependency in dependant.dependencies:
        found += [name for name in _names(dependency, kind) if name not in found]
    return found


def _encoded(names: list[str], probed: str, bad: str, given: dict[str, str] | None = None) -> str:
    """A query string or form body of `names`, `probed` holding the raw `bad` value."""
    values = {**ORDINARY, **(given or {})}
    return "&".join(
        f"{quote(name)}={bad if name == probed else quote(values.get(name, '1'))}" for name in names
    )


def _concrete(path: str, cluster_id: int) -> str:
    """`path` with its parameters filled: an existing cluster and report, the JSON format."""
    path = path.replace("{fmt}", "json").replace("{key}", "0" * 64)
    return re.sub(r"\{[^}]*\}", str(cluster_id), path)


def _file_a_report(running_app: RunningApp) -> int:
    async def work(conn: AsyncConnection) -> int:
        new = reports.NewReport(category="road", lon=139.7362, lat=35.7584)
        first = await reports.submit_report(conn, new, 30)
        # A second report far away, and the first's id: the cluster and report id agree.
        await reports.submit_report(conn, replace(new, lat=35.77), 30)
        return first.cluster_id

    return in_transaction(running_app.database_url, work)


def test_no_route_answers_500_to_text_it_cannot_hold(
    running_app: RunningApp, browser: Browser, browsers: Callable[[], Browser]
) -> None:
    cluster_id = _file_a_report(running_app)
    admin = logged_in(running_app, browser, "sato", role="admin")
    csrf_token = admin.csrf_token("/crew/")
    api_key = in_transaction(running_app.database_url, lambda c: apikeys.create_key(c, "city"))
    failures = []
    for method, template, query, form in _routes(create_app(running_app.settings)):
        path = _concrete(template, cluster_id)
        for field in [*query, *form]:
            for bad in BAD_VALUES:
                params = _encoded(query, field, bad)
                target = f"{path}?{params}" if params else path
                client, content, headers = admin, None, None
                if method == "POST":
                    if path == "/crew/login":
                        # The login form has a CSRF token of its own, in a cookie.
                        client = browsers()
                        token = client.csrf_token(path)
                    else:
                        token = csrf_token
                    fields = [*form, "csrf_token", "api_key"]
                    ordinary = {"csrf_token": token, "api_key": api_key}
                    content = _encoded(fields, field, bad, ordinary)
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                try:
                    response = client.request(method, target, content=content, headers=headers)
                except httpx.TransportError as exc:  # the server dropped the connection
                    failures.append(f"{method} {path} {field}={bad}: {exc!r}")
                    continue
                if response.status_code >= 500:
                    failures.append(f"{method} {path} {field}={bad}: {response.status_code}")
    assert not failures, "\n".join(failures)


LIMIT = 10_000


@pytest.mark.parametrize(
    "app_overrides", [{"server": ServerSettings(REQUEST_MAX_BODY_BYTES=LIMIT)}], indirect=True
)
def test_every_form_endpoint_refuses_a_body_over_the_cap_before_reading_it(
    running_app: RunningApp,
) -> None:
    body = "description=" + "x" * LIMIT
    over = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = []
    app = create_app(running_app.settings)
    posts = [path for method, path, _, _ in _routes(app) if method == "POST"]
    with httpx.Client(base_url=running_app.url, trust_env=False, timeout=10) as client:
        for template in {path for path in posts if path != "/line/webhook"}:
            path = _concrete(template, 1)
            answer = client.post(path, content=body, headers=over)
            if answer.status_code != 413:
                refused.append(f"{path}: {answer.status_code}")

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked, counted as read
            for _ in range(LIMIT // 1000 + 1):
                yield b"x" * 1000

        for path in ("/open311/v2/requests.json", "/crew/login", "/crew/clusters/1/status"):
            answer = client.post(path, content=chunks(), headers=over)
            if answer.status_code != 413:
                refused.append(f"{path} (chunked): {answer.status_code}")
        spec = client.post("/open311/v2/requests.xml", content=body, headers=over)
        assert b"<errors><error><code>413</code>" in spec.content
    assert refused == []
    # Under the cap, the same endpoints answer as ever.
    assert httpx.get(running_app.url + "/crew/login", trust_env=False).status_code == 200
