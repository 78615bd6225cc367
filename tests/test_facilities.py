"""Nearby facilities: the standard-dataset reader (both layouts, both encodings, the known
defects), the loader, the nearest query, the LINE conversation through the stand-in, the crew
map layer and `civic load facilities`.

The fixtures are real layouts holding SYNTHETIC facilities (tests/fixtures/facilities/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from pyproj import Geod
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from gis import load, nearby
from gis.facilities import Dataset, FacilityCategory
from gis.sources.boundary import read_area_geojson
from gis.sources.errors import SourceError
from gis.sources.facilities import FacilityFile, normalise_city_code, read_facilities_csv
from service import sandbox
from service.crew import queries as crew_queries
from service.crew.map_page import facilities_data
from service.sandbox import Delivery, LinePlatformStandIn, WebhookSender
from service.settings import DataSettings
from tests.utils.app import TEST_SECRET, RunningApp
from tests.utils.cli import civic

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "facilities"
USER_JA = "U" + "7" * 32
USER_EN = "U" + "8" * 32
JUJO = (35.7550, 139.7250)  # lat, lon: 十条, among the synthetic AEDs
GEOD = Geod(ellps="WGS84")


def _read(name: str, **kwargs: Any) -> FacilityFile:
    return read_facilities_csv(FIXTURES / name, **kwargs)


def _by_name(read: FacilityFile) -> dict[str, Any]:
    return {record.name: record for record in read.records}


def _load(url: str, *names: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for name in names:
                load.load_facilities(conn, _read(name), name)
    finally:
        engine.dispose()


def _metres(lat: float, lon: float, record: Any) -> float:
    return float(GEOD.inv(lon, lat, record.lon, record.lat)[2])


# -- the reader ------------------------------------------------------------------------------


def test_older_public_layout_in_utf8_with_bom() -> None:
    read = _read("public_v1_utf8bom.csv")
    assert (FIXTURES / "public_v1_utf8bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert read.dataset is Dataset.PUBLIC_FACILITY
    assert read.layout.startswith("推奨データセット")
    found = _by_name(read)
    assert {name: r.category for name, r in found.items()} == {
        "みどり台図書館": FacilityCategory.LIBRARY,
        "さくら坂図書館": FacilityCategory.LIBRARY,
        "ひばり区民事務所": FacilityCategory.WARD_OFFICE,
        "ひばり区民センター": FacilityCategory.COMMUNITY_CENTRE,
        "かえで公園": FacilityCategory.PARK,
    }
    library = found["みどり台図書館"]
    assert (library.city_code, library.source_id) == ("13117", "1")
    assert library.kana == "ミドリダイトショカン"
    assert library.phone == "03-0000-0101"
    assert library.hours == "火水木金土日 9:00〜20:00（月曜日・年末年始は休館）"
    assert library.barrier_free == "車いす対応トイレ;エレベーター;点字案内"
    assert library.url == "https://example.jp/facility/library-midoridai"
    assert (library.lon, library.lat) == (139.7268, 35.7562)
    assert found["さくら坂図書館"].address == "東京都北区赤羽9-99-2 さくら坂ビル2階"
    assert read.skipped == [] and read.fixed == []


def test_newer_layout_in_shift_jis() -> None:
    raw = (FIXTURES / "public_v2_cp932.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    read = _read("public_v2_cp932.csv")
    assert read.layout == "自治体標準オープンデータセット"
    found = _by_name(read)
    office = found["なないろ区役所"]
    assert (office.source_id, office.category) == ("131172-0001", FacilityCategory.WARD_OFFICE)
    # 建物名等（方書）, full-width brackets and all, is found by name.
    assert office.address == "東京都北区王子本町9-99-1 第一庁舎"
    assert office.attributes["名称_英語"] == "Nanairo Ward Office"
    # No 所在地_連結表記: the address is put together from its parts.
    assert found["ほしぞら図書館"].address == "東京都北区滝野川9-99-2"
    assert read.present == {("13117", f"131172-000{n}") for n in (1, 2, 3)}


def test_aed_list_is_recognised_by_its_columns() -> None:
    read = _read("aed_v1.csv")
    assert read.dataset is Dataset.AED
    school = _by_name(read)["十条みらい小学校"]
    assert school.category is FacilityCategory.AED
    assert school.category_text == "体育館入口"
    assert school.hours == "月火水木金 8:00〜17:00（夜間・休日は校舎が閉まるため使用不可）"
    assert school.attributes["小児対応設備の有無"] == "有"


def test_medical_list_tells_hospitals_from_clinics() -> None:
    read = _read("medical_v1_utf8bom.csv")
    assert read.dataset is Dataset.MEDICAL
    assert {name: r.category for name, r in _by_name(read).items()} == {
        "きた中央病院": FacilityCategory.HOSPITAL,  # 医療機関の種類 病院
        "じゅうじょう内科": FacilityCategory.CLINIC,  # 無床診療所
        "あかばね産婦人科": FacilityCategory.CLINIC,  # 有床診療所, 12 beds
        "たきのがわ記念": FacilityCategory.HOSPITAL,  # no 種類, but 150 beds
        "みどり歯科クリニック": FacilityCategory.CLINIC,
    }
    hospital = _by_name(read)["きた中央病院"]
    assert hospital.hours == "月火水木金土 8:30〜17:00（救急は24時間受付）"
    assert hospital.attributes["診療科目"] == "内科;外科;小児科;整形外科"


def test_a_kind_given_against_the_columns_is_refused() -> None:
    with pytest.raises(SourceError, match="looks like AED設置箇所一覧"):
        _read("aed_v1.csv", kind=Dataset.MEDICAL)
    # Where the columns do not tell, the given kind decides.
    assert _read("public_v1_utf8bom.csv", kind=Dataset.AED).records[0].category == "aed"


def test_defects_are_fixed_or_skipped_and_reported() -> None:
    area = read_area_geojson(DataSettings().service_area).geometry
    read = _read("defects_v2.csv", area=area)
    found = _by_name(read)
    # Latitude and longitude swapped: put back, and said.
    swapped = found["あおぞら区民センター"]
    assert (swapped.lon, swapped.lat) == (139.7205, 35.7765)
    # The city code without its check digit is read as Kita-ku's.
    assert {r.city_code for r in read.records} == {"13117"}
    fixed = {(n.row, n.field): n.message for n in read.fixed}
    assert (
        "read as latitude 35.7765, longitude 139.7205 (in the service area)"
        in (fixed[(2, "緯度/経度")])
    )
    assert fixed[(1, "全国地方公共団体コード")] == "'13117' has no check digit: read as 13117"
    # Blank coordinates and a 0,0 placeholder: skipped, reported, never placed at 0,0.
    assert sorted(found) == ["あおぞら区民センター", "あかね図書館"]
    assert [(n.row, n.name) for n in read.skipped] == [(3, "うみかぜ図書館"), (4, "やまびこ出張所")]
    assert "blank" in read.skipped[0].message and "0,0" in read.skipped[1].message
    # Without a service area, Japan's bounds still tell the swap.
    assert _by_name(_read("defects_v2.csv"))["あおぞら区民センター"].lat == 35.7765


def test_city_codes_as_real_files_write_them() -> None:
    assert normalise_city_code("131172") == ("13117", None)
    assert normalise_city_code("１３１１７２") == ("13117", None)  # full-width digits
    assert normalise_city_code("13117")[0] == "13117"  # check digit dropped
    assert normalise_city_code("11002") == (
        "01100",
        "'11002' lost its leading zero: read as 011002",
    )
    assert normalise_city_code("1100")[0] == "01100"  # leading zero and check digit dropped
    with pytest.raises(ValueError, match="check digit does not match"):
        normalise_city_code("131171")
    # 11100 is さいたま市 without its check digit, or 011100 (札幌市清田区) without its zero:
    # the row's prefecture settles it, and without one the reader asks for 6 digits.
    with pytest.raises(ValueError, match="give 6 digits"):
        normalise_city_code("11100")
    assert normalise_city_code("11100", "埼玉県")[0] == "11100"
    assert normalise_city_code("11100", "北海道札幌市")[0] == "01110"


def test_a_bad_number_names_the_row_and_field() -> None:
    with pytest.raises(SourceError) as caught:
        _read("bad_number_v1.csv")
    assert (caught.value.feature, caught.value.field) == (2, "緯度")
    assert str(caught.value) == "bad_number_v1.csv: row 2, field 緯度: not a number: '35,7790'"


def test_a_repeated_id_is_refused(tmp_path: Path) -> None:
    lines = (FIXTURES / "public_v1_utf8bom.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[2] = lines[2].replace("131172,2,", "131172,1,", 1)
    path = tmp_path / "repeated.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SourceError, match="row 2, field NO: the same NO as row 1"):
        read_facilities_csv(path)


def test_categories_come_from_the_poi_code_else_from_how_the_name_ends() -> None:
    found = _by_name(_read("poi_codes_v2.csv"))
    assert {name: r.category for name, r in found.items()} == {
        "ほくと区役所前駅第一自転車駐車場": FacilityCategory.OTHER,  # POI 3732 駐輪場
        "ほくと区役所前駅第二自転車駐車場": FacilityCategory.OTHER,  # no code: ends 駐車場
        "ほくと保健所": FacilityCategory.HEALTH_CENTRE,
        "にじいろ健康福祉センター": FacilityCategory.HEALTH_CENTRE,
        "なかよし児童館": FacilityCategory.CHILDREN,
        "みなみ体育館": FacilityCategory.SPORTS,
        "さくらんぼ公園": FacilityCategory.PARK,
        "つばめ公園前自転車駐車場": FacilityCategory.OTHER,
        "ほくと区役所（第二庁舎）": FacilityCategory.WARD_OFFICE,
        "こもれび図書館": FacilityCategory.LIBRARY,
    }
    # The barrier-free columns are kept, after バリアフリー情報.
    assert found["みなみ体育館"].barrier_free == (
        "エレベーター;車椅子使用者用トイレあり;オストメイト設置トイレなし"
    )
    assert found["にじいろ健康福祉センター"].barrier_free == "車椅子使用者用トイレあり"


def test_a_file_cut_off_in_its_last_row_is_refused_naming_the_row(tmp_path: Path) -> None:
    whole = (FIXTURES / "aed_v1.csv").read_text(encoding="utf-8").rstrip("\n")
    last_row = len(whole.splitlines()) - 1
    cut = whole[: whole.rindex(",", 0, whole.rindex("\n") + 80)]  # inside the last row
    path = tmp_path / "aed_cut.csv"
    path.write_text(cut, encoding="utf-8")
    with pytest.raises(
        SourceError,
        match=f"aed_cut.csv: row {last_row}: has .* fields and the file ends without a newline",
    ):
        read_facilities_csv(path)
    # A short last row that ends with a newline is a spreadsheet's dropped empty cells.
    path.write_text(cut + "\n", encoding="utf-8")
    assert len(read_facilities_csv(path).records) == last_row


# -- the loader and the query ----------------------------------------------------------------


def _rows(engine: Engine) -> dict[str, tuple[str, bool]]:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT source_id, phone, active FROM facilities"))
        return {row.source_id: (row.phone, row.active) for row in found}


def test_loader_is_idempotent_updates_by_id_and_retires_what_is_gone(
    empty_engine: Engine,
) -> None:
    def load_file(name: str) -> load.LoadResult:
        with empty_engine.begin() as conn:
            return load.load_facilities(conn, _read(name), name)

    assert load_file("public_v2_cp932.csv") == load.LoadResult(inserted=3)
    assert load_file("public_v2_cp932.csv") == load.LoadResult(unchanged=3)
    newer = load_file("public_v2_cp932_newer.csv")
    assert newer == load.LoadResult(inserted=1, updated=1, unchanged=1, retired=1)
    assert _rows(empty_engine) == {
        "131172-0001": ("03-0000-0299", True),  # the newer phone number
        "131172-0002": ("03-0000-0202", False),  # gone from the newer list: kept, not offered
        "131172-0003": ("03-0000-0203", True),
        "131172-0004": ("03-0000-0204", True),
    }
    # Another dataset of the same city is not touched by this one's reload.
    load_file("aed_v1.csv")
    assert load_file("public_v2_cp932_newer.csv") == load.LoadResult(unchanged=3)
    with empty_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM facilities WHERE active")) == 10


def test_a_load_that_would_retire_too_much_stops_and_asks(kita_url: str, tmp_path: Path) -> None:
    assert civic(kita_url, "load", "facilities", str(FIXTURES / "poi_codes_v2.csv")).returncode == 0
    lines = (FIXTURES / "poi_codes_v2.csv").read_text(encoding="utf-8-sig").splitlines()
    fewer = tmp_path / "poi_codes_fewer.csv"
    fewer.write_text("\n".join(lines[:6]) + "\n", encoding="utf-8")  # 5 of the 10 rows
    refused = civic(kita_url, "load", "facilities", str(fewer))
    assert refused.returncode == 1
    assert "would retire 5 of the 10 facilities of city 13117" in refused.stderr
    assert "--allow-retire" in refused.stderr
    engine = create_engine(kita_url)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM facilities WHERE active")) == 10
    allowed = civic(kita_url, "load", "facilities", str(fewer), "--allow-retire")
    assert allowed.returncode == 0, allowed.stderr
    assert "5 retired" in allowed.stdout
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM facilities WHERE active")) == 5
    engine.dispose()


def _nearest(url: str, lat: float, lon: float, category: FacilityCategory, **kw: Any) -> Any:
    async def run() -> list[nearby.NearbyFacility]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await nearby.nearest_facilities(conn, lon, lat, category, 5, **kw)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_nearest_facilities_by_geodesic_distance(empty_url: str) -> None:
    _load(empty_url, "aed_v1.csv", "public_v1_utf8bom.csv", "medical_v1_utf8bom.csv")
    lat, lon = JUJO
    aeds = _read("aed_v1.csv").records
    expected = sorted(aeds, key=lambda record: _metres(lat, lon, record))[:5]
    found = _nearest(empty_url, lat, lon, FacilityCategory.AED)
    assert [f.name for f in found] == [r.name for r in expected]
    for facility, record in zip(found, expected, strict=True):
        assert facility.distance_m == pytest.approx(_metres(lat, lon, record), abs=0.01)
    # Only the kind asked for; and nothing beyond the distance given.
    libraries = _nearest(empty_url, lat, lon, FacilityCategory.LIBRARY)
    assert [f.name for f in libraries] == ["みどり台図書館", "さくら坂図書館"]
    near = _nearest(empty_url, lat, lon, FacilityCategory.LIBRARY, within_metres=1000)
    assert [f.name for f in near] == ["みどり台図書館"]


# -- the LINE conversation -------------------------------------------------------------------


@pytest.fixture
def sender(running_app: RunningApp, standin: LinePlatformStandIn) -> Iterator[WebhookSender]:
    standin.add_user(USER_JA, language="ja")
    standin.add_user(USER_EN, language="en")
    with WebhookSender(running_app.webhook_url, TEST_SECRET) as webhook:
        yield webhook


def _say(sender: WebhookSender, standin: LinePlatformStandIn, event: dict[str, Any]) -> Delivery:
    user = event["source"]["userId"]
    before = len(standin.delivered(user))
    assert sender.send([event]).status_code == 200
    return standin.wait_for_deliveries(before + 1, user)[before]


def _quick(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["action"] for item in message["quickReply"]["items"]]


def _bubbles(delivery: Delivery) -> list[dict[str, Any]]:
    flex = delivery.messages[-1]
    assert flex["type"] == "flex" and flex["contents"]["type"] == "carousel"
    return list(flex["contents"]["contents"])


def _texts(bubble: dict[str, Any]) -> list[str]:
    return [c["text"] for c in bubble["body"]["contents"]]


def _buttons(bubble: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["action"] for c in bubble["footer"]["contents"]]


def test_aed_word_asks_for_a_location_then_shows_the_nearest(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    _load(running_app.database_url, "aed_v1.csv")
    asked = _say(sender, standin, sandbox.text_event(standin, USER_JA, "ＡＥＤ"))
    assert "近くのAED" in asked.messages[0]["text"]
    assert _quick(asked.messages[0])[0]["type"] == "location"

    lat, lon = JUJO
    answer = _say(sender, standin, sandbox.location_event(standin, USER_JA, lat, lon))
    assert answer.via == "reply"
    assert answer.messages[0]["text"].startswith("■ 近くのAED（近い順）")
    expected = sorted(_read("aed_v1.csv").records, key=lambda r: _metres(lat, lon, r))[:5]
    bubbles = _bubbles(answer)
    assert [_texts(b)[0] for b in bubbles] == [r.name for r in expected]
    metres = _metres(lat, lon, expected[0])
    assert _texts(bubbles[0])[2] == f"直線{round(metres)}m・徒歩約{-(-metres // 80):.0f}分（目安）"
    assert "設置場所: 体育館入口" in _texts(bubbles[0])
    assert "時間: 月火水木金 8:00〜17:00（夜間・休日は校舎が閉まるため使用不可）" in _texts(
        bubbles[0]
    )
    call, route = _buttons(bubbles[0])[:2]
    assert call["uri"] == "tel:0300000301"
    assert route["uri"].startswith("https://www.google.com/maps/dir/?")
    # A facility without a phone number gets no call button.
    no_phone = next(b for b in bubbles if _texts(b)[0] == "十条台交番前コンビニ")
    assert [a["label"] for a in _buttons(no_phone)] == ["ルートを見る"]
    # The request was answered: the next location is the shelter answer again.
    again = _say(sender, standin, sandbox.location_event(standin, USER_JA, lat, lon))
    assert "■ この地点のハザード" in again.messages[0]["text"]


def test_health_centre_word_reaches_the_health_centres(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    _load(running_app.database_url, "poi_codes_v2.csv")
    asked = _say(sender, standin, sandbox.text_event(standin, USER_JA, "保健所"))
    assert "保健所・保健センター" in asked.messages[0]["text"]
    lat, lon = JUJO
    answer = _say(sender, standin, sandbox.location_event(standin, USER_JA, lat, lon))
    names = [_texts(b)[0] for b in _bubbles(answer)]
    assert sorted(names) == ["にじいろ健康福祉センター", "ほくと保健所"]


def test_location_answer_offers_the_facility_menu(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    _load(running_app.database_url, "public_v1_utf8bom.csv", "medical_v1_utf8bom.csv")
    lat, lon = JUJO
    shelters = _say(sender, standin, sandbox.location_event(standin, USER_EN, lat, lon))
    menu_button = next(
        a for a in _quick(shelters.messages[-1]) if a["label"] == "Nearby facilities"
    )
    assert parse_qs(menu_button["data"])["facility"] == ["menu"]

    menu = _say(sender, standin, sandbox.postback_event(standin, USER_EN, menu_button["data"]))
    choices = {a["label"]: a["data"] for a in _quick(menu.messages[0])}
    assert list(choices) == [
        "Hospital",
        "Clinic",
        "Library",
        "Ward / city office",
        "Community centre",
        "Park",
    ]
    answer = _say(sender, standin, sandbox.postback_event(standin, USER_EN, choices["Library"]))
    assert answer.messages[0]["text"].startswith("■ Nearest: Library")
    assert answer.messages[-1]["altText"] == "2 nearest: Library"
    names = [_texts(b)[0] for b in _bubbles(answer)]
    assert names == ["みどり台図書館", "さくら坂図書館"]
    assert "Accessibility: 車いす対応トイレ, エレベーター, 点字案内" in _texts(_bubbles(answer)[0])
    website = _buttons(_bubbles(answer)[0])[-1]
    assert website == {
        "type": "uri",
        "label": "Website",
        "uri": "https://example.jp/facility/library-midoridai",
    }


def test_nothing_loaded_is_said_plainly(
    sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    # Kita-ku as shipped: no facility data at all.
    told = _say(sender, standin, sandbox.text_event(standin, USER_JA, "AED"))
    assert told.messages[0]["text"] == "この種類の施設データはまだ登録されていません（AED）。"
    assert "quickReply" not in told.messages[0]
    lat, lon = JUJO
    shelters = _say(sender, standin, sandbox.location_event(standin, USER_JA, lat, lon))
    assert "■ この地点のハザード" in shelters.messages[0]["text"]
    # No button that leads nowhere; a stale one (from before the data was removed) is answered.
    assert "近くの施設" not in [a["label"] for a in _quick(shelters.messages[-1])]
    stale = f"facility=menu&lat={lat}&lon={lon}"
    menu = _say(sender, standin, sandbox.postback_event(standin, USER_JA, stale))
    assert menu.messages[0]["text"] == "施設のデータはまだ登録されていません。"


# -- the crew map and the command ------------------------------------------------------------


def test_crew_map_has_a_facilities_layer_once_facilities_are_loaded(empty_url: str) -> None:
    async def layer() -> tuple[set[str], dict[str, Any]]:
        engine = create_async_engine(empty_url)
        try:
            async with engine.connect() as conn:
                present = await crew_queries.layers_with_data(conn)
                points = await crew_queries.facility_points(conn)
        finally:
            await engine.dispose()
        return present, facilities_data(points)

    assert "facilities" not in asyncio.run(layer())[0]
    _load(empty_url, "aed_v1.csv", "medical_v1_utf8bom.csv")
    present, data = asyncio.run(layer())
    assert "facilities" in present
    assert [c["label"] for c in data["categories"]] == ["AED", "病院", "診療所・クリニック"]
    assert len(data["points"]) == 12
    assert data["points"][0][2:] == ["十条みらい小学校", 0]


def test_civic_load_facilities_prints_what_it_did(kita_url: str) -> None:
    loaded = civic(kita_url, "load", "facilities", str(FIXTURES / "defects_v2.csv"))
    assert loaded.returncode == 0, loaded.stderr
    out = loaded.stdout
    assert out.startswith(
        "defects_v2.csv: 公共施設一覧 (自治体標準オープンデータセット): "
        "2 added, 0 updated, 0 unchanged, 0 retired, 2 rows skipped"
    )
    assert "skipped: 緯度/経度: blank: not placed, not offered — row 3 うみかぜ図書館" in out
    assert "(in the service area) — row 2 あおぞら区民センター" in out
    assert "fixed: 全国地方公共団体コード: '13117' has no check digit" in out
    refused = civic(kita_url, "load", "facilities", str(FIXTURES / "bad_number_v1.csv"))
    assert refused.returncode == 1
    assert "row 2, field 緯度: not a number: '35,7790'" in refused.stderr
