"""Defect reports through the LINE chat, end to end over the real stack (app on loopback,
PostGIS with the Kita-ku data, the line-bot-sdk talking HTTP to the LINE stand-in).

Photos are made in the tests with Pillow; report locations are real Kita-ku coordinates.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from service.sandbox import LinePlatformStandIn
from service.settings import ReportSettings
from tests.utils.app import RunningApp
from tests.utils.database import db
from tests.utils.photos import jpeg
from tests.utils.resident import OJI, Resident, postback_data, quick_actions, report_from_text

OJI_12M_EAST = (35.758357, 139.736366)  # about 12 m east of OJI
SHINJUKU = (35.6896, 139.7006)  # outside Kita-ku


@pytest.fixture
def alice(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "a1" * 16, "ja")


@pytest.fixture
def bob(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "b2" * 16, "en")


def test_text_first_report_gets_a_number_and_a_clean_photo(
    running_app: RunningApp, alice: Resident, tmp_path: Path
) -> None:
    done = report_from_text(alice, photo=jpeg(gps=True))
    assert "受付番号: No." in done
    number = int(done.split("No.")[1].split()[0])
    (report,) = db(running_app, "SELECT * FROM reports WHERE id = :id", id=number)
    assert report.category == "road"
    assert report.address == "東京都北区王子2-7-1"
    assert report.description == "歩道に5cmほどの段差があります"
    assert report.line_user_id == alice.user_id
    (photo,) = db(
        running_app, "SELECT photo_key FROM report_photos WHERE report_id = :id", id=number
    )
    stored = list((tmp_path / "photos").rglob(f"{photo.photo_key}.jpg"))
    assert len(stored) == 1
    data = stored[0].read_bytes()
    assert b"Exif\x00\x00" not in data and b"TestCam" not in data
    assert not Image.open(io.BytesIO(data)).getexif()
    assert db(running_app, "SELECT count(*) FROM report_drafts")[0][0] == 0


def test_photo_first_report(running_app: RunningApp, alice: Resident) -> None:
    question = alice.photo(jpeg())[-1]
    assert "何についての通報" in question["text"]
    question = alice.tap(postback_data(question, "街路灯"))[-1]
    question = alice.locate(*OJI)[-1]
    assert "1/4" in question["text"]  # the photo is kept, more may follow
    alice.tap("report=photos_done")
    question = alice.tap("report=no_description")[-1]
    assert "写真: 1枚" in question["text"]
    assert "受付番号" in alice.tap("report=submit")[-1]["text"]
    assert db(running_app, "SELECT count(*) FROM report_photos")[0][0] == 1


def test_image_set_is_answered_once_when_complete(running_app: RunningApp, alice: Resident) -> None:
    alice.say("通報")
    alice.tap("report=category&code=graffiti")
    alice.locate(*OJI)
    alice.photo(jpeg(size=(300, 200)), ("set1", 2, 3), expect_answer=False)
    alice.photo(jpeg(size=(200, 300)), ("set1", 1, 3), expect_answer=False)
    question = alice.photo(jpeg(size=(250, 250)), ("set1", 3, 3))[-1]
    assert "3/4" in question["text"]


def test_location_answer_offers_to_report_there(running_app: RunningApp, alice: Resident) -> None:
    answer = alice.locate(*OJI)
    data = postback_data(answer[-1], "通報")
    question = alice.tap(data)[-1]
    assert "何についての通報" in question["text"]
    question = alice.tap("report=category&code=dumping")[-1]
    # the location came with the button: the next question is about photos
    assert any(a["type"] == "camera" for a in quick_actions(question))


def test_location_during_a_report_belongs_to_the_report(
    running_app: RunningApp, alice: Resident
) -> None:
    alice.say("通報")
    alice.tap("report=category&code=road")
    messages = alice.locate(*OJI)
    assert all(m["type"] == "text" for m in messages)  # no shelter carousel
    assert "写真" in messages[-1]["text"]


def test_asking_for_shelters_mid_report_sends_the_next_location_to_the_shelter_search(
    running_app: RunningApp, alice: Resident
) -> None:
    alice.say("通報")
    alice.tap("report=category&code=road")
    asked = alice.say("避難所")[-1]
    assert any(a["type"] == "location" for a in quick_actions(asked))
    # In a disaster the shelter search wins: this location is not the report's...
    assert alice.locate(*OJI)[-1]["type"] == "flex"
    (draft,) = db(running_app, "SELECT awaiting, lon FROM report_drafts")
    assert draft.awaiting == "location" and draft.lon is None
    # ...and the report still waits for its own.
    assert "写真" in alice.locate(*OJI)[-1]["text"]


def test_cancel_at_any_step(running_app: RunningApp, alice: Resident) -> None:
    alice.say("通報")
    alice.tap("report=category&code=road")
    assert "取り消しました" in alice.say("キャンセル")[-1]["text"]
    assert db(running_app, "SELECT count(*) FROM report_drafts")[0][0] == 0
    # with nothing in progress a location is a shelter search again
    assert alice.locate(*OJI)[-1]["type"] == "flex"


def test_draft_expires_after_30_minutes_and_the_resident_is_told(
    running_app: RunningApp, alice: Resident
) -> None:
    alice.say("通報")
    engine = create_engine(running_app.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE report_drafts SET updated_at = now() - interval '31 minutes'"))
    engine.dispose()
    messages = alice.tap("report=category&code=road")
    assert "30分間操作がなかったため取り消されました" in messages[0]["text"]
    assert db(running_app, "SELECT count(*) FROM report_drafts")[0][0] == 0


def test_report_outside_the_area_is_refused_politely(
    running_app: RunningApp, alice: Resident
) -> None:
    alice.say("通報")
    alice.tap("report=category&code=road")
    refusal, again = alice.locate(*SHINJUKU)
    assert "区域外" in refusal["text"] and "#9910" in refusal["text"]
    assert any(a["type"] == "location" for a in quick_actions(again))
    assert db(running_app, "SELECT awaiting FROM report_drafts")[0][0] == "location"


def test_duplicate_joins_the_cluster_and_says_how_many(
    running_app: RunningApp, alice: Resident, bob: Resident
) -> None:
    first = report_from_text(alice)
    assert "すでに報告" not in first
    bob.say("report")
    bob.tap("report=category&code=road")
    bob.locate(*OJI_12M_EAST)
    bob.tap("report=photos_done")
    bob.tap("report=no_description")
    second = bob.tap("report=submit")[-1]["text"]
    assert "already been reported (2 reports so far)" in second
    clusters = db(running_app, "SELECT cluster_id FROM reports ORDER BY id")
    assert clusters[0][0] == clusters[1][0]
    (count,) = db(running_app, "SELECT report_count FROM report_clusters")
    assert count[0] == 2


def test_other_category_nearby_is_not_a_duplicate(
    running_app: RunningApp, alice: Resident, bob: Resident
) -> None:
    report_from_text(alice)
    report_from_text(bob, category="Streetlight")
    assert db(running_app, "SELECT count(DISTINCT cluster_id) FROM reports")[0][0] == 2


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (jpeg()[:400], "写真を読み込めませんでした"),  # truncated JPEG
        (
            b"this is a text file named photo.jpg\n" * 20,
            "写真（JPEG・PNG）として読み込めませんでした",
        ),
        (None, "写真を読み込めませんでした"),  # LINE no longer has the content (404)
    ],
)
def test_a_bad_photo_is_refused_and_the_report_goes_on(
    running_app: RunningApp, alice: Resident, content: bytes | None, expected: str
) -> None:
    alice.say("通報")
    alice.tap("report=category&code=road")
    alice.locate(*OJI)
    messages = alice.photo(content)
    assert expected in messages[0]["text"]
    assert any(a["type"] == "camera" for a in quick_actions(messages[-1]))
    alice.tap("report=photos_done")
    alice.tap("report=no_description")
    assert "受付番号" in alice.tap("report=submit")[-1]["text"]
    assert db(running_app, "SELECT count(*) FROM report_photos")[0][0] == 0


@pytest.mark.parametrize(
    "app_overrides", [{"reports": ReportSettings(REPORTS_PER_HOUR=2)}], indirect=True
)
def test_rate_limit_refuses_kindly(running_app: RunningApp, alice: Resident) -> None:
    report_from_text(alice)
    report_from_text(alice)
    refusal = alice.say("通報")[-1]["text"]
    assert "1時間に2件まで" in refusal
    assert db(running_app, "SELECT count(*) FROM report_drafts")[0][0] == 0


def test_english_conversation(running_app: RunningApp, bob: Resident) -> None:
    assert "Thank you for reporting" in bob.say("Report")[-1]["text"]
    bob.tap("report=category&code=park")
    assert "Where is it" in bob.say("hello")[-1]["text"]  # re-asks what is missing
    bob.locate(*OJI)
    bob.say("skip")
    bob.say("The swing chain is broken")
    assert "Report received. Number: No." in bob.say("send")[-1]["text"]


# Issue 13, item 6: the last line of the confirmation, in every language.
PUBLIC = {
    "ja": "送信すると、不具合の種類・場所（地点と住所）・日時は、区のオープンデータ（Open311）とし"
    "て公開されます。写真と説明文は公開されません。",
    "ja-x-easy": "おくると、こわれた ものの しゅるい、ばしょ（ちずの ばしょと じゅうしょ）、日と 時"
    "間は、みんなが 見られる データ（Open311）に なります。しゃしんと あなたが 書いた ことばは"
    "、みんなには 見せません。",
    "en": "Once sent, the kind of problem, its place (the spot and its address) and the time are "
    "published as the city's open data (Open311). Your photos and your description are not "
    "published.",
    "zh-Hans": "发送后，问题种类、地点（位置和地址）和时间将作为区政府的开放数据（Open311）公开。"
    "您的照片和描述不会公开。",
    "zh-Hant": "傳送後，問題種類、地點（位置和地址）和時間將作為區公所的開放資料（Open311）公開。"
    "您的照片和描述不會公開。",
    "ko": "보내면 문제의 종류, 장소(지점과 주소), 일시가 구의 오픈 데이터(Open311)로 공개됩니다. "
    "사진과 설명은 공개되지 않습니다.",
    "vi": "Sau khi gửi, loại sự cố, địa điểm (vị trí và địa chỉ) và thời gian sẽ được công khai "
    "dưới dạng dữ liệu mở của quận (Open311). Ảnh và mô tả của bạn không được công khai.",
}


def test_the_confirmation_says_what_becomes_public_and_it_is_so(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    for number, (lang, public) in enumerate(PUBLIC.items()):
        resident = Resident(running_app, standin, "U" + f"{number + 3:x}" * 32, lang)
        resident.tap("report=start")
        resident.tap("report=category&code=road")
        resident.locate(*OJI, address="東京都北区王子2-7-1")
        resident.photo(jpeg())
        resident.tap("report=photos_done")
        confirm = resident.say("歩道に段差があります")[-1]
        assert confirm["text"].splitlines()[-1] == public, lang
    done = resident.tap("report=submit")[-1]["text"]
    number = int(done.split("No.")[1].split()[0])
    # As told: the kind, the place and the time are public; the words and photo are not.
    with httpx.Client(base_url=running_app.url, trust_env=False) as client:
        (published,) = client.get(f"/open311/v2/requests/{number}.json").json()
    assert published["service_code"] == "road"
    assert (published["lat"], published["long"]) == pytest.approx(OJI)
    assert published["address"] == "東京都北区王子2-7-1"
    assert published["requested_datetime"]
    assert published["description"] == ""
    assert "media_url" not in published
