"""The LINE platform stand-in, driven over real HTTP by the real line-bot-sdk client."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    FlexBubble,
    FlexCarousel,
    FlexMessage,
    MessageAction,
    MulticastRequest,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import (
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from service.sandbox import (
    LinePlatformStandIn,
    WebhookSender,
    create_standin_app,
    follow_event,
    image_event,
    location_event,
    message_errors,
    postback_event,
    redelivered,
    sign,
    text_event,
    unfollow_event,
    webhook_body,
)
from tests.utils.servers import serve

TOKEN = "sandbox-channel-access-token"
SECRET = "sandbox-channel-secret"
ALICE = "U" + "a" * 32
BOB = "U" + "b" * 32
T = TypeVar("T")


@dataclass
class Platform:
    standin: LinePlatformStandIn
    url: str


@pytest.fixture
def line(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    # aiohttp honours proxy variables: loopback traffic must not go to a proxy.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    standin = LinePlatformStandIn(TOKEN)
    standin.add_user(ALICE, "山田花子", language="ja")
    standin.add_user(BOB, "Bob", language="en")
    with serve(create_standin_app(standin)) as url:
        yield Platform(standin, url)


def call(line: Platform, fn: Callable[[AsyncMessagingApi], Awaitable[T]], token: str = TOKEN) -> T:
    """Run ``fn`` with a fresh SDK client; it must be made inside a running loop."""

    async def main() -> T:
        config = Configuration(access_token=token, host=line.url)
        async with AsyncApiClient(config) as client:
            return await fn(AsyncMessagingApi(client))

    return asyncio.run(main())


def call_error(
    line: Platform, fn: Callable[[AsyncMessagingApi], Awaitable[Any]], token: str = TOKEN
) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(line, fn, token)
    return info.value


def error_body(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def reply(token: str, *messages: Any) -> Callable[[AsyncMessagingApi], Awaitable[Any]]:
    request = ReplyMessageRequest(reply_token=token, messages=list(messages))
    return lambda api: api.reply_message(request, _request_timeout=5)


def push(
    to: str, *messages: Any, retry_key: str | None = None
) -> Callable[[AsyncMessagingApi], Awaitable[Any]]:
    request = PushMessageRequest(to=to, messages=list(messages))
    return lambda api: api.push_message(request, x_line_retry_key=retry_key, _request_timeout=5)


def raw_post(line: Platform, path: str, body: Any, token: str = TOKEN) -> httpx.Response:
    """For requests the SDK would refuse before sending them."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(trust_env=False, timeout=5) as client:
        return client.post(line.url + path, content=content, headers=headers)


def bubble(text: str = "避難所") -> FlexBubble:
    return FlexBubble.from_dict(
        {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": text}],
            },
        }
    )


# ----------------------------------------------------------------------------- reply


def test_reply_is_delivered_to_the_user_the_token_was_issued_for(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)

    response = call(line, reply(token, TextMessage(text="こんにちは")))

    assert len(response.sent_messages) == 1
    [delivery] = line.standin.wait_for_deliveries(1, ALICE, timeout=2)
    assert delivery.via == "reply"
    assert delivery.to == ALICE
    assert delivery.messages == [{"type": "text", "text": "こんにちは"}]
    assert line.standin.delivered(BOB) == []
    [recorded] = line.standin.calls("reply")
    assert recorded.status == 200
    assert recorded.body["replyToken"] == token


def test_reply_token_is_single_use(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)
    call(line, reply(token, TextMessage(text="one")))

    exc = call_error(line, reply(token, TextMessage(text="two")))

    assert exc.status == 400
    assert error_body(exc) == {"message": "Invalid reply token"}
    assert len(line.standin.delivered()) == 1
    assert [c.status for c in line.standin.calls("reply")] == [200, 400]


def test_expired_reply_token_is_refused(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)
    line.standin.expire_reply_tokens()

    exc = call_error(line, reply(token, TextMessage(text="late")))

    assert exc.status == 400
    assert error_body(exc)["message"] == "Invalid reply token"
    assert line.standin.delivered() == []


