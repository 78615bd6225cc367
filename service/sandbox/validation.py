"""LINE's rules for outgoing messages, as LINE's server applies them.

`message_errors` answers what LINE would: the count (1-5), each message against the SDK's own
models, and the limits only LINE's server checks (text length in UTF-16, alt texts, bubble
and carousel sizes, quick replies, actions allowed only in a quick reply). The stand-in
refuses with these details, and tests check our message builders with them.
"""

from __future__ import annotations

import json
from typing import Any, Final

from linebot.v3.messaging.models import Message
from pydantic.v1 import ValidationError as SdkValidationError

# LINE's limits (LINE-NOTES.md). The ones only LINE's server checks are the reason this
# stand-in exists: the SDK would let an over-long text through and LINE would refuse it.
MAX_MESSAGES: Final = 5
MAX_TEXT_UTF16: Final = 5_000
MAX_FLEX_ALT_TEXT: Final = 1_500
MAX_TEMPLATE_ALT_TEXT: Final = 400
# "30 KB" / "50 KB" / "2 MB": read as decimal units, the stricter reading, so anything the
# stand-in accepts LINE accepts too. Sizes are of compact UTF-8 JSON.
MAX_BUBBLE_BYTES: Final = 30_000
MAX_CAROUSEL_BYTES: Final = 50_000
MAX_CAROUSEL_BUBBLES: Final = 12
MAX_QUICK_REPLY_ITEMS: Final = 13
MAX_QUICK_REPLY_LABEL: Final = 20
# These actions work only as quick reply buttons; LINE refuses them elsewhere.
QUICK_REPLY_ONLY_ACTIONS: Final = frozenset({"location", "camera", "cameraRoll"})


def detail(prop: str, message: str) -> dict[str, str]:
    """One error detail, as LINE words it: the message and the property it is about."""
    return {"message": message, "property": prop}


