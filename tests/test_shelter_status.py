"""Shelter status in a disaster, on the real Kita-ku sites: `civic shelter`, the crew page,
the LINE location answer (over the stand-in) and the public page and GeoJSON."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis import shelter_status
from gis.hazards import ShelterHazard
from gis.nearby import AreaCheck, NearbySite
from gis.shelter_status import ShelterStatus
from service import sandbox
from service.line import messages
from service.localtime import JST
from service.sandbox import LinePlatformStandIn, WebhookSender, message_errors
from tests.utils.app import TEST_SECRET, RunningApp
from tests.utils.cli import civic
from tests.utils.crew import logged_in
from tests.utils.database import in_transaction

RESIDENT_JA = "U" + "a" * 32
RESIDENT_EN = "U" + "b" * 32
ACTOR = "admin-yamada"
JUJO = (35.7550, 139.7250)  # 十条 (lat, lon): the nearest site is 区立十条富士見中学校
FUJIMI_JHS = "E1311700155201"  # 区立十条富士見中学校, 304 m from JUJO, not for floods
OLD_JUJODAI_ES = "E1311700125201"  # 旧十条台小学校, 610 m, not for floods
OLD_FUJIMI_JHS = "E1311700034201"  # 旧富士見中学校, 861 m, designated for floods
# The sites whose address is in 田端 (not 東田端 nor 田端新町).
# 区立田端小学校 and 旧田端中学校 are also designated for floods; 区立田端中学校 is not.
TABATA_IDS = {"E1311700150201", "E1311700154201", "E1311700163201"}
TABATA_FLOOD_IDS = {"E1311700150201", "E1311700163201"}


def _statuses(url: str) -> dict[str, tuple[str, str, str]]:
    """common_id -> (status, note, updated_by) of every site with a status."""

    async def work(conn: AsyncConnection) -> dict[str, tuple[str, str, str]]:
        rows = await conn.execute(
            text("SELECT common_id, status, note, updated_by FROM shelter_status")
        )
        return {row.common_id: (row.status, row.note, row.updated_by) for row in rows}

    return in_transaction(url, work)


def _log(url: str) -> list[tuple[str, str, str]]:
    """(common_id, status, actor) of every logged change, in order."""

    async def work(conn: AsyncConnection) -> list[tuple[str, str, str]]:
        rows = await conn.execute(
            text("SELECT common_id, status, actor FROM shelter_status_log ORDER BY id")
        )
        return [(row.common_id, row.status, row.actor) for row in rows]

    return in_transaction(url, work)


def _ids_for(url: str, hazard: ShelterHazard) -> set[str]:
    async def work(conn: AsyncConnection) -> set[str]:
        rows = await conn.execute(
            text("SELECT common_id FROM shelters WHERE active AND :h = ANY(hazards)"),
            {"h": str(hazard)},
        )
        return {row.common_id for row in rows}

    return in_transaction(url, work)


def _set(url: str, ids: list[str], status: ShelterStatus, note: str = "") -> None:
    in_transaction(
        url, lambda conn: shelter_status.set_status(conn, ids, status, actor=ACTOR, note=note)
    )


def _declare(url: str, hazard: ShelterHazard) -> None:
    in_transaction(url, lambda conn: shelter_status.declare_hazard(conn, hazard, actor=ACTOR))


def _hhmm(url: str, common_id: str) -> str:
    async def work(conn: AsyncConnection) -> datetime:
        at: datetime = await conn.scalar(
            text("SELECT updated_at FROM shelter_status WHERE common_id = :id"), {"id": common_id}
        )
        return at

    return in_transaction(url, work).astimezone(JST).strftime("%H:%M")


def test_cli_sets_status_logs_it_and_lists_it(kita_url: str) -> None:
    done = civic(
        kita_url, "shelter", "open", FUJIMI_JHS, OLD_JUJODAI_ES, "--note", "体育館", "--by", "sato"
    )
    assert done.returncode == 0, done.stderr
    assert "2 sites are now open" in done.stdout
    assert _statuses(kita_url) == {
        FUJIMI_JHS: ("open", "体育館", "sato"),
        OLD_JUJODAI_ES: ("open", "体育館", "sato"),
    }
    assert _log(kita_url) == [(FUJIMI_JHS, "open", "sato"), (OLD_JUJODAI_ES, "open", "sato")]

    assert civic(kita_url, "shelter", "hazard", "flood").returncode == 0
    listed = civic(kita_url, "shelter", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("active hazard: flood (declared ")
    line = next(li for li in listed.stdout.splitlines() if li.startswith(FUJIMI_JHS))
    assert re.search(r"open +\d{4}-\d\d-\d\d \d\d:\d\d +区立十条富士見中学校 +体育館", line)
    unset = next(li for li in listed.stdout.splitlines() if li.startswith(OLD_FUJIMI_JHS))
    assert re.match(rf"{OLD_FUJIMI_JHS} +- +- +旧富士見中学校", unset)


def test_cli_bulk_by_hazard_and_by_area(kita_url: str, tmp_path: Path) -> None:
    landslide = _ids_for(kita_url, ShelterHazard.LANDSLIDE)
    assert len(landslide) == 9  # the real Kita-ku designation
    done = civic(kita_url, "shelter", "full", "--hazard", "landslide", "--by", "sato")
    assert done.returncode == 0, done.stderr
    assert set(_statuses(kita_url)) == landslide
    assert {status for status, _, _ in _statuses(kita_url).values()} == {"full"}
    assert sorted(_log(kita_url)) == sorted((i, "full", "sato") for i in landslide)

    # A synthetic area: a small square around 区立十条富士見中学校 (139.723175, 35.757298).
    square = [[139.722, 35.756], [139.724, 35.756], [139.724, 35.758], [139.722, 35.758]]
    area = tmp_path / "area.geojson"
    polygon = {"type": "Polygon", "coordinates": [[*square, square[0]]]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    inside = civic(kita_url, "shelter", "close", "--within", str(area))
    assert inside.returncode == 0, inside.stderr
    assert _statuses(kita_url)[FUJIMI_JHS][0] == "closed"
    assert len(_statuses(kita_url)) == len(landslide) + 1
    none = civic(kita_url, "shelter", "close", "--within", str(area), "--hazard", "flood")
    assert none.returncode == 1
    assert "no active site designated for flood and inside the area" in none.stderr


def test_cli_refuses_unknown_ids_and_changes_nothing(kita_url: str) -> None:
    done = civic(kita_url, "shelter", "close", FUJIMI_JHS, "E13117XXXXX", "--hazard", "flood")
    assert done.returncode == 1
    assert "no active site with ID: E13117XXXXX; nothing was changed" in done.stderr
    assert _statuses(kita_url) == {}
    assert _log(kita_url) == []
    nothing = civic(kita_url, "shelter", "close")
    assert nothing.returncode == 1
    assert "no site given" in nothing.stderr
    wrong = civic(kita_url, "shelter", "hazard", "floods")
    assert wrong.returncode == 1
    assert "unknown hazard 'floods'" in wrong.stderr and "landslide" in wrong.stderr


def test_town_selection_takes_the_town_but_not_its_namesakes(kita_url: str) -> None:
    async def work(conn: AsyncConnection) -> tuple[list[str], list[str]]:
        tabata = await shelter_status.select_ids(conn, town="田端")
        flood_in_tabata = await shelter_status.select_ids(
            conn, town="田端", hazard=ShelterHazard.FLOOD
        )
        return tabata, flood_in_tabata

    tabata, flood_in_tabata = in_transaction(kita_url, work)
    assert set(tabata) == TABATA_IDS
    assert set(flood_in_tabata) == TABATA_FLOOD_IDS


def _residents(app: RunningApp, standin: LinePlatformStandIn) -> WebhookSender:
    """A Japanese and an English resident in LINE, and the webhook their events come by."""
    standin.add_user(RESIDENT_JA, language="ja")
    standin.add_user(RESIDENT_EN, language="en")
    return WebhookSender(app.webhook_url, TEST_SECRET)


def _ask(
    sender: WebhookSender, standin: LinePlatformStandIn, user: str, lat: float, lon: float
) -> list[dict[str, Any]]:
    before = len(standin.delivered(user))
    assert sender.send([sandbox.location_event(standin, user, lat, lon)]).status_code == 200
    return standin.wait_for_deliveries(before + 1, user)[before].messages


def _bubble_texts(bubble: dict[str, Any]) -> list[str]:
    return [c["text"] for c in bubble["body"]["contents"] if c["type"] == "text"]


def test_location_answer_offers_open_suited_sites_first_and_names_the_full_one(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    sender = _residents(running_app, standin)
    _declare(url, ShelterHazard.FLOOD)
    _set(url, [FUJIMI_JHS], ShelterStatus.FULL, note="第二体育館へ")
    _set(url, [OLD_JUJODAI_ES, OLD_FUJIMI_JHS], ShelterStatus.OPEN)
    full_at, open_at = _hhmm(url, FUJIMI_JHS), _hhmm(url, OLD_FUJIMI_JHS)

    summary, carousel = _ask(sender, standin, RESIDENT_JA, *JUJO)[:2]
    assert "⚠ 現在の災害: 洪水。開設中で洪水に対応する避難場所を先に表示します。" in (
        summary["text"].splitlines()
    )
    assert f"⚠ 区立十条富士見中学校は満員です（更新 {full_at}） 第二体育館へ" in summary["text"]
    names = [_bubble_texts(b)[0] for b in carousel["contents"]["contents"]]
    # The open flood site (861 m) first, the other open site next, then sites without a
    # status, flood-designated first; the full nearest site is pushed out of the five.
    assert names[:2] == ["旧富士見中学校（学校法人帝京大学）", "旧十条台小学校"]
    assert "区立十条富士見中学校" not in names
    first = _bubble_texts(carousel["contents"]["contents"][0])
    assert first[2] == f"開設中・更新 {open_at}"
    third = _bubble_texts(carousel["contents"]["contents"][2])
    assert "洪水" in third[2] and "開設中" not in " ".join(third)

    english = _ask(sender, standin, RESIDENT_EN, *JUJO)[0]["text"]
    assert "⚠ Declared disaster: Flood. Open sites designated for it are listed first." in (
        english.splitlines()
    )
    assert f"区立十条富士見中学校 is full (updated {full_at})" in english


def _site_items(page: str) -> list[str]:
    """The public page's list of sites, item by item."""
    listed = re.search(r'<ul class="sites">(.*?)</ul>', page, re.S)
    assert listed, page
    return re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)


