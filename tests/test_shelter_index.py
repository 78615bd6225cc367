"""Finding one's shelters without JavaScript: the town index (町名), the open-only view and the
towns nearby, on the public page (`/shelters`) and the crew's board (`/crew/shelters`), and
the public page's "near me" link to the LINE account. Real Kita-ku sites, over HTTP.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gis import shelter_status
from gis.shelter_status import ShelterStatus
from gis.towns import nearest_towns, town_of
from service.app import create_app
from service.sandbox import LinePlatformStandIn
from service.settings import DataSettings, LineSettings
from tests.utils.app import TEST_SECRET, TEST_TOKEN, RunningApp, make_settings
from tests.utils.crew import logged_in
from tests.utils.database import in_transaction
from tests.utils.servers import serve

OLD_JUJODAI_ES = "E1311700125201"  # 旧十条台小学校, 中十条1-5-6
JUJO_ES = "E1311700120201"  # 区立十条小学校, 中十条3-1-6
FUREAI = "E1311700171201"  # 十条台ふれあい館, 中十条1-2-18
FUJIMI_JHS = "E1311700155201"  # 区立十条富士見中学校, 十条台1-9-33
UKIMA_ES = "E1311700138201"  # 区立浮間小学校, 浮間3-4-27
FRIEND_URL = "https://lin.ee/civic-test"


def _set(url: str, ids: list[str], status: ShelterStatus) -> None:
    in_transaction(url, lambda c: shelter_status.set_status(c, ids, status, actor="test"))


def _names(page: str, list_class: str = "sites") -> list[str]:
    """The site names of the public page's list, in order."""
    listed = re.search(rf'<ul class="{list_class}">(.*?)</ul>', page, re.S)
    assert listed, page
    return re.findall(r'<h3 class="site-name">(.*?)</h3>', listed.group(1))


def _links(page: str, css: str) -> list[str]:
    """The texts of the links in the list of class `css` (a town index), tags stripped."""
    listed = re.search(rf'<(?:ul|details) class="{css}"[^>]*>(.*?)</(?:ul|details)>', page, re.S)
    assert listed, page
    found = re.findall(r"<a [^>]*>(.*?)</a>", listed.group(1), re.S)
    return [
        html.unescape(re.sub(r"<small>.*?</small>|<[^>]+>", "", text)).strip() for text in found
    ]


def test_a_town_is_the_address_up_to_its_number() -> None:
    kita = "東京都北区"
    assert town_of("東京都北区中十条1-5-6", kita) == "中十条"
    assert town_of("東京都北区十条台1-9-33", kita) == "十条台"  # a numeral-like kanji first
    assert town_of("東京都北区田端新町2-27-17", kita) == "田端新町"
    assert town_of("東京都北区田端五丁目3番", kita) == "田端"
    assert town_of("東京都北区岩淵町６-６", kita) == "岩淵町"
    positions = {
        "a": [(139.70, 35.75)],
        "b": [(139.80, 35.75), (139.71, 35.75)],  # one of b's sites is next to a's
        "c": [(139.75, 35.75)],
    }
    assert nearest_towns(positions, "a", 2) == ["b", "c"]
    assert nearest_towns(positions, "nowhere", 2) == []


