"""The app behind a reverse proxy that serves it under a path prefix (/civic), as a city's
web server often does: every link, asset, form, redirect and cookie of the crew, public and
sandbox pages stays under the prefix, and each one answers.

The app runs as `civic serve --sandbox` with ROOT_PATH=/civic (the prefix the proxy strips);
in front of it, a small reverse proxy forwards /civic/... to the app without the prefix and
answers 404 for anything else, so a link that escaped the prefix would fail here as it would
in a city. The pages are crawled over HTTP as a crew member and as an admin, and the crew map
and the sandbox chat (whose scripts make the URLs they fetch) run in Chromium.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service import localdb, reports
from service.photos import LocalPhotoStore, process_photo
from service.settings import DatabaseSettings, Settings
from tests.utils.app import RunningApp
from tests.utils.chromium import (
    TIMEOUT_MS,
    category_label,
    console_error,
    log_in,
    off_loop,
    skip_without_chromium,
)
from tests.utils.crew import PASSWORD, add_ready_account
from tests.utils.database import copy_database, in_transaction
from tests.utils.photos import jpeg
from tests.utils.sandbox import civic_serve_sandbox
from tests.utils.servers import serve

skip_without_chromium()  # the whole module, saying why, without Chromium or Playwright
from playwright.sync_api import (  # noqa: E402 (only once the skips above have passed)
    Browser,
    BrowserContext,
    Page,
    expect,
)

PREFIX = "/civic"
OJI = (139.736233, 35.758357)
AKABANE = (139.7209, 35.7778)
TABATA = (139.7607, 35.7381)
RESIDENT = "U" + "7" * 32
# Attributes that hold a URL the browser follows, loads or posts to; the first two are GETs.
_LINKS = re.compile(r'\b(?:href|src|action|formaction)="([^"]*)"')
_GETS = re.compile(r'\b(?:href|src)="([^"]*)"')
_POSTS = re.compile(r'\b(?:action|formaction)="([^"]*)"')
_FORMS = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"}


def path_prefix_proxy(upstream: str, prefix: str) -> Starlette:
    """A reverse proxy serving `upstream` under `prefix`: /civic/x is forwarded as /x with the
    client's Host (like nginx's `location /civic/ { proxy_pass http://app/; }`); everything
    else is 404."""

    async def forward(request: Request) -> Response:
        target = upstream + "/" + request.path_params["rest"]
        if request.url.query:
            target += "?" + request.url.query
        headers = [(k, v) for k, v in request.headers.raw if k.decode() not in _HOP_BY_HOP]
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            answer = await client.request(
                request.method, target, headers=headers, content=await request.body()
            )
        kept = {
            k: v
            for k, v in answer.headers.multi_items()
            if k not in _HOP_BY_HOP and k not in ("content-length", "set-cookie")
        }
        response = Response(answer.content, answer.status_code, kept)
        for cookie in answer.headers.get_list("set-cookie"):
            response.headers.append("set-cookie", cookie)
        return response

    methods = ["GET", "HEAD", "POST"]
    return Starlette(routes=[Route(prefix + "/{rest:path}", forward, methods=methods)])


@dataclass
class Prefixed:
    """The app as the proxy serves it: `app.url` ends with the prefix."""

    app: RunningApp
    photo_dir: Path

    @property
    def origin(self) -> str:
        """Scheme, host and port of the proxy."""
        return self.app.url.removesuffix(PREFIX)


@pytest.fixture(scope="module")
def prefixed(
    cluster: localdb.LocalCluster, kita_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prefixed]:
    """`civic serve --sandbox` with ROOT_PATH=/civic on a copy of the Kita-ku data, behind
    the path-prefix proxy."""
    database_url = copy_database(cluster, kita_template)
    work = tmp_path_factory.mktemp("prefixed")
    # Plain HTTP on loopback, as `civic dev` runs: the session cookie may come back.
    env = {"ROOT_PATH": PREFIX, "CREW_COOKIE_SECURE": "false"}
    with civic_serve_sandbox(database_url, work, **env) as upstream:
        settings = Settings.from_env().model_copy(
            update={"database": DatabaseSettings(DATABASE_URL=database_url)}
        )
        with serve(path_prefix_proxy(upstream, PREFIX)) as proxy:
            yield Prefixed(RunningApp(url=proxy + PREFIX, settings=settings), work / "photos")


def _file(prefixed: Prefixed, category: str, place: tuple[float, float]) -> int:
    """A report with a photo, as a resident files it; returns its cluster."""
    photo = process_photo(jpeg())
    LocalPhotoStore(prefixed.photo_dir).put(photo)
    lon, lat = place
    new = reports.NewReport(
        category=category, lon=lon, lat=lat, photo_keys=[photo.key], line_user_id=RESIDENT
    )

    async def work(conn: AsyncConnection) -> int:
        return (await reports.submit_report(conn, new, 30)).cluster_id

    return in_transaction(prefixed.app.database_url, work)


def _seed(prefixed: Prefixed) -> int:
    """Two open clusters (one to merge into the other); returns the first."""
    _file(prefixed, "streetlight", AKABANE)
    return _file(prefixed, "road", OJI)


def _links(page: str) -> list[str]:
    return [html.unescape(link) for link in _LINKS.findall(page)]


def _escaped(links: list[str]) -> list[str]:
    """Links that would leave the prefix: a path not under it, or a relative one. Anchors,
    data: URLs and other sites (a map service) are fine."""
    return [
        link
        for link in links
        if not link.startswith((PREFIX + "/", "#", "data:", "https://", "http://", "tel:", "geo:"))
    ]


class Crawler:
    """Follows every link of the pages it is given, through the proxy, keeping cookies."""

    def __init__(self, prefixed: Prefixed) -> None:
        self.client = httpx.Client(base_url=prefixed.origin, trust_env=False, timeout=30)
        self.seen: dict[str, int] = {}
        self.escaped: list[str] = []
        self.pages: dict[str, str] = {}

    def crawl(self, *starts: str) -> None:
        """Every page and asset reachable by links from `starts` (paths under the prefix);
        each page's links, forms included, are checked, each answer recorded."""
        queue = list(starts)
        while queue:
            path = queue.pop(0)
            if path in self.seen:
                continue
            answer = self.client.get(path)
            self.seen[path] = answer.status_code
            if answer.status_code in (302, 303, 307):
                queue.append(answer.headers["location"])
            if "text/html" not in answer.headers.get("content-type", ""):
                continue
            self.pages[path] = answer.text
            self.escaped += [f"{path}: {link}" for link in _escaped(_links(answer.text))]
            for link in _GETS.findall(answer.text):
                target = urljoin(path, html.unescape(link))
                if target.startswith(PREFIX + "/"):
                    queue.append(target)

    def submit_forms(self, *, skip: tuple[str, ...] = ()) -> dict[str, int]:
        """Post every form of the crawled pages once (its hidden fields, a select's first
        option): by action, the status of the answer. A redirect must stay under the prefix."""
        answered: dict[str, int] = {}
        for path, page in self.pages.items():
            for attributes, body in _FORMS.findall(page):
                if 'method="post"' not in attributes:
                    continue
                for action in _POSTS.findall(f"<form {attributes}>{body}"):
                    target = urljoin(path, html.unescape(action))
                    if target in answered or target.endswith(skip):
                        continue
                    answer = self.client.post(target, data=_fields(body))
                    answered[target] = answer.status_code
                    if answer.status_code in (302, 303):
                        location = answer.headers["location"]
                        assert location.startswith(PREFIX + "/"), (target, location)
        return answered

    def close(self) -> None:
        self.client.close()