def test_public_page_and_geojson_show_status_without_login(running_app: RunningApp) -> None:
    url = running_app.database_url
    _declare(url, ShelterHazard.EARTHQUAKE)
    _set(url, [OLD_JUJODAI_ES], ShelterStatus.OPEN, note="ペット可")
    _set(url, [FUJIMI_JHS], ShelterStatus.CLOSED)
    with httpx.Client(base_url=running_app.url, trust_env=False) as client:
        page = client.get("/shelters")
        data = client.get("/shelters.geojson")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "public, max-age=30"
    assert "<script" not in page.text
    assert "現在の災害: 地震" in page.text
    items = _site_items(page.text)
    assert "旧十条台小学校" in items[0] and "開設中" in items[0] and "ペット可" in items[0]
    assert "区立十条富士見中学校" in items[1] and "閉鎖" in items[1]
    assert "更新" in items[0] and _hhmm(url, OLD_JUJODAI_ES) in items[0]
    assert ACTOR not in page.text  # who changed a status is not published

    assert data.status_code == 200
    assert data.headers["content-type"] == "application/geo+json"
    assert data.headers["access-control-allow-origin"] == "*"
    collection = json.loads(data.content)
    assert collection["type"] == "FeatureCollection"
    assert collection["active_hazard"] == "earthquake"
    assert len(collection["features"]) == 58
    by_id = {f["properties"]["common_id"]: f for f in collection["features"]}
    opened = by_id[OLD_JUJODAI_ES]
    assert opened["properties"]["status"] == "open"
    assert opened["properties"]["note"] == "ペット可"
    assert opened["properties"]["hazards"] == ["earthquake"]
    assert datetime.fromisoformat(opened["properties"]["updated_at"]).utcoffset() is not None
    lon, lat = opened["geometry"]["coordinates"]
    assert 139.7 < lon < 139.75 and 35.74 < lat < 35.77
    assert by_id[OLD_FUJIMI_JHS]["properties"]["status"] is None
    assert by_id[OLD_FUJIMI_JHS]["properties"]["updated_at"] is None