def test_the_public_page_finds_a_town_and_its_open_sites(running_app: RunningApp) -> None:
    url = running_app.database_url
    _set(url, [OLD_JUJODAI_ES, UKIMA_ES], ShelterStatus.OPEN)
    _set(url, [JUJO_ES], ShelterStatus.FULL)
    with httpx.Client(base_url=running_app.url, trust_env=False) as client:
        everything = client.get("/shelters").text
        town = client.get("/shelters", params={"town": "中十条"}).text
        opened = client.get("/shelters", params={"open": "1"}).text
        town_opened = client.get("/shelters", params={"town": "中十条", "open": "1"}).text
        unknown = client.get("/shelters", params={"town": "銀座"})
        odd = client.get("/shelters", params={"open": "yes please", "town": ""})

    assert "<script" not in everything + town + opened
    assert len(_names(everything)) == 58
    index = _links(everything, "towns")
    assert len(index) == 26 and "中十条" in index and "浮間" in index
    assert 'href="/shelters?town=%E4%B8%AD%E5%8D%81%E6%9D%A1"' in everything  # 中十条
    assert 'href="/shelters?open=1" id="open-only"' in everything

    # A town: its three sites, open first, and the towns nearest it to look at next.
    assert _names(town) == ["旧十条台小学校", "区立十条小学校", "十条台ふれあい館"]
    assert "中十条の避難場所" in town
    nearby = _links(town, "towns nearby")
    assert len(nearby) == 4 and "十条台" in nearby and "浮間" not in nearby
    assert 'href="/shelters?town=%E4%B8%AD%E5%8D%81%E6%9D%A1&amp;open=1" id="open-only"' in town

    assert _names(opened) == ["旧十条台小学校", "区立浮間小学校"]
    assert _names(town_opened) == ["旧十条台小学校"]
    # The open-only index counts the open sites; the link back shows all of the town's.
    assert 'href="/shelters?town=%E4%B8%AD%E5%8D%81%E6%9D%A1" id="show-all"' in town_opened

    assert unknown.status_code == 200
    assert "銀座には指定された避難場所がありません" in unknown.text
    assert _names(unknown.text) == []
    assert (odd.status_code, len(_names(odd.text))) == (200, 58)  # a stray value is no error


@pytest.fixture
def friendly_app(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    tmp_path: Path,
) -> Iterator[RunningApp]:
    """The service with its LINE account's add-friend link configured."""
    line = LineSettings(
        LINE_CHANNEL_SECRET=TEST_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=TEST_TOKEN,
        LINE_API_URL=standin_server[1],
        LINE_DATA_API_URL=standin_server[1],
        LINE_FRIEND_URL=FRIEND_URL,
    )
    data = DataSettings(PHOTO_DIR=tmp_path / "photos")
    settings = make_settings(kita_url, standin_server[1], line=line, data=data)
    with serve(create_app(settings)) as url:
        yield RunningApp(url=url, settings=settings)


def test_near_me_is_the_line_account_where_one_is_configured(
    running_app: RunningApp, friendly_app: RunningApp
) -> None:
    with httpx.Client(trust_env=False) as client:
        without = client.get(running_app.url + "/shelters").text
        page = client.get(friendly_app.url + "/shelters").text
    assert 'id="near-me"' not in without  # no account to send a location to
    assert re.search(
        rf'<a [^>]*id="near-me" href="{re.escape(FRIEND_URL)}">LINEで現在地を送る', page
    )


def _row_ids(page: str) -> list[str]:
    return re.findall(r'<tr id="site-([^"]+)">', page)


def test_the_board_has_the_same_index_and_keeps_its_view_after_a_change(
    running_app: RunningApp, browsers: Any
) -> None:
    url = running_app.database_url
    _set(url, [OLD_JUJODAI_ES], ShelterStatus.OPEN)
    crew = logged_in(running_app, browsers(), "tanaka", "crew")
    board = crew.get("/crew/shelters", params={"town": "中十条"}).text
    assert sorted(_row_ids(board)) == sorted([OLD_JUJODAI_ES, JUJO_ES, FUREAI])
    assert "十条台" in _links(board, "towns")
    assert _row_ids(crew.get("/crew/shelters", params={"open": "1"}).text) == [OLD_JUJODAI_ES]
    assert "status-form" not in board and "end-form" not in board  # crew members only look

    admin = logged_in(running_app, browsers(), "suzuki", "admin")
    page = admin.get("/crew/shelters", params={"town": "中十条"}).text
    # The end of the disaster comes last on the page, folded, behind its confirmation.
    assert page.index('id="sites"') < page.index('id="status-form"') < page.index('id="end-form"')
    assert re.search(r'<details id="end">\s*<summary>災害を終了する…', page)
    token = admin.csrf_token("/crew/shelters")
    form = {"csrf_token": token, "status": "full", "ids": [JUJO_ES], "view_town": "中十条"}
    done = admin.post("/crew/shelters/status", data=form)
    location = done.headers["location"]
    assert (done.status_code, location) == (
        303,
        "/crew/shelters?town=%E4%B8%AD%E5%8D%81%E6%9D%A1&changed=1",
    )
    shown = admin.get(location).text
    assert sorted(_row_ids(shown)) == sorted([OLD_JUJODAI_ES, JUJO_ES, FUREAI])
    assert "1か所の状況を変更しました" in shown
    assert FUJIMI_JHS not in _row_ids(shown)
