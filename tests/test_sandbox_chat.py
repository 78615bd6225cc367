"""The sandbox chat endpoints (/sandbox/say, /sandbox/say/image, /sandbox/deliveries) of an app
in sandbox mode: what they send goes through the real path (a signed webhook to the app's own
/line/webhook, the inbox, the handler, the LINE client talking to the in-app stand-in), and
bad input is refused naming the field.

Sandbox mode talks to its own URL, which it must know before it starts, so the app runs as
`civic serve --sandbox` on a free port (as a developer runs it), on a copy of the Kita-ku
database, with no LINE credentials in its environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.utils.app import RunningApp
from tests.utils.photos import jpeg
from tests.utils.sandbox import SandboxApp

RESIDENT = "U" + "5" * 32


@pytest.fixture
def client(sandbox_app: SandboxApp) -> Iterator[httpx.Client]:
    """An HTTP client of the sandbox app."""
    with httpx.Client(base_url=sandbox_app.url, timeout=30, trust_env=False) as made:
        yield made


def _new_resident() -> str:
    """A user ID of its own per test: the sandbox app and its record live for the module."""
    return "U" + os.urandom(16).hex()


def _texts(answer: dict[str, Any]) -> list[str]:
    return [m.get("text", "") for d in answer["answers"] for m in d["messages"]]


def _quick_types(message: dict[str, Any]) -> list[str]:
    return [item["action"]["type"] for item in message["quickReply"]["items"]]


def test_text_goes_through_the_webhook_and_the_answer_is_numbered(client: httpx.Client) -> None:
    user = _new_resident()
    said = client.post("/sandbox/say", json={"user_id": user, "text": "避難所"})
    assert said.status_code == 200, said.text
    body = said.json()
    assert body["event"]["message"]["text"] == "避難所"
    assert body["from"] == 0
    [delivery] = body["answers"]
    assert delivery["via"] == "reply" and delivery["to"] == user
    assert _quick_types(delivery["messages"][0]) == ["location"]
    # The stand-in recorded the reply the app made with the event's own reply token.
    replies = client.get("/sandbox/line/_standin/calls", params={"endpoint": "reply"}).json()
    assert any(c["body"]["replyToken"] == body["event"]["replyToken"] for c in replies)

    later = client.get("/sandbox/deliveries", params={"user_id": user, "since": 0}).json()
    assert later == {"from": 0, "answers": body["answers"]}
    assert client.get("/sandbox/deliveries", params={"user_id": user, "since": 1}).json() == {
        "from": 1,
        "answers": [],
    }


def test_location_and_postback_drive_the_conversation(client: httpx.Client) -> None:
    user = _new_resident()
    located = client.post(
        "/sandbox/say", json={"user_id": user, "latitude": 35.7381, "longitude": 139.7607}
    )
    assert located.status_code == 200, located.text
    kinds = [m["type"] for m in located.json()["answers"][0]["messages"]]
    assert kinds == ["text", "flex"]
    carousel = located.json()["answers"][0]["messages"][1]["contents"]
    assert "区立田端小学校" in str(carousel)  # real data: the school 330 m from Tabata station

    started = client.post(
        "/sandbox/say",
        json={"user_id": user, "postback": {"data": "report=start"}, "since": 1},
    )
    assert started.status_code == 200, started.text
    assert started.json()["from"] == 1
    assert "何についての通報ですか" in _texts(started.json())[0]
    assert _quick_types(started.json()["answers"][0]["messages"][0])[0] == "postback"


def test_a_photo_is_downloaded_by_the_bot_from_the_stand_in(
    client: httpx.Client, sandbox_app: SandboxApp
) -> None:
    user = _new_resident()
    sent = client.post(
        "/sandbox/say/image",
        data={"user_id": user},
        files={"image": ("pothole.jpg", jpeg(size=(64, 48)), "image/jpeg")},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["event"]["message"]["type"] == "image"
    # A photo starts a report: the bot took it and asks what the problem is.
    assert "何についての通報ですか" in _texts(sent.json())[-1]
    content = client.get("/sandbox/line/_standin/calls", params={"endpoint": "content"}).json()
    message_id = sent.json()["event"]["message"]["id"]
    assert [c["status"] for c in content if c["path"].endswith(f"/{message_id}/content")] == [200]
    [draft] = sandbox_app.query(
        "SELECT cardinality(photo_keys) AS n FROM report_drafts WHERE line_user_id = :u", u=user
    )
    assert draft.n == 1


def test_an_answer_after_the_wait_comes_from_deliveries(client: httpx.Client) -> None:
    user = _new_resident()
    # No bot answers in a millisecond (the inbox alone polls every 0.2 s).
    late = client.post("/sandbox/say", json={"user_id": user, "text": "通報", "timeout": 0.001})
    assert late.status_code == 504
    assert "GET /sandbox/deliveries" in late.json()["detail"]
    deadline = time.monotonic() + 10
    answers: list[Any] = []
    while not answers and time.monotonic() < deadline:
        time.sleep(0.2)
        answers = client.get("/sandbox/deliveries", params={"user_id": user}).json()["answers"]
    assert "何についての通報ですか" in answers[0]["messages"][0]["text"]


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"text": "避難所", "latitude": 35.7, "longitude": 139.7}, "body", "exactly one"),
        ({"latitude": 35.7}, "body", "both latitude and longitude"),
        ({}, "body", "exactly one"),
        ({"text": ""}, "text", "at least 1"),
        ({"postback": {"data": "x", "params": {"evil": "1"}}}, "params", "unknown params"),
        ({"postback": {"data": "x" * 301}}, "data", "at most 300"),
        ({"text": "hi", "user_id": "someone"}, "user_id", "pattern"),
        ({"text": "hi", "timeout": 60}, "timeout", "less than or equal to 30"),
    ],
)
def test_bad_say_is_422_naming_the_field(
    client: httpx.Client, payload: dict[str, Any], field: str, words: str
) -> None:
    refused = client.post("/sandbox/say", json={"user_id": _new_resident(), **payload})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"][-1] == field
    assert words in error["msg"]


@pytest.mark.parametrize(
    ("upload", "words"),
    [
        (b"%PDF-1.4 not a photo", "not an image"),
        (b"", "empty"),
        (jpeg(size=(64, 48))[:40], "not an image"),
    ],
)
def test_an_upload_that_is_no_image_is_422_and_nothing_is_sent(
    client: httpx.Client, upload: bytes, words: str
) -> None:
    user = _new_resident()
    refused = client.post(
        "/sandbox/say/image",
        data={"user_id": user},
        files={"image": ("photo.jpg", upload, "image/jpeg")},
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "image"] and words in error["msg"]
    assert client.get("/sandbox/deliveries", params={"user_id": user}).json()["answers"] == []


def test_since_past_the_record_is_409_saying_to_reload(client: httpx.Client) -> None:
    user = _new_resident()
    stale = client.get("/sandbox/deliveries", params={"user_id": user, "since": 3})
    assert stale.status_code == 409 and "reload the page" in stale.json()["detail"]
    said = client.post("/sandbox/say", json={"user_id": user, "text": "避難所", "since": 3})
    assert said.status_code == 409
    # Refused before anything was sent.
    assert client.get("/sandbox/deliveries", params={"user_id": user}).json()["answers"] == []
    bad = client.get("/sandbox/deliveries", params={"user_id": "U123"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "user_id"]


def test_the_page_runs_only_local_files(client: httpx.Client) -> None:
    page = client.get("/sandbox")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    html = page.text
    assert 'src="/assets/sandbox.js"' in html and 'src="/assets/vendor/leaflet/leaflet.js"' in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # no outside address
    assert "https://" not in html
    for asset in ("/assets/sandbox.js", "/assets/sandbox.css", "/assets/vendor/leaflet/leaflet.js"):
        assert client.get(asset).status_code == 200, asset


def test_no_sandbox_with_line_credentials(running_app: RunningApp) -> None:
    # running_app has a channel secret and token: a real channel, no sandbox routes.
    for path in ("/sandbox", "/sandbox/deliveries?user_id=" + RESIDENT):
        assert httpx.get(running_app.url + path, trust_env=False).status_code == 404
    said = httpx.post(running_app.url + "/sandbox/say", json={"text": "hi"}, trust_env=False)
    assert said.status_code == 404