def test_crew_may_look_but_only_admins_change_and_with_a_form_token(
    running_app: RunningApp, browsers: Any
) -> None:
    url = running_app.database_url
    crew = logged_in(running_app, browsers(), "tanaka", "crew")
    page = crew.get("/crew/shelters")
    assert page.status_code == 200
    assert "区立十条富士見中学校" in page.text and 'name="ids"' not in page.text
    token = crew.csrf_token("/crew/shelters")
    form = {"csrf_token": token, "status": "open", "ids": [FUJIMI_JHS]}
    assert crew.post("/crew/shelters/status", data=form).status_code == 403

    admin = logged_in(running_app, browsers(), "suzuki", "admin")
    no_token = {"status": "open", "ids": [FUJIMI_JHS]}
    assert admin.post("/crew/shelters/status", data=no_token).status_code == 403
    assert _statuses(url) == {}

    token = admin.csrf_token("/crew/shelters")
    wrong = admin.post(
        "/crew/shelters/status",
        data={"csrf_token": token, "status": "full", "ids": [FUJIMI_JHS, "E13117NOPE"]},
    )
    assert wrong.status_code == 400
    assert "E13117NOPE" in wrong.text
    assert _statuses(url) == {}

    chosen = {"csrf_token": token, "status": "full", "note": "満員です", "town": "田端"}
    done = admin.post("/crew/shelters/status", data={**chosen, "ids": [FUJIMI_JHS]})
    assert (done.status_code, done.headers["location"]) == (303, "/crew/shelters?changed=4")
    expected = {i: ("full", "満員です", "crew:suzuki") for i in {*TABATA_IDS, FUJIMI_JHS}}
    assert _statuses(url) == expected
    assert sorted(_log(url)) == sorted((i, "full", "crew:suzuki") for i in expected)

    declared = admin.post("/crew/shelters/hazard", data={"csrf_token": token, "hazard": "flood"})
    assert declared.status_code == 303
    shown = crew.get("/crew/shelters").text
    row = re.search(rf'<tr id="site-{FUJIMI_JHS}">(.*?)</tr>', shown, re.S)
    assert row and "満員" in row.group(1) and "crew:suzuki" in row.group(1)
    assert re.search(r'<p id="declared"><strong>洪水</strong>', shown)


