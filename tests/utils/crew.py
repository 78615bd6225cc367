"""A crew member's side of the tests: ready accounts, and an HTTP client that keeps its own
session cookies. Its fixtures (`browsers`, `browser`) are loaded by conftest.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.crew.auth import change_password, create_account
from tests.utils.app import RunningApp
from tests.utils.database import in_transaction

PASSWORD = "correct horse battery"


def add_ready_account(running_app: RunningApp, name: str, role: str = "crew") -> None:
    """A new account that has already set PASSWORD as its own."""

    async def work(conn: AsyncConnection) -> None:
        await create_account(conn, name, role)
        account_id = await conn.scalar(
            text("SELECT id FROM crew_accounts WHERE name = :n"), {"n": name}
        )
        await change_password(conn, account_id, PASSWORD)

    in_transaction(running_app.database_url, work)


class Browser:
    """An HTTP client keeping cookies itself: the app's cookies are Secure, and a cookie jar
    would never send those back over plain HTTP to the loopback test server."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, trust_env=False, follow_redirects=False, timeout=30
        )
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        html: bool = True,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        headers = {"Accept": "text/html" if html else "application/json", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kw)
        for raw in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def csrf_token(self, page: str) -> str:
        """The hidden csrf_token of the form on this page."""
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page).text)
        assert found, f"no csrf_token on {page}"
        return found.group(1)

    def login(self, name: str, password: str, next_path: str | None = None) -> httpx.Response:
        form = {"name": name, "password": password, "csrf_token": self.csrf_token("/crew/login")}
        if next_path is not None:
            form["next"] = next_path
        return self.post("/crew/login", data=form)


def logged_in(
    running_app: RunningApp, browser: Browser, name: str = "tanaka", role: str = "crew"
) -> Browser:
    """`browser`, logged in as a new ready account."""
    add_ready_account(running_app, name, role)
    assert browser.login(name, PASSWORD).status_code == 303
    return browser


@pytest.fixture
def browsers(running_app: RunningApp) -> Iterator[Callable[[], Browser]]:
    """Makes browsers of their own (separate cookies) on the app; closed after the test."""
    made: list[Browser] = []

    def make() -> Browser:
        made.append(Browser(running_app.url))
        return made[-1]

    yield make
    for made_browser in made:
        made_browser.client.close()


@pytest.fixture
def browser(browsers: Callable[[], Browser]) -> Browser:
    """A browser on the app, logged in as nobody yet."""
    return browsers()
