"""Typed dependencies of crew and admin routes: who is signed in, in which role, and
whether a form carries the session's CSRF token.

A route declares what it needs and the dependency refuses everyone else:

    @router.get("/crew/things")
    async def things(account: CrewUser) -> ...        # any crew member or admin
    @router.get("/crew/admin-things")
    async def admin_things(account: AdminUser) -> ... # admins only
    @router.post("/crew/things")
    async def change(account: CrewUser, _: CsrfChecked) -> ...

Routes on a router with `route_class=CrewRoute` also get the crew pages' security headers.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute

from service.crew.auth import Account, Session, session_for
from service.deps import Engine
from service.settings import CrewSettings
from service.templating import path_for
from service.vocabulary.pages import both
from service.xmlchars import unsafe_character

SESSION_COOKIE = "civic_session"
LOGIN_CSRF_COOKIE = "civic_login_csrf"

# Crew pages show residents' reports: never cached, never framed, no foreign code.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def crew_home(request: Request) -> str:
    """The path of the crew home page, under which every crew page is."""
    return path_for(request, "home")


def cookie_path(request: Request) -> str:
    """The path of the session cookie: the crew pages' (the home page's, without its slash)."""
    return crew_home(request).rstrip("/")


def login_path(request: Request) -> str:
    """The path of the login page (also the path of its form's CSRF cookie)."""
    return path_for(request, "login_form")


def password_path(request: Request) -> str:
    """The path of the password page."""
    return path_for(request, "password_form")


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_unstorable_text(request: Request) -> None:
    """HTTP 400 naming the first query parameter or form field that holds a character text
    cannot hold (NUL, another control character): it could be neither stored nor published."""
    fields = list(request.query_params.multi_items())
    if request.headers.get("content-type", "").startswith(_FORMS):
        form = await request.form()  # kept by the request: the route reads the same form
        fields += [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    for name, value in fields:
        if (character := unsafe_character(value)) is not None:
            message = both(
                "{name} holds {character}, a character that cannot be stored",
                name=name,
                character=character,
            )
            raise HTTPException(400, message.plain(" / "))


class CrewRoute(APIRoute):
    """An APIRoute whose every answer, refusals included, carries SECURITY_HEADERS (unless
    the route set that header itself), and whose input holds no character text cannot
    hold."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, adding the headers to its response or its HTTPException."""
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            # A domain error is answered outside the route (service/errors.py): with these.
            request.state.route_headers = SECURITY_HEADERS
            try:
                await refuse_unstorable_text(request)
                response = await handler(request)
            except HTTPException as exc:
                exc.headers = {**SECURITY_HEADERS, **(exc.headers or {})}
                raise
            # A header the route set itself stays (e.g. a page's own stricter CSP with a nonce).
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return with_headers


def get_crew_settings(request: Request) -> CrewSettings:
    """The app's crew settings."""
    settings: CrewSettings = request.app.state.settings.crew
    return settings


def wants_html(request: Request) -> bool:
    """A browser navigating (a GET that accepts HTML), as opposed to an API call or a form
    post: the former is redirected to the page it needs, the latter just refused."""
    return request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")


def _see_other(location: str) -> HTTPException:
    return HTTPException(303, headers={"Location": location})


async def require_session(request: Request, engine: Engine) -> Session:
    """The signed-in session. Without one: 303 to the login page for a browser's GET,
    401 otherwise. Accounts that must change their password pass (see require_crew)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        async with engine.begin() as conn:
            session = await session_for(conn, token)
    if session is not None:
        return session
    if wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise _see_other(f"{login_path(request)}?{urlencode({'next': target})}")
    raise HTTPException(401, both("Login required").plain(" / "))


LoggedIn = Annotated[Session, Depends(require_session)]


async def require_crew(request: Request, session: LoggedIn) -> Account:
    """A signed-in crew member or admin who has set their own password (until then a
    browser is sent to the password page, anything else gets 403)."""
    if session.account.must_change_password:
        if wants_html(request):
            raise _see_other(password_path(request))
        raise HTTPException(403, both("Change your password first").plain(" / "))
    return session.account


CrewUser = Annotated[Account, Depends(require_crew)]


async def require_admin(account: CrewUser) -> Account:
    """A signed-in admin; a crew member gets 403."""
    if not account.is_admin:
        raise HTTPException(403, both("Admins only").plain(" / "))
    return account


AdminUser = Annotated[Account, Depends(require_admin)]


async def check_csrf(request: Request, session: LoggedIn) -> Session:
    """The session, when the posted form's `csrf_token` is the session's; else 403."""
    sent = (await request.form()).get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(
        sent.encode(), session.csrf_token.encode()
    ):
        raise HTTPException(403, both("Invalid form token").plain(" / "))
    return session


CsrfChecked = Annotated[Session, Depends(check_csrf)]
CrewConfig = Annotated[CrewSettings, Depends(get_crew_settings)]