def test_status_answer_fits_line_limits_with_long_notes() -> None:
    """Synthetic sites (not real data): every one full, with a note of the longest kind."""
    site = NearbySite(
        common_id="E1311799999201",
        name="とても長い名前の指定緊急避難場所" * 3,
        address="東京都北区王子本町一丁目十五番二十二号",
        lon=139.73,
        lat=35.75,
        hazards=frozenset(ShelterHazard),
        is_emergency_site=True,
        is_shelter=True,
        distance_m=300.0,
        status=ShelterStatus.FULL,
        status_note="満" * shelter_status.NOTE_MAX,
        status_updated_at=datetime(2024, 1, 1, 5, 7, tzinfo=JST),
    )
    answer = messages.LocationAnswer(
        lon=139.73,
        lat=35.75,
        area=AreaCheck(inside=True, area_name="東京都北区", distance_m=0.0),
        hazards=[],
        loaded_kinds=[],
        faced=[],
        sites=[site] * 14,
        without_site=[],
        active_hazard=ShelterHazard.EARTHQUAKE,
        unavailable=[site] * 14,
    )
    texts = messages.AnswerTexts(walking_metres_per_minute=80, hazard_map_url="https://e.org/")
    for lang in ("ja", "en"):
        built = messages.location_answer(answer, lang, texts)
        assert message_errors(json.loads(json.dumps(built))) == []
        assert len(built[1]["contents"]["contents"]) == messages.CAROUSEL_MAX_BUBBLES
        badge = _bubble_texts(built[1]["contents"]["contents"][0])[2]
        assert badge == ("満員・更新 1/1 05:07" if lang == "ja" else "Full · updated 1/1 05:07")


def _geojson_statuses(app: RunningApp) -> dict[str, str | None]:
    """common_id -> status of every site in the public GeoJSON."""
    with httpx.Client(base_url=app.url, trust_env=False) as client:
        collection = client.get("/shelters.geojson").json()
    return {f["properties"]["common_id"]: f["properties"]["status"] for f in collection["features"]}