def _fields(form: str) -> dict[str, str]:
    """What a browser posts for a form nobody filled in."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        first = re.search(r'<option value="([^"]*)"', options)
        fields.setdefault(name, first.group(1) if first else "")
    return {name: html.unescape(value) for name, value in fields.items()}


def _log_in_over_http(crawler: Crawler, name: str) -> httpx.Response:
    login = crawler.client.get(PREFIX + "/crew/login")
    form = _fields(login.text)
    form |= {"name": name, "password": PASSWORD}
    (action,) = re.findall(r'<form method="post" action="([^"]+)"', login.text)
    return crawler.client.post(action, data=form)


@pytest.fixture
def crawler(prefixed: Prefixed) -> Iterator[Crawler]:
    made = Crawler(prefixed)
    yield made
    made.close()


def test_public_and_sandbox_pages_link_only_under_the_prefix(crawler: Crawler) -> None:
    crawler.crawl(f"{PREFIX}/shelters", f"{PREFIX}/sandbox", f"{PREFIX}/crew/login")
    assert crawler.escaped == []
    assert {status for status in crawler.seen.values()} == {200}, crawler.seen
    assert {
        f"{PREFIX}/shelters.geojson",
        f"{PREFIX}/assets/sandbox.js",
        f"{PREFIX}/assets/vendor/leaflet/leaflet.js",
        f"{PREFIX}/assets/crew.css",
        f"{PREFIX}/sandbox/line/_standin/calls",
    } <= set(crawler.seen)
    # The chat page's script fetches the URLs the page gives it.
    sandbox = crawler.pages[f"{PREFIX}/sandbox"]
    urls = re.search(r'<script type="application/json" id="sb-urls">(.*?)</script>', sandbox)
    assert urls, "no endpoint URLs on the sandbox page"
    assert _escaped(re.findall(r'"(/[^"]*)"', urls.group(1))) == []
    assert f'"{PREFIX}/sandbox/say"' in urls.group(1)
    # Outside the prefix there is nothing: the proxy serves the app only there.
    assert crawler.client.get("/crew/login").status_code == 404


def test_a_photo_through_the_sandbox_under_the_prefix(crawler: Crawler) -> None:
    answer = crawler.client.post(
        f"{PREFIX}/sandbox/say/image",
        data={"user_id": "U" + "8" * 32},
        files={"image": ("photo.jpg", jpeg(size=(64, 48)), "image/jpeg")},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["answers"], answer.json()


def test_login_redirects_and_cookies_stay_under_the_prefix(
    prefixed: Prefixed, crawler: Crawler
) -> None:
    off_loop(lambda: add_ready_account(prefixed.app, "kato"))
    refused = crawler.client.get(f"{PREFIX}/crew/map", headers={"Accept": "text/html"})
    assert refused.status_code == 303
    location = urlsplit(refused.headers["location"])
    assert location.path == f"{PREFIX}/crew/login"
    assert location.query == "next=%2Fcivic%2Fcrew%2Fmap"

    login = crawler.client.get(refused.headers["location"])
    assert f'name="next" value="{PREFIX}/crew/map"' in login.text
    csrf_cookie = login.headers["set-cookie"].lower()
    assert f"path={PREFIX}/crew/login" in csrf_cookie
    form = _fields(login.text) | {"name": "kato", "password": PASSWORD}
    signed_in = crawler.client.post(f"{PREFIX}/crew/login", data=form)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, f"{PREFIX}/crew/map")
    session = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("civic_session=")
    )
    assert f"path={PREFIX}/crew" in {a.strip().lower() for a in session.split(";")}
    assert crawler.client.get(f"{PREFIX}/crew/map").status_code == 200

    home = crawler.client.get(f"{PREFIX}/crew/")
    logout = re.search(r'<form method="post" action="([^"]+)">\s*(.*?)</form>', home.text, re.S)
    assert logout and logout.group(1) == f"{PREFIX}/crew/logout"
    out = crawler.client.post(logout.group(1), data=_fields(logout.group(2)))
    assert (out.status_code, out.headers["location"]) == (303, f"{PREFIX}/crew/login")
    assert crawler.client.get(f"{PREFIX}/crew/", headers={"Accept": "text/html"}).status_code == 303


@pytest.mark.parametrize("role", ["crew", "admin"])
def test_every_crew_link_and_form_stays_under_the_prefix(
    prefixed: Prefixed, crawler: Crawler, role: str
) -> None:
    cluster_id = off_loop(lambda: _seed(prefixed))
    name = f"{role}-member"
    off_loop(lambda: add_ready_account(prefixed.app, name, role))
    assert _log_in_over_http(crawler, name).headers["location"] == f"{PREFIX}/crew/"
    crawler.crawl(f"{PREFIX}/crew/", f"{PREFIX}/crew/map")
    assert crawler.escaped == []
    failed = {path: status for path, status in crawler.seen.items() if status >= 400}
    assert failed == {}
    pages = set(crawler.seen)
    assert {
        f"{PREFIX}/crew/map",
        f"{PREFIX}/crew/shelters",
        f"{PREFIX}/crew/password",
        f"{PREFIX}/crew/clusters/{cluster_id}",
        f"{PREFIX}/crew/clusters/{cluster_id}/map",
        f"{PREFIX}/shelters",
    } <= pages
    assert any(path.startswith(f"{PREFIX}/crew/clusters/{cluster_id}/photos/") for path in pages)
    assert any(path.startswith(f"{PREFIX}/crew/map/frame") for path in pages)
    assert any(path.startswith(f"{PREFIX}/crew/export.csv") for path in pages)
    if role == "admin":
        assert {f"{PREFIX}/crew/alerts", f"{PREFIX}/crew/accounts"} <= pages
    # The map frame's popups link to the clusters' pages under the prefix too.
    frame = next(page for path, page in crawler.pages.items() if "/crew/map/frame" in path)
    assert f'"detail":["{PREFIX}/crew/clusters/' in frame.replace(" ", "")

    answered = crawler.submit_forms(skip=("/logout",))
    assert f"{PREFIX}/crew/clusters/{cluster_id}/status" in answered
    if role == "admin":
        assert {
            f"{PREFIX}/crew/shelters/status",
            f"{PREFIX}/crew/shelters/clear",
            f"{PREFIX}/crew/alerts/preview",
            f"{PREFIX}/crew/clusters/{cluster_id}/merge",
        } <= set(answered)
    # A form left empty may be refused (400, 403, 422), but every one reaches its route.
    assert [action for action, status in answered.items() if status == 404] == []


def test_crew_map_and_chat_in_chromium_under_the_prefix(
    prefixed: Prefixed, chromium: Browser
) -> None:
    cluster_id = off_loop(lambda: _file(prefixed, "graffiti", TABATA))
    context: BrowserContext = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="ja-JP"
    )
    context.set_default_timeout(TIMEOUT_MS)
    requested: list[str] = []
    problems: list[str] = []

    def failed(response: Any) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    def watch(page: Page) -> None:
        page.on("console", lambda msg: console_error(msg, problems))
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("response", failed)

    context.on("page", watch)
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        log_in(page, prefixed.app, "sato")
        # Only the cluster seeded here (the crawl tests filed and changed others).
        page.goto(f"{prefixed.app.url}/crew/map?category=graffiti")
        frame = page.frame_locator("iframe.crew-map")
        frame.locator(f'.crew-badge[title="{category_label(prefixed.app, "graffiti")}"]').click()
        link = frame.locator(".leaflet-popup-content a")
        # The case link carries the map's filter, for the way back.
        case = f"{PREFIX}/crew/clusters/{cluster_id}?map=category%3Dgraffiti"
        expect(link).to_have_attribute("href", case)
        link.click()
        page.wait_for_url(prefixed.origin + case)
        expect(page.get_by_role("link", name="地図に戻る")).to_have_attribute(
            "href", f"{PREFIX}/crew/map?category=graffiti"
        )
        expect(page.locator("img").first).to_be_visible()

        chat = context.new_page()
        chat.goto(prefixed.app.url + "/sandbox")
        expect(chat.locator("#sb-chat .sb-note")).to_contain_text("新しい会話")
        chat.fill("#sb-text", "避難所")
        chat.click("#sb-send")
        answer = chat.locator(".sb-row-bot .line-bubble-bot").last
        expect(answer).to_contain_text("位置情報を送る")
        chat.locator("#sb-quick .sb-chip", has_text="位置情報を送る").click()
        expect(chat.locator("#sb-map .leaflet-interactive").first).to_be_attached()
        with chat.expect_response(lambda r: "/sandbox/deliveries" in r.url) as polled:
            pass
        assert polled.value.status == 200
    finally:
        context.close()
    assert problems == [], problems
    outside = [
        url
        for url in requested
        if not url.startswith((prefixed.app.url + "/", "data:", "blob:", "about:"))
    ]
    assert outside == []
    assert any(url.startswith(f"{prefixed.app.url}/sandbox/say") for url in requested)
    assert any(url.endswith(f"{PREFIX}/assets/crewmap.js") for url in requested)
