"""The webhook: signature first, durable inbox, redelivery handled once."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import create_engine, text

from service import sandbox
from service.sandbox import LinePlatformStandIn, WebhookSender
from tests.utils.app import TEST_SECRET, RunningApp

USER = "U" + "a" * 32


def _inbox(url: str) -> list[dict[str, object]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id, event_type, status, attempts FROM line_inbox ORDER BY event_id")
        )
        result = [dict(row._mapping) for row in rows]
    engine.dispose()
    return result


def _wait_status(url: str, event_id: str, wanted: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["event_id"] == event_id and r["status"] == wanted for r in _inbox(url)):
            return
        time.sleep(0.1)
    raise AssertionError(f"event {event_id} never became {wanted}: {_inbox(url)}")


@pytest.fixture
def sender(running_app: RunningApp) -> WebhookSender:
    return WebhookSender(running_app.webhook_url, TEST_SECRET)


def test_verify_button_empty_events_gets_200(sender: WebhookSender) -> None:
    response = sender.send([])
    assert response.status_code == 200
    assert response.json() == {"received": 0, "stored": 0}


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU="])
def test_missing_or_bad_signature_is_400_and_stores_nothing(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn, signature: str
) -> None:
    event = sandbox.text_event(standin, USER, "避難所")
    response = sender.send_body(sandbox.webhook_body([event]), signature=signature)
    assert response.status_code == 400
    assert "signature" in response.json()["detail"].lower()
    assert _inbox(running_app.database_url) == []


def test_signature_with_another_channels_secret_is_refused(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    other = WebhookSender(running_app.webhook_url, "some-other-channel-secret")
    response = other.send([sandbox.text_event(standin, USER, "避難所")])
    assert response.status_code == 400
    assert _inbox(running_app.database_url) == []


def test_malformed_json_with_valid_signature_is_400(
    running_app: RunningApp, sender: WebhookSender
) -> None:
    response = sender.send_body(b'{"destination": "U1", "events": [')
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["detail"]
    response = sender.send_body(b'{"destination": "U1", "events": [{"type": "follow"}]}')
    assert response.status_code == 400
    assert "webhookEventId" in response.json()["detail"]
    assert _inbox(running_app.database_url) == []


def test_oversized_body_is_413(running_app: RunningApp, sender: WebhookSender) -> None:
    limit = running_app.settings.inbox.max_body_bytes
    body = json.dumps({"events": [], "padding": "x" * limit}).encode()
    assert sender.send_body(body).status_code == 413


def test_redelivered_event_is_stored_and_answered_once(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    standin.add_user(USER)
    event = sandbox.text_event(standin, USER, "避難所")
    assert sender.send([event]).json()["stored"] == 1
    assert sender.send([sandbox.redelivered(event)]).json()["stored"] == 0
    # The same event inside one body twice is also stored once.
    assert sender.send([event, event]).json()["stored"] == 0
    url = running_app.database_url
    _wait_status(url, event["webhookEventId"], "done")
    time.sleep(0.5)  # give a duplicate handling every chance to show up
    assert len(standin.delivered(USER)) == 1
    assert [r["event_id"] for r in _inbox(url)] == [event["webhookEventId"]]


def test_unknown_event_and_message_types_are_stored_and_ignored(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    strange = sandbox.text_event(standin, USER, "x")
    strange["type"] = "somethingNew"
    odd_message = sandbox.text_event(standin, USER, "x")
    odd_message["message"] = {"type": "hologram", "id": "1"}
    standby = sandbox.text_event(standin, USER, "避難所")
    standby["mode"] = "standby"
    response = sender.send([strange, odd_message, standby])
    assert response.status_code == 200
    url = running_app.database_url
    for event in (strange, odd_message, standby):
        _wait_status(url, event["webhookEventId"], "ignored")
    assert standin.delivered(USER) == []
