"""Crew pages: login, logout, password change, the open report clusters, and (admins)
the accounts. Japanese first, with English."""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncConnection

from service.crew import queries
from service.crew.auth import (
    MIN_PASSWORD_LENGTH,
    Account,
    Session,
    Throttled,
    WeakPassword,
    authenticate,
    change_password,
    close_session,
    open_session,
)
from service.crew.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AdminUser,
    CrewConfig,
    CrewRoute,
    CrewUser,
    CsrfChecked,
    LoggedIn,
    cookie_path,
    crew_home,
    login_path,
    password_path,
)
from service.deps import AppSettings, Engine
from service.errors import show_errors_on
from service.localtime import when
from service.settings import CrewSettings
from service.templating import render
from service.vocabulary.pages import Both, both

CLUSTER_LIMIT = 200
# Japan keeps one offset all year.

router = APIRouter(prefix="/crew", route_class=CrewRoute, tags=["crew"])


def invalid_form(exc: Exception) -> Both:
    """The notice of a form the domain refused (its error says what was wrong)."""
    return both("Please check the form: {error}", error=str(exc))


def _refusal(exc: Exception) -> Both:
    """What the login and password pages say when the login throttle or the password policy
    refuses (service/errors.py sets the status)."""
    if isinstance(exc, Throttled):
        minutes = math.ceil(exc.retry_after / 60)
        return both("Too many failed logins. Please try again in {n} minutes.", n=minutes)
    if isinstance(exc, WeakPassword):
        return both("A password has at least {n} characters.", n=MIN_PASSWORD_LENGTH)
    return Both(escape(str(exc)), escape(str(exc)))


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return render(request, template, context, status_code=status_code)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _local_target(request: Request, target: str) -> str:
    # Back to a crew page only: never to another site ("//host", "/\\host") after a login.
    home = crew_home(request)
    if target.startswith(home) and target.isprintable():
        return target
    return home


def _login_page(
    request: Request,
    settings: CrewSettings,
    next_path: str,
    error: Both | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    # No session yet: the form is guarded by a double-submit token (cookie + hidden field).
    csrf_token = secrets.token_urlsafe(32)
    response = _page(
        request,
        "login.html",
        {"csrf_token": csrf_token, "next_path": _local_target(request, next_path), "error": error},
        status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf_token,
        path=login_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request,
    settings: CrewConfig,
    next_path: Annotated[str, Query(alias="next")] = "",
) -> HTMLResponse:
    """The login form."""
    return _login_page(request, settings, next_path)


async def _sign_in(
    conn: AsyncConnection, request: Request, name: str, password: str, settings: CrewSettings
) -> tuple[Account, str] | None:
    account = await authenticate(conn, name, password, _client_ip(request), settings=settings)
    if account is None:
        return None
    # A new session at every login, and the browser's previous one ends: a session planted
    # in the browser before the login is never signed in.
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await close_session(conn, previous)
    token, _ = await open_session(conn, account, settings=settings)
    return account, token


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    engine: Engine,
    settings: CrewConfig,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Sign in: a session cookie and on to `next` (or to the password page first)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        expired = both("The form expired. Please try again.")
        return _login_page(request, settings, next_path, expired, 403)

    async def refused(exc: Exception) -> Response:
        return _login_page(request, settings, next_path, _refusal(exc))

    show_errors_on(request, refused)
    async with engine.begin() as conn:
        signed_in = await _sign_in(conn, request, name.strip(), password, settings)
    if signed_in is None:
        return _login_page(request, settings, next_path, both("Wrong name or password."), 401)
    account, token = signed_in
    if account.must_change_password:
        target = password_path(request)
    else:
        target = _local_target(request, next_path)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours * 3600),
        path=cookie_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    redirect.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path=login_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return redirect


@router.post("/logout")
async def logout(
    request: Request, session: CsrfChecked, engine: Engine, settings: CrewConfig
) -> Response:
    """Sign out: the session ends on the server, and the cookie is removed."""
    async with engine.begin() as conn:
        await close_session(conn, session.token)
    redirect = RedirectResponse(login_path(request), status_code=303)
    redirect.delete_cookie(
        SESSION_COOKIE,
        path=cookie_path(request),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return redirect


def _password_page(
    request: Request, session: Session, error: Both | None = None, status_code: int = 200
) -> HTMLResponse:
    return _page(
        request,
        "password.html",
        {
            "account": session.account,
            "csrf_token": session.csrf_token,
            "min_length": MIN_PASSWORD_LENGTH,
            "error": error,
        },
        status_code,
    )


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request, session: LoggedIn) -> HTMLResponse:
    """The password form (the only page until the one-time password is changed)."""
    return _password_page(request, session)


@router.post("/password", response_class=HTMLResponse)
async def password(
    request: Request,
    session: CsrfChecked,
    engine: Engine,
    settings: CrewConfig,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    """Change the password, proving the current one; other sessions are closed."""
    if new_password != confirm_password:
        return _password_page(request, session, both("The new passwords do not match."), 400)
    if new_password == current_password:
        unchanged = both("The new password must differ from the current one.")
        return _password_page(request, session, unchanged, 400)
    account = session.account

    async def refused(exc: Exception) -> Response:
        return _password_page(request, session, _refusal(exc))

    show_errors_on(request, refused)
    async with engine.begin() as conn:
        # The current password goes through the login throttle: a stolen session cannot
        # be used to guess it.
        proven = await authenticate(
            conn, account.name, current_password, _client_ip(request), settings=settings
        )
        if proven is not None:
            await change_password(conn, account.id, new_password, keep_token=session.token)
    if proven is None:
        return _password_page(request, session, both("The current password is wrong."), 400)
    return RedirectResponse(crew_home(request), status_code=303)


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    account: CrewUser,
    session: LoggedIn,
    engine: Engine,
    app_settings: AppSettings,
) -> HTMLResponse:
    """The open cases, the most recently reported first (reporters not shown)."""
    async with engine.connect() as conn:
        rows = await queries.open_clusters(conn, CLUSTER_LIMIT)
    clusters = [
        {
            "id": row.id,
            "code": row.category,
            "category": app_settings.reports.category(row.category),
            "status": row.status,
            "report_count": row.report_count,
            "first_at": when(row.first_at),
            "last_at": when(row.last_at),
            "address": row.address,
        }
        for row in rows
    ]
    return _page(
        request,
        "home.html",
        {
            "account": account,
            "csrf_token": session.csrf_token,
            "clusters": clusters,
            "limit": CLUSTER_LIMIT,
        },
    )


@router.get("/openapi.json", include_in_schema=False)
async def openapi_schema(request: Request, account: CrewUser) -> JSONResponse:
    """The OpenAPI description of every route, for logged-in crews only (it lists the admin
    routes; there is no public /openapi.json or /docs)."""
    return JSONResponse(request.app.openapi())


@router.get("/accounts", response_class=HTMLResponse)
async def accounts(
    request: Request, account: AdminUser, session: LoggedIn, engine: Engine
) -> HTMLResponse:
    """Admins: every crew account, with its role and whether it is disabled."""
    async with engine.connect() as conn:
        rows = await queries.accounts(conn)
    listed = [
        {
            "name": row.name,
            "role": row.role,
            "disabled": row.disabled,
            "created_at": when(row.created_at),
        }
        for row in rows
    ]
    return _page(
        request,
        "accounts.html",
        {"account": account, "csrf_token": session.csrf_token, "accounts": listed},
    )
