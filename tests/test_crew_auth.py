"""Crew accounts and login, over real HTTP against the served app: cookies, CSRF, throttling,
roles, the forced password change, `civic crew add`, and a walk over every crew route."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service import reports
from service.app import create_app
from service.crew.auth import (
    Throttled,
    authenticate,
    create_account,
)
from service.settings import CrewSettings, ServerSettings
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.crew import PASSWORD, Browser, add_ready_account
from tests.utils.database import in_transaction
from tests.utils.servers import serve

RESIDENT = "U" + "f" * 32
OJI = (139.736233, 35.758357)  # lon, lat


def _add(running_app: RunningApp, name: str, role: str = "crew") -> str:
    """A new account; returns its one-time password."""
    return in_transaction(running_app.database_url, lambda conn: create_account(conn, name, role))


def _alert(response: httpx.Response) -> str:
    found = re.search(r'<p role="alert">(.*?)</p>', response.text, re.S)
    assert found, response.text
    return found.group(1)


def _set_cookie(response: httpx.Response, name: str) -> str:
    return next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}="))


def test_login_sets_a_secure_session_cookie_and_opens_the_crew_home(
    running_app: RunningApp, browser: Browser
) -> None:
    add_ready_account(running_app, "tanaka")
    before = browser.get("/crew/")
    assert before.status_code == 303
    location = urlsplit(before.headers["location"])
    assert location.path == "/crew/login"
    assert parse_qs(location.query) == {"next": ["/crew/"]}
    login_page = browser.get("/crew/login")
    assert login_page.headers["cache-control"] == "no-store"
    assert login_page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in login_page.headers["content-security-policy"]
    assert "<script" not in login_page.text

    response = browser.login("tanaka", PASSWORD, next_path="/crew/accounts")
    assert response.status_code == 303
    assert response.headers["location"] == "/crew/accounts"
    attributes = {a.strip().lower() for a in _set_cookie(response, "civic_session").split(";")}
    assert {"httponly", "samesite=lax", "secure", "path=/crew"} <= attributes

    home = browser.get("/crew/")
    assert home.status_code == 200
    assert home.headers["cache-control"] == "no-store"
    assert home.headers["x-frame-options"] == "DENY"
    assert "tanaka" in home.text


def test_an_offsite_next_is_ignored(running_app: RunningApp, browser: Browser) -> None:
    add_ready_account(running_app, "tanaka")
    response = browser.login("tanaka", PASSWORD, next_path="//evil.example/crew/")
    assert response.headers["location"] == "/crew/"


def test_the_crew_home_lists_open_clusters_and_no_resident(
    running_app: RunningApp, browser: Browser
) -> None:
    async def file_reports(conn: AsyncConnection) -> tuple[int, int]:
        open_one = await reports.submit_report(
            conn,
            reports.NewReport("road", *OJI, line_user_id=RESIDENT),
            duplicate_metres=30,
        )
        closed = await reports.submit_report(
            conn,
            reports.NewReport("graffiti", *OJI, line_user_id=RESIDENT),
            duplicate_metres=30,
        )
        await reports.change_status(conn, closed.cluster_id, "resolved", actor="test")
        return open_one.cluster_id, closed.cluster_id

    open_id, closed_id = in_transaction(running_app.database_url, file_reports)
    add_ready_account(running_app, "tanaka")
    browser.login("tanaka", PASSWORD)
    home = browser.get("/crew/")
    assert home.status_code == 200
    # Each open case by its case number, linked to its page.
    cases = re.findall(r'href="/crew/clusters/(\d+)">案件 No\.(\d+)</a>', home.text)
    assert (str(open_id), str(open_id)) in cases
    assert str(closed_id) not in {number for number, _ in cases}
    assert "道路の穴・段差" in home.text
    assert RESIDENT not in home.text


def test_wrong_password_and_unknown_name_get_the_same_answer(
    running_app: RunningApp, browser: Browser
) -> None:
    add_ready_account(running_app, "tanaka")
    wrong_password = browser.login("tanaka", "not the password")
    unknown_name = browser.login("nobody", PASSWORD)
    assert wrong_password.status_code == unknown_name.status_code == 401
    assert _alert(wrong_password) == _alert(unknown_name)
    assert "Wrong name or password" in _alert(wrong_password)
    assert "civic_session" not in browser.cookies


def test_the_sixth_attempt_in_the_window_is_throttled_even_with_the_right_password(
    running_app: RunningApp, browser: Browser
) -> None:
    add_ready_account(running_app, "tanaka")
    add_ready_account(running_app, "suzuki")
    for _ in range(5):
        assert browser.login("tanaka", "not the password").status_code == 401
    throttled = browser.login("tanaka", PASSWORD)
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["retry-after"]) <= 900
    assert "Too many failed logins" in _alert(throttled)
    assert "civic_session" not in browser.cookies
    # Another name at the same address (a colleague at the same office) is not held up.
    assert browser.login("suzuki", PASSWORD).status_code == 303


def _attempt(running_app: RunningApp, password: str, ip: str, settings: CrewSettings) -> bool:
    async def work(conn: AsyncConnection) -> bool:
        return await authenticate(conn, "tanaka", password, ip, settings=settings) is not None

    return in_transaction(running_app.database_url, work)


def test_guessing_from_elsewhere_never_locks_the_office_out(running_app: RunningApp) -> None:
    settings = CrewSettings(CREW_LOGIN_NAME_MAX_FAILURES=12)
    office, home = "192.0.2.10", "203.0.113.7"
    add_ready_account(running_app, "tanaka")
    assert _attempt(running_app, PASSWORD, office, settings)
    # An attacker spreads guesses for the name over many addresses, each below its limit.
    for n in range(12):
        assert not _attempt(running_app, "wrong", f"198.51.100.{n // 4}", settings)
    # The name is now held up at addresses it never signed in from…
    with pytest.raises(Throttled) as throttled:
        _attempt(running_app, PASSWORD, home, settings)
    assert 0 < throttled.value.retry_after <= settings.login_name_window_seconds
    # …but the office, where it signed in before, still signs in.
    assert _attempt(running_app, PASSWORD, office, settings)
    # And one guesser at the office address stops only that name there.
    for _ in range(5):
        assert not _attempt(running_app, "wrong", office, settings)
    with pytest.raises(Throttled):
        _attempt(running_app, PASSWORD, office, settings)


def test_forwarded_addresses_count_only_from_a_configured_proxy(
    running_app: RunningApp, browsers: Callable[[], Browser]
) -> None:
    add_ready_account(running_app, "tanaka")
    browser = browsers()

    def login_from(address: str, password: str) -> int:
        token = browser.csrf_token("/crew/login")
        form = {"name": "tanaka", "password": password, "csrf_token": token}
        answer = browser.post("/crew/login", data=form, headers={"X-Forwarded-For": address})
        return answer.status_code

    # FORWARDED_ALLOW_IPS is empty: a client cannot pose as five addresses.
    assert [login_from(f"198.51.100.{n}", "wrong") for n in range(5)] == [401] * 5
    assert login_from("198.51.100.99", PASSWORD) == 429
    settings = running_app.settings.model_copy(
        update={"server": ServerSettings(FORWARDED_ALLOW_IPS="127.0.0.1")}
    )
    with serve(create_app(settings)) as url:
        behind_proxy = Browser(url)
        browser = behind_proxy
        # Behind the proxy the forwarded address is the client's: the earlier failures
        # were all 127.0.0.1's, and this is another address.
        assert login_from("192.0.2.10", PASSWORD) == 303
        behind_proxy.client.close()


def test_the_one_time_password_must_be_changed_before_anything_else(
    running_app: RunningApp, browser: Browser, browsers: Callable[[], Browser]
) -> None:
    one_time = _add(running_app, "tanaka")
    response = browser.login("tanaka", one_time)
    assert response.status_code == 303
    assert response.headers["location"] == "/crew/password"
    home = browser.get("/crew/")
    assert (home.status_code, home.headers["location"]) == (303, "/crew/password")
    assert browser.get("/crew/", html=False).status_code == 403

    def change(current: str, new: str, confirm: str) -> httpx.Response:
        form = {
            "csrf_token": browser.csrf_token("/crew/password"),
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm,
        }
        return browser.post("/crew/password", data=form)

    assert "The current password is wrong" in _alert(change("wrong", PASSWORD, PASSWORD))
    assert "do not match" in _alert(change(one_time, PASSWORD, PASSWORD + "x"))
    assert "at least 12" in _alert(change(one_time, "short", "short"))
    assert "must differ" in _alert(change(one_time, one_time, one_time))
    changed = change(one_time, PASSWORD, PASSWORD)
    assert (changed.status_code, changed.headers["location"]) == (303, "/crew/")
    assert browser.get("/crew/").status_code == 200

    fresh = browsers()
    assert fresh.login("tanaka", one_time).status_code == 401
    assert fresh.login("tanaka", PASSWORD).headers["location"] == "/crew/"


def test_a_password_change_closes_the_other_sessions(
    running_app: RunningApp, browser: Browser, browsers: Callable[[], Browser]
) -> None:
    add_ready_account(running_app, "tanaka")
    other = browsers()
    other.login("tanaka", PASSWORD)
    browser.login("tanaka", PASSWORD)
    form = {
        "csrf_token": browser.csrf_token("/crew/password"),
        "current_password": PASSWORD,
        "new_password": PASSWORD + " 2",
        "confirm_password": PASSWORD + " 2",
    }
    assert browser.post("/crew/password", data=form).status_code == 303
    assert browser.get("/crew/").status_code == 200
    assert other.get("/crew/", html=False).status_code == 401


def test_forms_without_the_right_csrf_token_are_refused(
    running_app: RunningApp, browser: Browser, browsers: Callable[[], Browser]
) -> None:
    add_ready_account(running_app, "tanaka")
    browser.login("tanaka", PASSWORD)
    change = {
        "current_password": PASSWORD,
        "new_password": PASSWORD + " 2",
        "confirm_password": PASSWORD + " 2",
    }
    for path, form in (("/crew/logout", {}), ("/crew/password", change)):
        assert browser.post(path, data=form).status_code == 403
        assert browser.post(path, data={**form, "csrf_token": "forged"}).status_code == 403
    # Nothing happened: still signed in, with the same password.
    assert browser.get("/crew/").status_code == 200
    assert browsers().login("tanaka", PASSWORD).status_code == 303

    # The login form has no session yet: its token must match the one in its cookie.
    stranger = browsers()
    token = stranger.csrf_token("/crew/login")
    stranger.cookies.clear()
    form = {"name": "tanaka", "password": PASSWORD, "csrf_token": token}
    assert stranger.post("/crew/login", data=form).status_code == 403
    stranger.csrf_token("/crew/login")
    forged = {**form, "csrf_token": "forged"}
    assert stranger.post("/crew/login", data=forged).status_code == 403


def test_the_api_description_is_for_crews_only(running_app: RunningApp, browser: Browser) -> None:
    with httpx.Client(base_url=running_app.url, trust_env=False, timeout=10) as anonymous:
        for path in ("/openapi.json", "/docs", "/redoc"):
            assert anonymous.get(path).status_code == 404
        assert anonymous.get("/crew/openapi.json").status_code == 401
    add_ready_account(running_app, "tanaka", "crew")
    browser.login("tanaka", PASSWORD)
    described = browser.get("/crew/openapi.json", html=False)
    assert described.status_code == 200
    assert "/crew/accounts" in described.json()["paths"]


def test_the_accounts_page_is_for_admins_only(
    running_app: RunningApp, browser: Browser, browsers: Callable[[], Browser]
) -> None:
    add_ready_account(running_app, "tanaka", "crew")
    add_ready_account(running_app, "sato", "admin")
    browser.login("tanaka", PASSWORD)
    assert browser.get("/crew/accounts").status_code == 403
    assert "/crew/accounts" not in browser.get("/crew/").text

    admin = browsers()
    admin.login("sato", PASSWORD)
    page = admin.get("/crew/accounts")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "tanaka" in page.text and "sato" in page.text


def test_logout_ends_the_session(running_app: RunningApp, browser: Browser) -> None:
    add_ready_account(running_app, "tanaka")
    browser.login("tanaka", PASSWORD)
    old_cookie = browser.cookies["civic_session"]
    csrf_token = browser.csrf_token("/crew/")
    response = browser.post("/crew/logout", data={"csrf_token": csrf_token})
    assert (response.status_code, response.headers["location"]) == (303, "/crew/login")
    assert "civic_session" not in browser.cookies
    browser.cookies["civic_session"] = old_cookie
    assert browser.get("/crew/", html=False).status_code == 401
    assert browser.get("/crew/").status_code == 303


def test_expired_sessions_and_disabled_accounts_are_refused(
    running_app: RunningApp, browser: Browser
) -> None:
    url = running_app.database_url
    add_ready_account(running_app, "tanaka")
    browser.login("tanaka", PASSWORD)
    assert browser.get("/crew/", html=False).status_code == 200

    async def expire(conn: AsyncConnection) -> None:
        await conn.execute(text("UPDATE crew_sessions SET expires_at = now() - interval '1 s'"))

    in_transaction(url, expire)
    assert browser.get("/crew/", html=False).status_code == 401

    browser.login("tanaka", PASSWORD)
    assert browser.get("/crew/", html=False).status_code == 200

    async def disable(conn: AsyncConnection) -> None:
        await conn.execute(text("UPDATE crew_accounts SET disabled = true"))

    in_transaction(url, disable)
    assert browser.get("/crew/", html=False).status_code == 401
    assert browser.login("tanaka", PASSWORD).status_code == 401


def test_the_database_holds_argon2id_hashes_and_no_session_token(
    running_app: RunningApp, browser: Browser
) -> None:
    add_ready_account(running_app, "tanaka")
    browser.login("tanaka", PASSWORD)
    token = browser.cookies["civic_session"]

    async def stored(conn: AsyncConnection) -> tuple[str, list[tuple[Any, ...]]]:
        password_hash = await conn.scalar(text("SELECT password_hash FROM crew_accounts"))
        sessions = (await conn.execute(text("SELECT * FROM crew_sessions"))).all()
        return password_hash, [tuple(row) for row in sessions]

    password_hash, sessions = in_transaction(running_app.database_url, stored)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert len(sessions) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in sessions[0]
    assert not any(token in str(value) for value in sessions[0])


def test_a_weaker_hash_is_upgraded_at_login(running_app: RunningApp, browser: Browser) -> None:
    url = running_app.database_url
    add_ready_account(running_app, "tanaka")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)

    async def set_weak(conn: AsyncConnection) -> None:
        await conn.execute(text("UPDATE crew_accounts SET password_hash = :h"), {"h": weak})

    async def current(conn: AsyncConnection) -> str:
        return str(await conn.scalar(text("SELECT password_hash FROM crew_accounts")))

    in_transaction(url, set_weak)
    assert browser.login("tanaka", PASSWORD).status_code == 303
    upgraded = in_transaction(url, current)
    assert upgraded != weak
    assert not PasswordHasher().check_needs_rehash(upgraded)


def test_civic_crew_add_prints_a_one_time_password(
    running_app: RunningApp, browser: Browser
) -> None:
    url = running_app.database_url
    added = civic(url, "crew", "add", "hanako", "--role", "admin")
    assert added.returncode == 0, added.stderr
    found = re.search(r"one-time password: (\S+)", added.stdout)
    assert found, added.stdout
    assert "changed at the first login" in added.stdout
    response = browser.login("hanako", found.group(1))
    assert (response.status_code, response.headers["location"]) == (303, "/crew/password")

    again = civic(url, "crew", "add", "hanako", "--role", "crew")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "one-time password" not in again.stdout


def _guarded_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every crew or admin route of the app but the login page, with
    path parameters filled in with 1."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = route.path
        if path is None or path == "/crew/login":
            continue
        if not (path.startswith("/admin") or "/crew" in path):
            continue
        concrete = re.sub(r"\{[^}]*\}", "1", path)
        # A mount has no methods: a GET at its root must be refused as well.
        for method in sorted((route.methods or {"GET"}) - {"HEAD", "OPTIONS"}):
            found.append((method, concrete))
    return found


def test_every_crew_route_needs_a_login(running_app: RunningApp, browser: Browser) -> None:
    routes = _guarded_routes(create_app(running_app.settings))
    assert {("GET", "/crew/"), ("GET", "/crew/accounts"), ("POST", "/crew/logout")} <= set(routes)
    answered = []
    for method, path in routes:
        for html in (True, False):
            response = browser.request(method, path, html=html)
            assert browser.cookies == {}, "a refused request set a cookie"
            refused = response.status_code == 401 or (
                response.status_code == 303
                and response.headers["location"].startswith("/crew/login?next=")
            )
            if not refused:
                answered.append(f"{method} {path} (html={html}): {response.status_code}")
            # Crew routes belong on a router with route_class=CrewRoute.
            if response.headers.get("cache-control") != "no-store":
                answered.append(f"{method} {path} (html={html}): no security headers")
    assert answered == [], "crew routes answering without a login"


def test_every_crew_route_waits_for_the_one_time_password_to_be_changed(
    running_app: RunningApp, browser: Browser
) -> None:
    browser.login("tanaka", _add(running_app, "tanaka"))
    csrf_token = browser.csrf_token("/crew/password")
    allowed = {"/crew/password", "/crew/logout"}
    answered = []
    for method, path in _guarded_routes(create_app(running_app.settings)):
        if path in allowed:
            continue
        data = {"csrf_token": csrf_token} if method == "POST" else None
        response = browser.request(method, path, html=method == "GET", data=data)
        refused = response.status_code == 403 or (
            response.status_code == 303 and response.headers["location"] == "/crew/password"
        )
        if not refused:
            answered.append(f"{method} {path}: {response.status_code}")
    assert answered == [], "crew routes answering before the password change"