def _declarations(url: str) -> list[tuple[str | None, str]]:
    """(hazard, actor) of every logged hazard declaration, in order."""

    async def work(conn: AsyncConnection) -> list[tuple[str | None, str]]:
        rows = await conn.execute(text("SELECT hazard, actor FROM hazard_declarations ORDER BY id"))
        return [(row.hazard, row.actor) for row in rows]

    return in_transaction(url, work)


def _active(url: str) -> shelter_status.ActiveHazard | None:
    return in_transaction(url, shelter_status.active_hazard)


def test_cli_clear_by_id_and_all_removes_the_badges_and_logs_it(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    standin.add_user(RESIDENT_JA, language="ja")
    sender = WebhookSender(running_app.webhook_url, TEST_SECRET)
    _set(url, [FUJIMI_JHS], ShelterStatus.FULL, note="第二体育館へ")
    _set(url, [OLD_JUJODAI_ES], ShelterStatus.OPEN)
    _set(url, [OLD_FUJIMI_JHS], ShelterStatus.CLOSED)
    assert "区立十条富士見中学校は満員です" in _ask(sender, standin, RESIDENT_JA, *JUJO)[0]["text"]

    done = civic(url, "shelter", "clear", FUJIMI_JHS, OLD_FUJIMI_JHS, "--by", "sato")
    assert done.returncode == 0, done.stderr
    assert f"2 sites cleared (no status): {FUJIMI_JHS}, {OLD_FUJIMI_JHS}" in done.stdout
    assert _statuses(url) == {OLD_JUJODAI_ES: ("open", "", ACTOR)}
    assert _log(url)[-2:] == [(FUJIMI_JHS, "cleared", "sato"), (OLD_FUJIMI_JHS, "cleared", "sato")]
    summary, carousel = _ask(sender, standin, RESIDENT_JA, *JUJO)[:2]
    assert "満員" not in summary["text"] and "閉鎖" not in summary["text"]
    bubbles = {_bubble_texts(b)[0]: _bubble_texts(b) for b in carousel["contents"]["contents"]}
    # The nearest site is back in the answer, with no badge: as before the disaster.
    assert not any("満員" in t or "閉鎖" in t for t in bubbles["区立十条富士見中学校"])
    geojson = _geojson_statuses(running_app)
    assert (geojson[FUJIMI_JHS], geojson[OLD_FUJIMI_JHS], geojson[OLD_JUJODAI_ES]) == (
        None,
        None,
        "open",
    )

    mixed = civic(url, "shelter", "clear", "--all", FUJIMI_JHS)
    assert mixed.returncode == 1 and "--all takes every site" in mixed.stderr
    wrong = civic(url, "shelter", "clear", OLD_JUJODAI_ES, "E13117NOPE")
    assert wrong.returncode == 1
    assert "no active site with ID: E13117NOPE; nothing was changed" in wrong.stderr
    assert set(_statuses(url)) == {OLD_JUJODAI_ES}

    _declare(url, ShelterHazard.FLOOD)
    everything = civic(url, "shelter", "clear", "--all", "--by", "ito")
    assert everything.returncode == 0, everything.stderr
    assert f"1 site cleared (no status): {OLD_JUJODAI_ES}" in everything.stdout
    assert "the declared hazard (flood) has ended" in everything.stdout
    assert _statuses(url) == {}
    assert _log(url)[-1] == (OLD_JUJODAI_ES, "cleared", "ito")
    assert set(_geojson_statuses(running_app).values()) == {None}


def test_crew_clears_a_selection_and_ends_the_disaster_with_confirmation(
    running_app: RunningApp, browsers: Any
) -> None:
    url = running_app.database_url
    admin = logged_in(running_app, browsers(), "suzuki", "admin")
    token = admin.csrf_token("/crew/shelters")
    declared = admin.post("/crew/shelters/hazard", data={"csrf_token": token, "hazard": "flood"})
    assert declared.status_code == 303
    _set(url, [FUJIMI_JHS, *TABATA_IDS], ShelterStatus.OPEN)

    # The status form's "clear" button: the ticked site and the flood sites in 田端.
    picked = {"csrf_token": token, "ids": [FUJIMI_JHS], "town": "田端", "hazard": "flood"}
    cleared = admin.post("/crew/shelters/clear", data=picked)
    assert (cleared.status_code, cleared.headers["location"]) == (303, "/crew/shelters?cleared=3")
    assert set(_statuses(url)) == TABATA_IDS - TABATA_FLOOD_IDS
    page = admin.get("/crew/shelters?cleared=3").text
    assert "3か所の状況を取り消しました" in page
    row = re.search(rf'<tr id="site-{FUJIMI_JHS}">(.*?)</tr>', page, re.S)
    assert row and "未設定" in row.group(1)

    crew = logged_in(running_app, browsers(), "tanaka", "crew")
    crew_form = {"csrf_token": crew.csrf_token("/crew/shelters"), "confirm": "yes"}
    assert crew.post("/crew/shelters/end", data=crew_form).status_code == 403
    assert admin.post("/crew/shelters/end", data={"confirm": "yes"}).status_code == 403
    unconfirmed = admin.post("/crew/shelters/end", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "確認のチェックを入れてください" in unconfirmed.text
    assert _active(url) is not None and len(_statuses(url)) == 1

    ended = admin.post("/crew/shelters/end", data={"csrf_token": token, "confirm": "yes"})
    assert (ended.status_code, ended.headers["location"]) == (303, "/crew/shelters?cleared=1")
    assert _statuses(url) == {}
    assert _active(url) is None
    assert _log(url)[-1][1:] == ("cleared", "crew:suzuki")
    assert _declarations(url) == [("flood", "crew:suzuki"), (None, "crew:suzuki")]
    shown = crew.get("/crew/shelters").text
    assert re.search(r'<p id="declared">なし（平常時）', shown)
    history = re.search(r'<table id="declarations">(.*?)</table>', shown, re.S)
    assert history
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", history.group(1))
    assert [(what.split(" ")[0], who) for _, what, who in rows] == [
        ("終了", "crew:suzuki"),
        ("洪水", "crew:suzuki"),
    ]
    assert set(_geojson_statuses(running_app).values()) == {None}


def test_hazard_declarations_are_logged_and_history_merges_them_by_time(kita_url: str) -> None:
    _declare(kita_url, ShelterHazard.FLOOD)
    _set(kita_url, [FUJIMI_JHS], ShelterStatus.OPEN, note="体育館")
    in_transaction(
        kita_url, lambda conn: shelter_status.clear_status(conn, [FUJIMI_JHS], actor="ito")
    )
    ended = civic(kita_url, "shelter", "hazard", "none", "--by", "ito")
    assert ended.returncode == 0, ended.stderr
    assert "no active hazard (ended: flood)" in ended.stdout
    # Ending when nothing is declared changes nothing, so it records nothing.
    assert civic(kita_url, "shelter", "hazard", "none").returncode == 0
    assert _declarations(kita_url) == [("flood", ACTOR), (None, "ito")]

    async def first_at(conn: AsyncConnection) -> datetime:
        at: datetime = await conn.scalar(text("SELECT min(at) FROM hazard_declarations"))
        return at

    declared_at = in_transaction(kita_url, first_at).astimezone(JST).strftime("%Y-%m-%d %H:%M")
    history = civic(kita_url, "shelter", "history")
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert [re.sub(r"^\S+ \S+ +", "", line) for line in lines] == [
        f"hazard          flood         by {ACTOR}",
        f"{FUJIMI_JHS}  open          by {ACTOR}  区立十条富士見中学校  体育館",
        f"{FUJIMI_JHS}  cleared       by ito  区立十条富士見中学校",
        "hazard          ended         by ito",
    ]
    assert lines[0].startswith(declared_at)  # Japan time
    latest = civic(kita_url, "shelter", "history", "--limit", "2")
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.splitlines() == lines[-2:]


def _ended_records(url: str) -> tuple[list[tuple[str, str, str]], list[tuple[str | None, str]]]:
    """What ending the disaster logged: the 'cleared' site rows and the hazard's end rows."""
    cleared = [row for row in _log(url) if row[1] == shelter_status.CLEARED]
    ends = [row for row in _declarations(url) if row[0] is None]
    return cleared, ends


def _declared_line(summary: str) -> list[str]:
    starts = ("⚠ 現在の災害", "⚠ Declared")
    return [line for line in summary.splitlines() if line.startswith(starts)]


def test_ending_the_disaster_is_one_step_and_the_same_from_the_cli_and_the_crew_page(
    running_app: RunningApp, standin: LinePlatformStandIn, browsers: Any
) -> None:
    url = running_app.database_url
    sender = _residents(running_app, standin)
    opened = [FUJIMI_JHS, OLD_JUJODAI_ES, OLD_FUJIMI_JHS]

    def disaster() -> None:
        _declare(url, ShelterHazard.FLOOD)
        _set(url, opened, ShelterStatus.OPEN)
        summary = _ask(sender, standin, RESIDENT_JA, *JUJO)[0]["text"]
        assert _declared_line(summary) == [
            "⚠ 現在の災害: 洪水。開設中で洪水に対応する避難場所を先に表示します。"
        ]

    def ended_as_in_normal_times(actor: str) -> None:
        assert _statuses(url) == {}
        assert _active(url) is None
        cleared, ends = _ended_records(url)
        # Each site's clearing and the hazard's end recorded once, by whoever ended it.
        assert sorted(row for row in cleared if row[2] == actor) == sorted(
            (i, "cleared", actor) for i in opened
        )
        assert [end for end in ends if end[1] == actor] == [(None, actor)]
        answer = _ask(sender, standin, RESIDENT_JA, *JUJO)
        assert _declared_line(answer[0]["text"]) == []
        assert not any("開設中" in line for line in answer[0]["text"].splitlines())
        labels = [item["action"]["label"] for item in answer[-1]["quickReply"]["items"]]
        assert labels == ["位置情報を送る", "ここの不具合を通報"]

    disaster()
    done = civic(url, "shelter", "clear", "--all", "--by", "ito")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"3 sites cleared (no status): {', '.join(sorted(opened))}",
        "the declared hazard (flood) has ended",
    ]
    ended_as_in_normal_times("ito")

    disaster()
    admin = logged_in(running_app, browsers(), "suzuki", "admin")
    token = admin.csrf_token("/crew/shelters")
    ended = admin.post("/crew/shelters/end", data={"csrf_token": token, "confirm": "yes"})
    assert (ended.status_code, ended.headers["location"]) == (303, "/crew/shelters?cleared=3")
    ended_as_in_normal_times("crew:suzuki")

    # Ending again changes and records nothing more.
    again = civic(url, "shelter", "clear", "--all")
    assert again.stdout.splitlines() == ["no site had a status", "no hazard was declared"]
    assert len(_ended_records(url)[1]) == 2


def test_the_declared_hazard_promises_open_sites_only_when_one_is_open(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    sender = _residents(running_app, standin)
    _declare(url, ShelterHazard.FLOOD)
    # Declared, no site open yet; and a site open that is not designated for floods.
    _set(url, [FUJIMI_JHS], ShelterStatus.OPEN)
    answer = _ask(sender, standin, RESIDENT_JA, *JUJO)
    assert _declared_line(answer[0]["text"]) == [
        "⚠ 現在の災害: 洪水。この近くで洪水に対応する避難場所の開設は、まだ発表されていません。"
    ]
    english = _ask(sender, standin, RESIDENT_EN, *JUJO)[0]["text"]
    assert _declared_line(english) == [
        "⚠ Declared disaster: Flood. No site near here has been announced open for it yet."
    ]
    # In a declared disaster the answer offers no defect report.
    labels = [item["action"]["label"] for item in answer[-1]["quickReply"]["items"]]
    assert labels == ["位置情報を送る"]
    # Nor does the help.
    before = len(standin.delivered(RESIDENT_JA))
    sender.send([sandbox.text_event(standin, RESIDENT_JA, "こんにちは")])
    helped = standin.wait_for_deliveries(before + 1, RESIDENT_JA)[before].messages[0]
    assert helped["text"].splitlines() == [
        "位置情報を送ると、その場所でとる行動、災害の区域、近くの避難場所をお知らせします。",
        "「地域登録」で、登録した地域の防災情報などを受け取れます。",
    ]
    data = [item["action"].get("data") for item in helped["quickReply"]["items"]]
    assert "report=start" not in data
