"""LINE webhook events, built as LINE sends them, for the tests and the chat page.

Each builder takes the stand-in (which issues the event's reply token, and holds an image's
content for download) or a reply token of the caller's own.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

from service.sandbox.ids import message_id as new_message_id
from service.sandbox.ids import quote_token, ulid
from service.sandbox.standin import LinePlatformStandIn


def _token_for(source: LinePlatformStandIn | str, user_id: str) -> str:
    if isinstance(source, LinePlatformStandIn):
        return source.issue_reply_token(user_id)
    return source


def _event(
    event_type: str,
    user_id: str,
    reply_token: str | None,
    timestamp_ms: int | None,
    **fields: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": event_type,
        "mode": "active",
        "timestamp": timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(),
        "deliveryContext": {"isRedelivery": False},
    }
    if reply_token is not None:
        event["replyToken"] = reply_token
    event.update(fields)
    return event


def text_event(
    standin: LinePlatformStandIn | str,
    user_id: str,
    text: str,
    *,
    message_id: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A text message event; ``standin`` issues the reply token, or pass the token itself."""
    message = {
        "type": "text",
        "id": message_id or new_message_id(),
        "text": text,
        "quoteToken": quote_token(),  # without it the SDK parses an UnknownEvent
    }
    return _event("message", user_id, _token_for(standin, user_id), timestamp_ms, message=message)


def location_event(
    standin: LinePlatformStandIn | str,
    user_id: str,
    lat: float,
    lon: float,
    title: str | None = None,
    address: str | None = None,
    *,
    message_id: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A location message event (what the quick reply's location button sends)."""
    message: dict[str, Any] = {
        "type": "location",
        "id": message_id or new_message_id(),
        "latitude": lat,
        "longitude": lon,
    }
    if title is not None:
        message["title"] = title
    if address is not None:
        message["address"] = address
    return _event("message", user_id, _token_for(standin, user_id), timestamp_ms, message=message)


def image_event(
    standin: LinePlatformStandIn | str,
    user_id: str,
    message_id: str,
    image_set: Mapping[str, Any] | tuple[str, int, int] | None = None,
    *,
    content: bytes | None = None,
    content_type: str = "image/jpeg",
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An image message event (content provider ``line``).

    ``image_set`` is ``{"id", "index", "total"}`` or ``(id, index, total)`` for one of several
    images sent at once. With a stand-in and ``content``, the bytes are put for download.
    """
    message: dict[str, Any] = {
        "type": "image",
        "id": message_id,
        "contentProvider": {"type": "line"},
        "quoteToken": quote_token(),  # without it the SDK parses an UnknownEvent
    }
    if isinstance(image_set, tuple):
        set_id, index, total = image_set
        message["imageSet"] = {"id": set_id, "index": index, "total": total}
    elif image_set is not None:
        message["imageSet"] = dict(image_set)
    if content is not None:
        if not isinstance(standin, LinePlatformStandIn):
            raise ValueError("content needs a LinePlatformStandIn to hold it")
        standin.put_content(message_id, content, content_type)
    return _event("message", user_id, _token_for(standin, user_id), timestamp_ms, message=message)


def follow_event(
    standin: LinePlatformStandIn | str,
    user_id: str,
    *,
    is_unblocked: bool = False,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A follow event (friend added, or unblocked); a stand-in also unblocks the user."""
    if isinstance(standin, LinePlatformStandIn):
        standin.set_blocked(user_id, False)
    return _event(
        "follow",
        user_id,
        _token_for(standin, user_id),
        timestamp_ms,
        follow={"isUnblocked": is_unblocked},
    )


def unfollow_event(
    standin: LinePlatformStandIn | None,
    user_id: str,
    *,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An unfollow event (the user blocked the bot); it carries no reply token.

    With a stand-in the user becomes blocked there: pushes answer 200 and deliver nothing,
    profile lookups answer 404.
    """
    if standin is not None:
        standin.set_blocked(user_id, True)
    return _event("unfollow", user_id, None, timestamp_ms)


def postback_event(
    standin: LinePlatformStandIn | str,
    user_id: str,
    data: str,
    params: Mapping[str, str] | None = None,
    *,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A postback event (a postback action was tapped)."""
    postback: dict[str, Any] = {"data": data}
    if params is not None:
        postback["params"] = dict(params)
    return _event(
        "postback", user_id, _token_for(standin, user_id), timestamp_ms, postback=postback
    )


def redelivered(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as LINE redelivers it: identical but for ``isRedelivery: true``."""
    again = copy.deepcopy(dict(event))
    again["deliveryContext"] = {"isRedelivery": True}
    return again
