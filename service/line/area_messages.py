"""The messages of area registration, topic settings and area alerts (ja first, en).

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
    Lang,
    Message,
    clip_text,
    location_quick_reply,
    text_message,
    utf16_length,
)
from service.settings import Category

# Names the wording of the consent question below ("consent" in _T, both languages); it is
# stored with each registration. Change it whenever that wording changes.
CONSENT_VERSION = "area-consent-1"

_T: dict[str, dict[Lang, str]] = {
    "ask_location": {
        "ja": (
            "お知らせを受け取りたい地点（自宅など）を登録します。"
            "下の「位置情報を送る」から地点を送ってください。"
        ),
        "en": (
            "Let's register the spot you want alerts for (your home, say). "
            'Tap "Send location" below and send it.'
        ),
    },
    "outside": {
        "ja": (
            "この地点は{area}の外のため、登録できません。"
            "{area}内の地点を登録する場合は、もう一度「地域登録」からお送りください。"
        ),
        "en": (
            "This spot is outside {area}, so it cannot be registered. To register a spot in "
            '{area}, start again with "Register area".'
        ),
    },
    "this_area": {"ja": "この地域", "en": "our area"},
    "consent_title": {"ja": "地域登録の確認", "en": "Before you register"},
    "consent": {
        "ja": (
            "この地点を登録すると、次のように扱います。\n"
            "・保存するもの: この地点（{lat}, {lon}）と、選んだお知らせの種類だけです。\n"
            "・使いみち: この地点を含む地域に、防災などのお知らせを送るためだけに使います。\n"
            "・やめたいとき: いつでも「登録解除」と送ってください。地点と設定をすぐに削除します。"
            "\n同意して登録しますか？"
        ),
        "en": (
            "If you register this spot:\n"
            "- What we keep: only this spot ({lat}, {lon}) and the kinds of alerts you choose.\n"
            "- Why: only to send you alerts (disasters and more) for the area around it.\n"
            '- To stop: send "unregister" at any time and we delete the spot and settings '
            "at once.\nDo you agree and register?"
        ),
    },
    "agree": {"ja": "同意して登録", "en": "Agree and register"},
    "decline": {"ja": "登録しない", "en": "Don't register"},
    "declined": {
        "ja": "登録しませんでした。送っていただいた地点は保存していません。",
        "en": "Not registered. The spot you sent was not kept.",
    },
    "registered": {
        "ja": (
            "地域を登録しました。この地点を含む地域のお知らせをお送りします。"
            "受け取るお知らせは下で選べます。やめるときは「登録解除」と送ってください。"
        ),
        "en": (
            "Registered. We will send you alerts for the area around this spot. Choose the "
            'kinds of alerts below; send "unregister" to stop.'
        ),
    },
    "menu_title": {"ja": "配信設定", "en": "Alert settings"},
    "menu_help": {
        "ja": "受け取るお知らせをボタンで切り替えられます。",
        "en": "Switch each kind of alert on or off.",
    },
    "none_chosen": {
        "ja": "いまは何も受け取らない設定です。",
        "en": "You currently receive no alerts.",
    },
    "on": {"ja": "受信中", "en": "On"},
    "off": {"ja": "停止中", "en": "Off"},
    "turn_on": {"ja": "受け取る", "en": "Turn on"},
    "turn_off": {"ja": "止める", "en": "Turn off"},
    "move": {"ja": "地点を変更", "en": "Change spot"},
    "unregister": {"ja": "登録解除", "en": "Unregister"},
    "not_registered": {
        "ja": "地域はまだ登録されていません。「地域登録」から登録できます。",
        "en": 'No area is registered. Send "Register area" to register one.',
    },
    "register_area": {"ja": "地域登録", "en": "Register area"},
    "unregistered": {
        "ja": (
            "地域登録を解除しました。登録地点と配信設定は削除し、今後お知らせは届きません。"
            "もう一度登録するときは「地域登録」と送ってください。"
        ),
        "en": (
            "Unregistered. Your spot and settings are deleted and no more alerts will come. "
            'Send "Register area" to register again.'
        ),
    },
    "alert_header": {"ja": "【{topic}】登録地域のお知らせ", "en": "[{topic}] Alert for your area"},
    "alert_footer": {
        "ja": (
            "登録した地域に向けたお知らせです。種類の変更は「配信設定」、"
            "登録の解除は「登録解除」と送ってください。"
        ),
        "en": 'An alert for your registered area. Send "settings" to choose, "unregister" to stop.',
    },
}


def t(key: str, lang: Lang, **values: object) -> str:
    """A fixed phrase of the area registration in `lang`."""
    return _T[key][lang].format(**values)


def _postback(label: str, data: dict[str, str], shown: str | None = None) -> dict[str, Any]:
    return {
        "type": "postback",
        "label": label,
        "data": urlencode(data),
        "displayText": shown or label,
    }


def _register_quick_reply(lang: Lang) -> dict[str, Any]:
    label = t("register_area", lang)
    return {
        "items": [{"type": "action", "action": {"type": "message", "label": label, "text": label}}]
    }


def ask_location(lang: Lang) -> Message:
    """Answer to 地域登録: ask for the spot, with the location button."""
    return text_message(t("ask_location", lang), quick_reply=location_quick_reply(lang))


def outside(area_name: str | None, lang: Lang) -> Message:
    """A spot outside the service area cannot be registered; how to try again."""
    area = area_name or t("this_area", lang)
    return text_message(t("outside", lang, area=area), quick_reply=_register_quick_reply(lang))


def consent(lon: float, lat: float, lang: Lang) -> Message:
    """The consent question in plain words, with 同意して登録 / 登録しない. The agree button
    carries the spot and the version of this wording."""
    question = t("consent", lang, lat=f"{lat:.5f}", lon=f"{lon:.5f}")
    agree = {"area": "consent", "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "v": CONSENT_VERSION}
    buttons = [
        {"type": "button", "style": "primary", "action": _postback(t("agree", lang), agree)},
        {
            "type": "button",
            "style": "secondary",
            "action": _postback(t("decline", lang), {"area": "decline"}),
        },
    ]
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {"type": "text", "text": t("consent_title", lang), "weight": "bold", "size": "lg"},
                {"type": "text", "text": question, "wrap": True, "size": "sm"},
            ],
        },
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
    }
    return {"type": "flex", "altText": question[:ALT_TEXT_MAX], "contents": bubble}


def plain(key: str, lang: Lang) -> Message:
    """One of the fixed answers: declined, registered, unregistered."""
    return text_message(t(key, lang))


def not_registered(lang: Lang) -> Message:
    """Settings or topics asked for with no registered area."""
    return text_message(t("not_registered", lang), quick_reply=_register_quick_reply(lang))


def _topic_row(topic: Category, on: bool, lang: Lang) -> dict[str, Any]:
    label = topic.label(lang)
    switch = t("turn_off" if on else "turn_on", lang)
    data = {"topics": "off" if on else "on", "code": topic.code}
    return {
        "type": "box",
        "layout": "horizontal",
        "alignItems": "center",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": label, "flex": 3, "wrap": True},
            {
                "type": "text",
                "text": t("on" if on else "off", lang),
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
                "action": _postback(switch, data, f"{label}: {switch}"),
            },
        ],
    }


def topics_menu(topics: Sequence[Category], chosen: Collection[str], lang: Lang) -> Message:
    """Every configured topic, on or off, each with a switch; and change spot / unregister."""
    lines = [
        f"{topic.label(lang)}: {t('on' if topic.code in chosen else 'off', lang)}"
        for topic in topics
    ]
    intro = t("menu_help", lang)
    if not any(topic.code in chosen for topic in topics):
        intro = f"{t('none_chosen', lang)}\n{intro}"
    body: list[dict[str, Any]] = [
        {"type": "text", "text": t("menu_title", lang), "weight": "bold", "size": "lg"},
        {"type": "text", "text": intro, "wrap": True, "size": "sm", "color": "#555555"},
        {"type": "separator"},
        *(_topic_row(topic, topic.code in chosen, lang) for topic in topics),
    ]
    footer = [
        {
            "type": "button",
            "style": "link",
            "height": "sm",
            "action": _postback(t("move", lang), {"area": "start"}),
        },
        {
            "type": "button",
            "style": "link",
            "height": "sm",
            "action": _postback(t("unregister", lang), {"area": "unregister"}),
        },
    ]
    alt = f"{t('menu_title', lang)}\n" + "\n".join(lines)
    return {
        "type": "flex",
        "altText": alt[:ALT_TEXT_MAX],
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": body},
            "footer": {"type": "box", "layout": "horizontal", "contents": footer},
        },
    }


def alert_message(topic: Category, text: str, lang: Lang) -> Message:
    """An alert as residents get it: a header naming the topic, the text (clipped so the
    whole fits LINE's limit), and how to change or stop."""
    header = t("alert_header", lang, topic=topic.label(lang))
    footer = t("alert_footer", lang)
    frame = f"{header}\n\n\n\n{footer}"
    body = clip_text(text, TEXT_MAX_UTF16 - utf16_length(frame))
    return text_message(f"{header}\n\n{body}\n\n{footer}")
