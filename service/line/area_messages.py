"""The messages of area registration, topic settings and area alerts.

Postback data sent by these messages is parsed by service.line.area_chat: `area=…` for the
registration, `topics=on|off&code=…` for the topic switches.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlencode

from service.line.messages import (
    ALT_TEXT_MAX,
    TEXT_MAX_UTF16,
    Message,
    clip_text,
    location_quick_reply,
    text_message,
    utf16_length,
)
from service.settings import Category
from service.vocabulary import Lang, label, words

# Names the wording of the consent question below (`consent`, in every language); it is
# stored with each registration. Change it whenever that wording changes.
CONSENT_VERSION = "area-consent-1"


def _postback(label: str, data: dict[str, str], shown: str | None = None) -> dict[str, Any]:
    return {
        "type": "postback",
        "label": label,
        "data": urlencode(data),
        "displayText": shown or label,
    }


def _register_quick_reply(lang: Lang) -> dict[str, Any]:
    said = words(lang).gettext("Register area")
    return {
        "items": [{"type": "action", "action": {"type": "message", "label": said, "text": said}}]
    }


def ask_location(lang: Lang) -> Message:
    """Answer to 地域登録: ask for the spot, with the location button."""
    text = words(lang).gettext(
        "Let's register the spot you want alerts for (your home, say). "
        'Tap "Send location" below and send it.'
    )
    return text_message(text, quick_reply=location_quick_reply(lang))


def outside(area_name: str | None, lang: Lang) -> Message:
    """A spot outside the service area cannot be registered; how to try again."""
    w = words(lang)
    text = w.gettext(
        "This spot is outside {area}, so it cannot be registered. To register a spot in "
        '{area}, start again with "Register area".',
        area=area_name or w.gettext("our area"),
    )
    return text_message(text, quick_reply=_register_quick_reply(lang))


def consent(lon: float, lat: float, lang: Lang) -> Message:
    """The consent question in plain words, with 同意して登録 / 登録しない. The agree button
    carries the spot and the version of this wording."""
    w = words(lang)
    spot = {"lat": f"{lat:.5f}", "lon": f"{lon:.5f}"}
    question = w.gettext(
        "If you register this spot:\n"
        "- What we keep: only this spot ({lat}, {lon}) and the kinds of alerts you choose.\n"
        "- Why: only to send you alerts (disasters and more) for the area around it.\n"
        '- To stop: send "unregister" at any time and we delete the spot and settings '
        "at once.\nDo you agree and register?",
        **spot,
    )
    agree = {"area": "consent", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "v": CONSENT_VERSION}
    buttons = [
        {
            "type": "button",
            "style": "primary",
            "action": _postback(w.gettext("Agree and register"), agree),
        },
        {
            "type": "button",
            "style": "secondary",
            "action": _postback(w.gettext("Don't register"), {"area": "decline"}),
        },
    ]
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": w.gettext("Before you register"),
                    "weight": "bold",
                    "size": "lg",
                },
                {"type": "text", "text": question, "wrap": True, "size": "sm"},
            ],
        },
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
    }
    return {"type": "flex", "altText": question[:ALT_TEXT_MAX], "contents": bubble}


def declined(lang: Lang) -> Message:
    """The resident did not agree: nothing was kept."""
    return text_message(words(lang).gettext("Not registered. The spot you sent was not kept."))


def registered(lang: Lang) -> Message:
    """The spot is registered; the topic switches follow."""
    text = words(lang).gettext(
        "Registered. We will send you alerts for the area around this spot. Choose the "
        'kinds of alerts below; send "unregister" to stop.'
    )
    return text_message(text)


def unregistered(lang: Lang) -> Message:
    """The registration is deleted."""
    text = words(lang).gettext(
        "Unregistered. Your spot and settings are deleted and no more alerts will come. "
        'Send "Register area" to register again.'
    )
    return text_message(text)


def not_registered(lang: Lang) -> Message:
    """Settings or topics asked for with no registered area."""
    text = words(lang).gettext('No area is registered. Send "Register area" to register one.')
    return text_message(text, quick_reply=_register_quick_reply(lang))


def _state(on: bool, lang: Lang) -> str:
    w = words(lang)
    return w.pgettext("alert topic", "On") if on else w.pgettext("alert topic", "Off")


def _topic_row(topic: Category, on: bool, lang: Lang) -> dict[str, Any]:
    w = words(lang)
    name = label(topic, lang)
    switch = w.gettext("Turn off") if on else w.gettext("Turn on")
    data = {"topics": "off" if on else "on", "code": topic.code}
    return {
        "type": "box",
        "layout": "horizontal",
        "alignItems": "center",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": name, "flex": 3, "wrap": True},
            {
                "type": "text",
                "text": _state(on, lang),
                "flex": 2,
                "size": "sm",
                "color": "#1E7F3C" if on else "#888888",
                "weight": "bold" if on else "regular",
            },
            {
                "type": "button",
                "flex": 2,
                "height": "sm",
                "style": "secondary" if on else "primary",
                "action": _postback(switch, data, f"{name}: {switch}"),
            },
        ],
    }


def topics_menu(topics: Sequence[Category], chosen: Collection[str], lang: Lang) -> Message:
    """Every configured topic, on or off, each with a switch; and change spot / unregister."""
    w = words(lang)
    title = w.gettext("Alert settings")
    lines = [f"{label(topic, lang)}: {_state(topic.code in chosen, lang)}" for topic in topics]
    intro = w.gettext("Switch each kind of alert on or off.")
    if not any(topic.code in chosen for topic in topics):
        intro = f"{w.gettext('You currently receive no alerts.')}\n{intro}"
    body: list[dict[str, Any]] = [
        {"type": "text", "text": title, "weight": "bold", "size": "lg"},
        {"type": "text", "text": intro, "wrap": True, "size": "sm", "color": "#555555"},
        {"type": "separator"},
        *(_topic_row(topic, topic.code in chosen, lang) for topic in topics),
    ]
    footer = [
        {
            "type": "button",
            "style": "link",
            "height": "sm",
            "action": _postback(w.gettext("Change spot"), {"area": "start"}),
        },
        {
            "type": "button",
            "style": "link",
            "height": "sm",
            "action": _postback(w.gettext("Unregister"), {"area": "unregister"}),
        },
    ]
    alt = f"{title}\n" + "\n".join(lines)
    return {
        "type": "flex",
        "altText": alt[:ALT_TEXT_MAX],
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": body},
            "footer": {"type": "box", "layout": "horizontal", "contents": footer},
        },
    }


def alert_message(topic: Category | None, text: str, lang: Lang) -> Message:
    """An alert as residents get it: a header naming the topic ("-" for a topic no longer
    configured), the text (clipped so the whole fits LINE's limit), and how to change or
    stop."""
    w = words(lang)
    name = label(topic, lang) if topic else "-"
    header = w.gettext("[{topic}] Alert for your area", topic=name)
    footer = w.gettext(
        'An alert for your registered area. Send "settings" to choose, "unregister" to stop.'
    )
    frame = f"{header}\n\n\n\n{footer}"
    body = clip_text(text, TEXT_MAX_UTF16 - utf16_length(frame))
    return text_message(f"{header}\n\n{body}\n\n{footer}")
