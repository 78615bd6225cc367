"""Defect reports through the LINE chat, end to end over the real stack (app on loopback,
PostGIS with the Kita-ku data, the line-bot-sdk talking HTTP to the LINE stand-in).

Photos are made in the tests with Pillow; report locations are real Kita-ku coordinates.
"""

from __future__ import annotations

import io
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from service import sandbox
from service.sandbox import LinePlatformStandIn, WebhookSender
from service.settings import ReportSettings
from tests.conftest import TEST_SECRET, RunningApp

OJI = (35.758357, 139.736233)  # 王子 (lat, lon)
OJI_12M_EAST = (35.758357, 139.736366)  # about 12 m east of OJI
SHINJUKU = (35.6896, 139.7006)  # outside Kita-ku

_ids = itertools.count(1)


def jpeg(*, gps: bool = False, size: tuple[int, int] = (640, 480)) -> bytes:
    """A photo; with `gps`, one that carries the camera's position in EXIF."""
    image = Image.new("RGB", size, (120, 140, 160))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (35.0, 45.0, 30.0), 3: "E", 4: (139.0, 44.0, 10.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


class Resident:
    """A resident in the LINE app: sends events, reads what the bot answered."""

    def __init__(self, app: RunningApp, standin: LinePlatformStandIn, user_id: str, lang: str):
        self.app, self.standin, self.user_id = app, standin, user_id
        standin.add_user(user_id, language=lang)
        self.sender = WebhookSender(app.webhook_url, TEST_SECRET)

    def _send(self, event: dict[str, Any], *, expect_answer: bool = True) -> list[dict[str, Any]]:
        before = len(self.standin.delivered(self.user_id))
        assert self.sender.send([event]).status_code == 200
        if not expect_answer:
            time.sleep(0.6)
            assert len(self.standin.delivered(self.user_id)) == before
            return []
        delivery = self.standin.wait_for_deliveries(before + 1, self.user_id)[before]
        return delivery.messages

    def say(self, words: str) -> list[dict[str, Any]]:
        return self._send(sandbox.text_event(self.standin, self.user_id, words))

    def tap(self, data: str) -> list[dict[str, Any]]:
        return self._send(sandbox.postback_event(self.standin, self.user_id, data))

    def locate(self, lat: float, lon: float, address: str | None = None) -> list[dict[str, Any]]:
        event = sandbox.location_event(self.standin, self.user_id, lat, lon, address=address)
        return self._send(event)

    def photo(
        self, content: bytes | None, image_set: tuple[str, int, int] | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        message_id = f"{next(_ids):018d}"
        event = sandbox.image_event(
            self.standin, self.user_id, message_id, image_set, content=content
        )
        return self._send(event, **kw)


def quick_actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item["action"] for item in message.get("quickReply", {}).get("items", [])]


def postback_data(message: dict[str, Any], label_part: str) -> str:
    for action in quick_actions(message):
        if action["type"] == "postback" and label_part in action["label"]:
            return str(action["data"])
    raise AssertionError(f"no quick reply {label_part!r} in {quick_actions(message)}")


def db(app: RunningApp, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(app.settings.database.url or "")
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    engine.dispose()
    return rows


@pytest.fixture
def alice(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "a1" * 16, "ja")


@pytest.fixture
def bob(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "b2" * 16, "en")


def _report_from_text(
    resident: Resident, *, category: str = "道路", photo: bytes | None = None
) -> str:
    """The whole text-first path; returns the bot's final words."""
    question = resident.say("通報")[-1]
    assert "何についての通報" in question["text"] or "What is the problem" in question["text"]
    question = resident.tap(postback_data(question, category))[-1]
    assert any(a["type"] == "location" for a in quick_actions(question))
    question = resident.locate(*OJI, address="東京都北区王子2-7-1")[-1]
    assert any(a["type"] == "camera" for a in quick_actions(question))
    assert any(a["type"] == "cameraRoll" for a in quick_actions(question))
    if photo is not None:
        question = resident.photo(photo)[-1]
        question = resident.tap(
            postback_data(question, "次へ" if "次へ" in str(question) else "Next")
        )[-1]
    else:
        question = resident.tap("report=photos_done")[-1]
    question = resident.say("歩道に5cmほどの段差があります")[-1]
    assert "よろしいですか" in question["text"] or "Send this report" in question["text"]
    return str(resident.tap("report=submit")[-1]["text"])


def test_text_first_report_gets_a_number_and_a_clean_photo(
    running_app: RunningApp, alice: Resident, tmp_path: Path
) -> None:
    done = _report_from_text(alice, photo=jpeg(gps=True))
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
    engine = create_engine(running_app.settings.database.url or "")
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
    first = _report_from_text(alice)
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
    _report_from_text(alice)
    _report_from_text(bob, category="Streetlight")
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
    _report_from_text(alice)
    _report_from_text(alice)
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
