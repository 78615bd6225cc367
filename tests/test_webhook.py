"""The webhook: signature first, durable inbox, redelivery handled once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

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


def _rows(url: str) -> dict[str, dict[str, object]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_id, source_key, status, attempts, last_error FROM line_inbox")
        )
        result = {row.event_id: dict(row._mapping) for row in rows}
    engine.dispose()
    return result


def _settled(url: str, count: int, timeout: float = 20.0) -> dict[str, dict[str, object]]:
    """The inbox once it holds `count` events and none waits or is being handled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _rows(url)
        if len(rows) >= count and all(
            r["status"] not in ("pending", "processing") for r in rows.values()
        ):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"the inbox did not settle: {_rows(url)}")


def _resident(n: int) -> str:
    return "U" + f"{n:032x}"


KITA = (35.7528, 139.7334)  # 北区役所 area, inside the service area


def _with(event: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    *parents, last = path
    part = event
    for name in parents:
        part = part[name]
    part[last] = value
    return event


# What no LINE client sends but a signed body may carry: (name, the bad event, what becomes
# of it). Cleaned events are handled; an event whose ID, source or time cannot be trusted is
# kept as rejected.
BAD_EVENTS: list[tuple[str, Callable[[LinePlatformStandIn, str], dict[str, Any]], str]] = [
    ("NUL in text", lambda s, u: sandbox.text_event(s, u, "通報\u0000"), "done"),
    ("lone surrogate", lambda s, u: sandbox.text_event(s, u, "\ud800"), "done"),
    ("NUL in postback", lambda s, u: sandbox.postback_event(s, u, "report=start\u0000"), "done"),
    (
        "NaN latitude",
        lambda s, u: sandbox.location_event(s, u, float("nan"), KITA[1]),
        "done",
    ),
    (
        "Infinity longitude",
        lambda s, u: sandbox.location_event(s, u, KITA[0], float("inf")),
        "done",
    ),
    (
        "NUL in userId",
        lambda s, u: _with(sandbox.text_event(s, u, "避難所"), ("source", "userId"), u + "\0"),
        "rejected",
    ),
    (
        "NUL in webhookEventId",
        lambda s, u: (lambda e: _with(e, ("webhookEventId",), e["webhookEventId"] + "\0"))(
            sandbox.text_event(s, u, "避難所")
        ),
        "rejected",
    ),
    (
        "timestamp 10**20",
        lambda s, u: sandbox.text_event(s, u, "避難所", timestamp_ms=10**20),
        "rejected",
    ),
    (
        "timestamp -10**16",
        lambda s, u: sandbox.text_event(s, u, "避難所", timestamp_ms=-(10**16)),
        "rejected",
    ),
    (
        "timestamp 1e20",
        lambda s, u: _with(sandbox.text_event(s, u, "避難所"), ("timestamp",), 1e20),
        "rejected",
    ),
    (
        "source a string",
        lambda s, u: _with(sandbox.text_event(s, u, "避難所"), ("source",), "U123"),
        "rejected",
    ),
]


def _raw_body(events: list[dict[str, Any]]) -> bytes:
    """A body as LINE writes it, but for what JSON allows beyond LINE (NaN, Infinity) and NUL
    and surrogates written as \\u escapes."""
    return json.dumps({"destination": "U" + "0" * 32, "events": events}).encode()


def test_a_bad_event_never_costs_the_good_events_of_its_body(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    stored: dict[str, tuple[str, str]] = {}  # case: (good event's ID, bad event's ID)
    for number, (name, make, _) in enumerate(BAD_EVENTS):
        before = set(_rows(url))
        good = sandbox.location_event(standin, _resident(2 * number), *KITA)
        bad = make(standin, _resident(2 * number + 1))
        response = sender.send_body(_raw_body([good, bad]))
        assert response.status_code == 200, (name, response.text)
        assert response.json() == {"received": 2, "stored": 2}, name
        (bad_id,) = set(_rows(url)) - before - {good["webhookEventId"]}
        stored[name] = (good["webhookEventId"], bad_id)
    rows = _settled(url, 2 * len(BAD_EVENTS))
    for number, (name, _, becomes) in enumerate(BAD_EVENTS):
        good_id, bad_id = stored[name]
        assert rows[good_id]["status"] == "done", name
        assert len(standin.delivered(_resident(2 * number))) == 1, name
        bad = rows[bad_id]
        assert bad["status"] == becomes, (name, bad)
        answered = len(standin.delivered(_resident(2 * number + 1)))
        if becomes == "rejected":
            assert bad["last_error"], name
            assert answered == 0, name
        else:
            assert bad["attempts"] == 1 and answered == 1, (name, bad)


def test_a_redelivered_rejected_event_is_stored_once(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    event = sandbox.text_event(standin, USER, "避難所")
    event["webhookEventId"] += "\0"
    assert sender.send_body(_raw_body([event])).json()["stored"] == 1
    event["deliveryContext"] = {"isRedelivery": True}
    assert sender.send_body(_raw_body([event])).json()["stored"] == 0
    assert [r["status"] for r in _rows(running_app.database_url).values()] == ["rejected"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # deeper than the JSON parser goes
        b'{"events": [{"webhookEventId": "x", "timestamp": 1' + b"0" * 5000 + b"}]}",
        b'{"events": {"webhookEventId": "x"}}',
        b'{"events": ["x"]}',
    ],
    ids=["deep", "huge integer", "events an object", "an event a string"],
)
def test_a_body_of_the_wrong_structure_is_400(
    running_app: RunningApp, sender: WebhookSender, body: bytes
) -> None:
    assert sender.send_body(body).status_code == 400
    assert _inbox(running_app.database_url) == []


def _location_with(latitude: object) -> Callable[[LinePlatformStandIn, str], dict[str, Any]]:
    def make(standin: LinePlatformStandIn, user: str) -> dict[str, Any]:
        event = sandbox.location_event(standin, user, *KITA)
        if latitude is _MISSING:
            del event["message"]["latitude"]
        else:
            event["message"]["latitude"] = latitude
        return event

    return make


_MISSING = object()
MALFORMED: list[tuple[str, Callable[[LinePlatformStandIn, str], dict[str, Any]]]] = [
    ('latitude "abc"', _location_with("abc")),
    ('latitude "NaN"', _location_with("NaN")),
    ("latitude null", _location_with(None)),
    ("latitude missing", _location_with(_MISSING)),
    ("latitude an object", _location_with({"deg": 35})),
    (
        "message a string",
        lambda s, u: _with(sandbox.text_event(s, u, "x"), ("message",), "避難所"),
    ),
    (
        "postback a string",
        lambda s, u: _with(sandbox.postback_event(s, u, "x"), ("postback",), "report=start"),
    ),
    (
        "postback lat and lon no numbers",
        lambda s, u: sandbox.postback_event(s, u, "report=start&lat=abc&lon=xyz"),
    ),
    ("postback without lon", lambda s, u: sandbox.postback_event(s, u, "report=start&lat=35.75")),
    (
        "facility postback without lon",
        lambda s, u: sandbox.postback_event(s, u, "facility=aed&lat=35.75"),
    ),
    (
        "image set without id",
        lambda s, u: sandbox.image_event(s, u, "m1", {"index": 1, "total": "two"}),
    ),
]


def test_a_malformed_event_is_answered_at_once_and_never_holds_back_the_next(
    running_app: RunningApp, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    # What the bot can do, as any resident asking something it has no answer to sees it.
    control = _resident(len(MALFORMED))
    sender.send([sandbox.text_event(standin, control, "xyzzy")])
    help_message = standin.wait_for_deliveries(1, control)[0].messages
    ids = {}
    for number, (name, make) in enumerate(MALFORMED):
        resident = _resident(number)
        malformed = make(standin, resident)
        malformed["timestamp"] = 1_000
        following = sandbox.location_event(standin, resident, *KITA, timestamp_ms=2_000)
        response = sender.send_body(_raw_body([following, malformed]))
        assert response.status_code == 200, name
        ids[name] = (malformed["webhookEventId"], following["webhookEventId"])
    rows = _settled(url, 2 * len(MALFORMED) + 1)
    for number, (name, _) in enumerate(MALFORMED):
        malformed_id, following_id = ids[name]
        # Handled once, answered with what the bot can do; the next event answered after it.
        assert rows[malformed_id]["status"] == "done", (name, rows[malformed_id])
        assert rows[malformed_id]["attempts"] == 1, (name, rows[malformed_id])
        assert rows[following_id]["status"] == "done", name
        first, second = standin.delivered(_resident(number))
        assert first.messages == help_message, name
        assert second.messages != help_message, name
