"""A resident's side of the tests: a LINE user who sends events through the signed webhook
and reads what the bot answered (as the LINE stand-in received it)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service import sandbox
from service.line.area_chat import save_area
from service.sandbox import LinePlatformStandIn, WebhookSender
from tests.utils.app import TEST_SECRET, RunningApp

OJI = (35.758357, 139.736233)  # 王子 (lat, lon)

_ids = itertools.count(1)


class Resident:
    """A resident in the LINE app: sends events, reads what the bot answered."""

    def __init__(
        self, app: RunningApp, standin: LinePlatformStandIn, user_id: str, lang: str
    ) -> None:
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

    def follow(self) -> list[dict[str, Any]]:
        return self._send(sandbox.follow_event(self.standin, self.user_id))

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


def delivered_texts(standin: LinePlatformStandIn, user_id: str) -> list[str]:
    """The text of every message LINE delivered to a resident (replies, pushes, multicasts),
    oldest first."""
    return [m["text"] for d in standin.delivered(user_id) for m in d.messages]


def quick_actions(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions of a message's quick reply buttons, in order."""
    return [item["action"] for item in message.get("quickReply", {}).get("items", [])]


def postback_data(message: dict[str, Any], label_part: str) -> str:
    """The data of the quick reply postback whose label holds `label_part`."""
    for action in quick_actions(message):
        if action["type"] == "postback" and label_part in action["label"]:
            return str(action["data"])
    raise AssertionError(f"no quick reply {label_part!r} in {quick_actions(message)}")


def report_from_text(
    resident: Resident,
    *,
    category: str = "道路",
    photo: bytes | None = None,
    address: str = "東京都北区王子2-7-1",
) -> str:
    """The whole text-first path; returns the bot's final words."""
    question = resident.say("通報")[-1]
    assert "何についての通報" in question["text"] or "What is the problem" in question["text"]
    question = resident.tap(postback_data(question, category))[-1]
    assert any(a["type"] == "location" for a in quick_actions(question))
    question = resident.locate(*OJI, address=address)[-1]
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


async def add_registered_resident(
    conn: AsyncConnection,
    user_id: str,
    where: tuple[float, float],
    topics: list[str],
    *,
    language: str = "ja",
    following: bool = True,
) -> None:
    """A synthetic resident who registered `where` (lat, lon) with `topics`, stored as the
    chat's registration stores it."""
    await conn.execute(
        text("INSERT INTO line_users (user_id, language, following) VALUES (:u, :l, :f)"),
        {"u": user_id, "l": language, "f": following},
    )
    await save_area(conn, user_id, where[1], where[0], topics)