def test_reply_token_expires_after_its_ttl(line: Platform) -> None:
    line.standin.reply_token_ttl = 0.05
    token = line.standin.issue_reply_token(ALICE)
    time.sleep(0.1)

    assert call_error(line, reply(token, TextMessage(text="late"))).status == 400


def test_unknown_reply_token_is_refused(line: Platform) -> None:
    exc = call_error(line, reply("0" * 32, TextMessage(text="x")))
    assert exc.status == 400


def test_six_messages_are_refused(line: Platform) -> None:
    # The SDK refuses six messages itself, so this goes around it.
    token = line.standin.issue_reply_token(ALICE)
    messages = [{"type": "text", "text": str(i)} for i in range(6)]

    response = raw_post(line, "/v2/bot/message/reply", {"replyToken": token, "messages": messages})

    assert response.status_code == 400
    assert response.json()["details"] == [
        {"message": "Size must be between 1 and 5", "property": "messages"}
    ]
    # A refused request does not use up the token.
    five = {"replyToken": token, "messages": messages[:5]}
    assert raw_post(line, "/v2/bot/message/reply", five).status_code == 200
    assert len(line.standin.delivered(ALICE)[0].messages) == 5


def test_text_length_is_counted_in_utf16_units(line: Platform) -> None:
    # 😀 is one code point and two UTF-16 units: 2,500 of them are exactly 5,000 units.
    exactly = "😀" * 2_500
    over = exactly + "a"  # 2,501 code points, 5,001 units: only a UTF-16 count refuses it
    token = line.standin.issue_reply_token(ALICE)

    exc = call_error(line, reply(token, TextMessage(text=over)))

    assert exc.status == 400
    assert error_body(exc) == {
        "message": "The request body has 1 error(s)",
        "details": [
            {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
        ],
    }
    call(line, reply(token, TextMessage(text=exactly)))
    assert line.standin.delivered(ALICE)[0].messages[0]["text"] == exactly


def test_carousel_of_thirteen_bubbles_is_refused(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)
    carousel = FlexCarousel(contents=[bubble() for _ in range(13)])

    exc = call_error(line, reply(token, FlexMessage(alt_text="避難所", contents=carousel)))

    assert exc.status == 400
    assert error_body(exc)["details"][0]["property"] == "messages[0].contents.contents"
    twelve = FlexCarousel(contents=[bubble() for _ in range(12)])
    call(line, reply(token, FlexMessage(alt_text="避難所", contents=twelve)))
    assert len(line.standin.delivered(ALICE)) == 1


def test_limits_only_line_checks(line: Platform) -> None:
    def errors(message: dict[str, Any]) -> list[str]:
        return [d["property"] for d in message_errors([message])]

    flex = {"type": "flex", "altText": "a", "contents": bubble().to_dict()}
    assert errors(flex) == []
    assert errors({**flex, "altText": "あ" * 1_501}) == ["messages[0].altText"]
    assert errors({**flex, "altText": "あ" * 1_500}) == []
    big = bubble("x" * 30_000).to_dict()
    assert errors({**flex, "contents": big}) == ["messages[0].contents"]
    heavy = {"type": "carousel", "contents": [bubble("x" * 5_000).to_dict()] * 11}
    assert errors({**flex, "contents": heavy}) == ["messages[0].contents"]

    def quick(label: str, count: int = 1, kind: str = "message") -> dict[str, Any]:
        action = {"type": kind, "label": label, "text": label}
        items = [{"type": "action", "action": action}] * count
        return {"type": "text", "text": "t", "quickReply": {"items": items}}

    assert errors(quick("x" * 20, 13)) == []
    assert errors(quick("x" * 21)) == ["messages[0].quickReply.items[0].action.label"]
    assert errors(quick("x", 14)) == ["messages[0].quickReply.items"]
    assert errors(quick("位置情報を送る", kind="location")) == []
    # A location action outside a quick reply is refused.
    button = {"type": "button", "action": {"type": "location", "label": "here"}}
    box = {"type": "box", "layout": "vertical", "contents": [button]}
    misplaced = {**flex, "contents": {"type": "bubble", "body": box}}
    assert errors(misplaced) == ["messages[0].contents.body.contents[0].action"]
    # A location *message* is fine.
    place = {"type": "location", "title": "t", "address": "a", "latitude": 33.6, "longitude": 130.4}
    assert errors(place) == []


def test_quick_reply_label_over_20_is_refused_over_http(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)
    item = QuickReplyItem(action=MessageAction(label="あ" * 21, text="x"))
    message = TextMessage(text="t", quick_reply=QuickReply(items=[item]))

    exc = call_error(line, reply(token, message))

    assert exc.status == 400
    assert (
        error_body(exc)["details"][0]["property"] == "messages[0].quickReply.items[0].action.label"
    )


def test_sdk_models_refuse_unknown_types_and_missing_fields(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)
    bad = [
        [{"type": "bogus", "text": "x"}],
        [{"text": "no type"}],
        [{"type": "text"}],
        [{"type": "image", "originalContentUrl": "https://example.org/a.jpg"}],
        [{"type": "flex", "altText": "a", "contents": {"type": "bubble", "size": "huge"}}],
        [{"type": "flex", "altText": "a", "contents": {"type": "carousel", "contents": [{}]}}],
    ]
    for messages in bad:
        response = raw_post(
            line, "/v2/bot/message/reply", {"replyToken": token, "messages": messages}
        )
        assert response.status_code == 400, messages
        body = response.json()
        assert body["message"] == "The request body has 1 error(s)"
        assert body["details"][0]["property"].startswith("messages[0]")
    box = {"type": "box", "layout": "vertical", "contents": [{"type": "nope"}]}
    nested = {"type": "flex", "altText": "a", "contents": {"type": "bubble", "body": box}}
    assert message_errors([nested])[0]["property"] == "messages[0]"
    assert message_errors([{"type": "text", "text": "x"}]) == []
    malformed = raw_post(line, "/v2/bot/message/reply", b"{not json")
    assert malformed.status_code == 400
    assert line.standin.delivered() == []
    assert raw_post(line, "/v2/bot/message/reply", b"x" * 2_000_001).status_code == 413


def test_bad_access_token_is_401(line: Platform) -> None:
    token = line.standin.issue_reply_token(ALICE)

    exc = call_error(line, reply(token, TextMessage(text="x")), token="wrong")

    assert exc.status == 401
    assert error_body(exc)["message"].startswith("Authentication failed.")
    assert line.standin.delivered() == []
    assert line.standin.calls("reply")[0].status == 401


# ----------------------------------------------------------------------------- push and multicast


def test_push_with_a_repeated_retry_key_is_409_and_delivered_once(line: Platform) -> None:
    key = str(uuid.uuid4())
    first = call(line, push(ALICE, TextMessage(text="受付しました"), retry_key=key))

    exc = call_error(line, push(ALICE, TextMessage(text="受付しました"), retry_key=key))

    assert exc.status == 409
    assert exc.headers["x-line-accepted-request-id"]
    assert error_body(exc)["sentMessages"][0]["id"] == first.sent_messages[0].id
    assert len(line.standin.delivered(ALICE)) == 1
    assert line.standin.calls("push")[1].headers["x-line-retry-key"] == key


def test_push_retry_key_must_be_a_uuid(line: Platform) -> None:
    exc = call_error(line, push(ALICE, TextMessage(text="x"), retry_key="not-a-uuid"))
    assert exc.status == 400


def test_push_to_unknown_user_is_400(line: Platform) -> None:
    exc = call_error(line, push("U" + "f" * 32, TextMessage(text="x")))
    assert exc.status == 400
    assert error_body(exc)["message"] == "Failed to send messages"


def test_injected_429_then_success(line: Platform) -> None:
    line.standin.fail_next("push", 429, retry_after=3)
    key = str(uuid.uuid4())

    exc = call_error(line, push(ALICE, TextMessage(text="x"), retry_key=key))

    assert exc.status == 429
    assert exc.headers["Retry-After"] == "3"
    assert line.standin.delivered() == []
    # The refused request was not accepted, so the same retry key goes through now.
    call(line, push(ALICE, TextMessage(text="x"), retry_key=key))
    assert [c.status for c in line.standin.calls("push")] == [429, 200]
    assert len(line.standin.delivered(ALICE)) == 1


def test_injected_500_that_was_accepted_makes_the_retry_409(line: Platform) -> None:
    line.standin.fail_next("push", 500, accepted=True)
    key = str(uuid.uuid4())

    assert call_error(line, push(ALICE, TextMessage(text="x"), retry_key=key)).status == 500
    assert call_error(line, push(ALICE, TextMessage(text="x"), retry_key=key)).status == 409
    assert len(line.standin.delivered(ALICE)) == 1


def test_blocked_user_push_is_accepted_but_not_delivered(line: Platform) -> None:
    unfollow_event(line.standin, ALICE)

    call(line, push(ALICE, TextMessage(text="x")))

    assert line.standin.delivered() == []
    follow_event(line.standin, ALICE, is_unblocked=True)
    call(line, push(ALICE, TextMessage(text="x")))
    assert len(line.standin.delivered(ALICE)) == 1


def test_multicast_gives_one_delivery_per_recipient(line: Platform) -> None:
    request = MulticastRequest(to=[ALICE, BOB, "U" + "f" * 32], messages=[TextMessage(text="避難")])

    call(line, lambda api: api.multicast(request, _request_timeout=5))

    deliveries = line.standin.wait_for_deliveries(2, timeout=2)
    assert sorted(d.to for d in deliveries) == [ALICE, BOB]
    assert {d.via for d in deliveries} == {"multicast"}


def test_wait_for_deliveries_times_out_with_what_it_got(line: Platform) -> None:
    call(line, push(ALICE, TextMessage(text="only one")))
    with pytest.raises(TimeoutError, match="got 1"):
        line.standin.wait_for_deliveries(2, timeout=0.2)


# ----------------------------------------------------------------------------- profile, content


def test_profile_language_and_unknown_user(line: Platform) -> None:
    alice = call(line, lambda api: api.get_profile(ALICE, _request_timeout=5))
    bob = call(line, lambda api: api.get_profile(BOB, _request_timeout=5))

    assert (alice.display_name, alice.language) == ("山田花子", "ja")
    assert bob.language == "en"
    missing = call_error(line, lambda api: api.get_profile("U" + "f" * 32, _request_timeout=5))
    assert missing.status == 404


def test_content_via_the_blob_client(line: Platform) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 100
    line.standin.put_content("468789577898262530", jpeg, "image/jpeg")

    async def fetch(message_id: str) -> Any:
        # Content has its own base URL in production (api-data.line.me): its own client.
        config = Configuration(access_token=TOKEN, host=line.url)
        async with AsyncApiClient(config) as client:
            blob = AsyncMessagingApiBlob(client)
            return await blob.get_message_content_with_http_info(message_id, _request_timeout=5)

    response = asyncio.run(fetch("468789577898262530"))

    assert bytes(response.data) == jpeg
    assert response.headers["Content-Type"] == "image/jpeg"
    with pytest.raises(ApiException) as info:
        asyncio.run(fetch("1"))
    assert info.value.status == 404
    line.standin.expire_content("468789577898262530")
    with pytest.raises(ApiException) as gone:
        asyncio.run(fetch("468789577898262530"))
    assert gone.value.status == 410


def test_bot_info_and_recorded_calls_view(line: Platform) -> None:
    info = call(line, lambda api: api.get_bot_info(_request_timeout=5))
    assert info.user_id == line.standin.bot_user_id

    with httpx.Client(trust_env=False, timeout=5) as client:
        calls = client.get(line.url + "/_standin/calls").json()
    assert calls[0]["endpoint"] == "info"
    assert calls[0]["status"] == 200


# ----------------------------------------------------------------------------- webhook side


def parse(events: list[dict[str, Any]]) -> list[Any]:
    body = webhook_body(events)
    parsed: list[Any] = WebhookParser(SECRET).parse(body.decode(), sign(SECRET, body))
    return parsed


def test_event_builders_parse_into_the_sdk_classes(line: Platform) -> None:
    standin = line.standin
    events = [
        text_event(standin, ALICE, "避難所"),
        location_event(standin, ALICE, 33.5902, 130.4017, title="天神", address="福岡市中央区"),
        location_event("explicit-token", ALICE, 33.5, 130.4),
        image_event(standin, ALICE, "100", image_set=("set1", 1, 2)),
        follow_event(standin, BOB),
        unfollow_event(standin, BOB),
        postback_event(standin, ALICE, "action=report&category=road"),
    ]

    text, place, bare, image, follow, unfollow, postback = parse(events)

    assert isinstance(text, MessageEvent) and isinstance(text.message, TextMessageContent)
    assert text.message.text == "避難所"
    assert text.source.user_id == ALICE
    assert isinstance(place.message, LocationMessageContent)
    assert (place.message.latitude, place.message.title) == (33.5902, "天神")
    assert bare.reply_token == "explicit-token" and bare.message.title is None
    assert isinstance(image.message, ImageMessageContent)
    assert image.message.content_provider.type == "line"
    assert (image.message.image_set.id, image.message.image_set.total) == ("set1", 2)
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is False
    assert isinstance(unfollow, UnfollowEvent)
    assert isinstance(postback, PostbackEvent)
    assert postback.postback.data == "action=report&category=road"
    for event in (text, place, image, follow, postback):
        assert len(event.webhook_event_id) == 26
        assert event.delivery_context.is_redelivery is False
        assert event.mode.value == "active"
    # The reply token the builder took from the stand-in works once.
    call(line, reply(text.reply_token, TextMessage(text="ok")))
    assert line.standin.delivered(ALICE)[0].via == "reply"


def test_redelivered_event_keeps_id_and_token() -> None:
    event = text_event("token", ALICE, "x")
    [again] = parse([redelivered(event)])
    assert again.webhook_event_id == event["webhookEventId"]
    assert again.reply_token == "token"
    assert again.delivery_context.is_redelivery is True


def test_sign_matches_what_the_parser_accepts() -> None:
    body = webhook_body([text_event("token", ALICE, "こんにちは")])
    parser = WebhookParser(SECRET)

    assert len(parser.parse(body.decode(), sign(SECRET, body))) == 1
    with pytest.raises(InvalidSignatureError):
        parser.parse(body.decode(), sign("another-secret", body))


def test_webhook_sender_posts_signed_bodies() -> None:
    received: list[Any] = []
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        body = (await request.body()).decode()
        try:
            received.extend(WebhookParser(SECRET).parse(body, request.headers["x-line-signature"]))
        except (InvalidSignatureError, KeyError):
            return Response(status_code=400)
        return Response(status_code=200)

    with serve(app) as url, WebhookSender(url + "/webhook", SECRET) as sender:
        assert sender.send([text_event("token", ALICE, "hi")]).status_code == 200
        assert sender.send([]).status_code == 200
        assert sender.send_body(b'{"events":[]}', signature="bad").status_code == 400
        assert sender.send_body(b'{"events":[]}', signature="").status_code == 400

    assert [type(e) for e in received] == [MessageEvent]


def test_serve_reraises_startup_errors() -> None:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        raise RuntimeError("database is not there")
        yield

    with (
        pytest.raises(RuntimeError, match="database is not there"),
        serve(FastAPI(lifespan=lifespan)),
    ):
        pass