def _utf16_len(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _misplaced_actions(value: Any, path: str, under_action: bool) -> list[dict[str, str]]:
    """Quick-reply-only actions found anywhere but in the quick reply."""
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        if under_action and value.get("type") in QUICK_REPLY_ONLY_ACTIONS:
            found.append(detail(path, "This action can only be used in a quick reply"))
        for key, child in value.items():
            if key == "quickReply":
                continue
            is_action = key in ("action", "actions", "defaultAction")
            found += _misplaced_actions(child, f"{path}.{key}", is_action)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _misplaced_actions(child, f"{path}[{i}]", under_action)
    return found


def _limit_errors(msg: dict[str, Any], prop: str) -> list[dict[str, str]]:
    """The limits LINE's server checks and the SDK does not."""
    errors: list[dict[str, str]] = []
    mtype = msg.get("type")
    text = msg.get("text")
    if mtype in ("text", "textV2") and isinstance(text, str) and _utf16_len(text) > MAX_TEXT_UTF16:
        errors.append(detail(f"{prop}.text", f"Length must be between 0 and {MAX_TEXT_UTF16}"))
    alt = msg.get("altText")
    alt_limit = {"flex": MAX_FLEX_ALT_TEXT, "template": MAX_TEMPLATE_ALT_TEXT}.get(str(mtype))
    if alt_limit and isinstance(alt, str) and _utf16_len(alt) > alt_limit:
        errors.append(detail(f"{prop}.altText", f"Length must be between 0 and {alt_limit}"))
    contents = msg.get("contents")
    if mtype == "flex" and isinstance(contents, dict):
        cprop = f"{prop}.contents"
        if contents.get("type") == "bubble" and _json_size(contents) > MAX_BUBBLE_BYTES:
            errors.append(
                detail(cprop, f"The size of a bubble must be {MAX_BUBBLE_BYTES} bytes or less")
            )
        bubbles = contents.get("contents")
        if contents.get("type") == "carousel" and isinstance(bubbles, list):
            if len(bubbles) > MAX_CAROUSEL_BUBBLES:
                errors.append(
                    detail(
                        f"{cprop}.contents", f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}"
                    )
                )
            if _json_size(contents) > MAX_CAROUSEL_BYTES:
                errors.append(
                    detail(
                        cprop, f"The size of a carousel must be {MAX_CAROUSEL_BYTES} bytes or less"
                    )
                )
            for i, bubble in enumerate(bubbles):
                if _json_size(bubble) > MAX_BUBBLE_BYTES:
                    errors.append(
                        detail(
                            f"{cprop}.contents[{i}]",
                            f"The size of a bubble must be {MAX_BUBBLE_BYTES} bytes or less",
                        )
                    )
    quick = msg.get("quickReply")
    items = quick.get("items") if isinstance(quick, dict) else None
    if isinstance(items, list):
        qprop = f"{prop}.quickReply.items"
        if len(items) > MAX_QUICK_REPLY_ITEMS:
            errors.append(detail(qprop, f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}"))
        for i, item in enumerate(items):
            action = item.get("action") if isinstance(item, dict) else None
            label = action.get("label") if isinstance(action, dict) else None
            if isinstance(label, str) and _utf16_len(label) > MAX_QUICK_REPLY_LABEL:
                errors.append(
                    detail(
                        f"{qprop}[{i}].action.label",
                        f"Length must be between 0 and {MAX_QUICK_REPLY_LABEL}",
                    )
                )
    errors += _misplaced_actions(msg, prop, False)
    return errors


def _sdk_errors(msg: dict[str, Any], prop: str) -> list[dict[str, str]]:
    """Validate one message with the SDK's own (pydantic v1) models."""
    try:
        Message.from_dict(msg)
    except SdkValidationError as exc:
        # Nested models are parsed one from_dict at a time, so ``loc`` is relative to
        # ``exc.model``: a precise property only when that is the message itself.
        model = getattr(exc.model, "__name__", "")
        top = model == Message.get_discriminator_value(msg)
        details = []
        for err in exc.errors():
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            if top:
                details.append(detail(f"{prop}{loc}", err["msg"]))
            else:
                details.append(detail(prop, f"{model}{loc}: {err['msg']}"))
        return details
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Unknown discriminator values (component or action types) end up here.
        return [detail(prop, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)]
    return []


def message_errors(messages: Any, prop: str = "messages") -> list[dict[str, str]]:
    """LINE-style error details for a ``messages`` array; empty when LINE would accept it.

    Checks the count (1-5), each message against the SDK's models (unknown types, missing
    or mistyped fields), and the limits only LINE's server checks.
    """
    if not isinstance(messages, list) or not messages:
        return [detail(prop, f"Size must be between 1 and {MAX_MESSAGES}")]
    if len(messages) > MAX_MESSAGES:
        return [detail(prop, f"Size must be between 1 and {MAX_MESSAGES}")]
    errors: list[dict[str, str]] = []
    for i, msg in enumerate(messages):
        mprop = f"{prop}[{i}]"
        if not isinstance(msg, dict):
            errors.append(detail(mprop, "Must be an object"))
            continue
        mtype = msg.get("type")
        if not isinstance(mtype, str) or not mtype:
            errors.append(detail(f"{mprop}.type", "May not be empty"))
            continue
        if Message.get_discriminator_value(msg) is None:
            errors.append(detail(f"{mprop}.type", f"Unknown message type: {mtype}"))
            continue
        limits = _limit_errors(msg, mprop)
        # One set of errors per message is enough; the SDK's paths are less precise.
        errors += limits or _sdk_errors(msg, mprop)
    return errors


def notification_errors(body: dict[str, Any]) -> list[dict[str, str]]:
    """The error of a `notificationDisabled` that is not a boolean."""
    flag = body.get("notificationDisabled")
    if flag is not None and not isinstance(flag, bool):
        return [detail("notificationDisabled", "Must be a boolean")]
    return []
