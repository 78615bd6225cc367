"""Messages of the nearby-facilities answer: ask for a location, the category menu, and a
Flex carousel of the nearest facilities with a call button, hours and a route link."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from gis.facilities import FacilityCategory, category_label
from gis.nearby import NearbyFacility
from service.line.messages import (
    Lang,
    Message,
    carousel,
    clip_text,
    location_quick_reply,
    postback_item,
    route_url,
    t,
    text_message,
    walking_minutes,
)

# Text in a bubble is kept short: a bubble must stay under 30 KB, and a phone screen small.
_NAME_MAX = 80
_DETAIL_MAX = 160
_URI_MAX = 1000
# A Japanese phone number: 10 or 11 digits, written with hyphens, spaces or brackets.
_PHONE = re.compile(r"\+?\d[\d\-‐－ー() ]{7,}\d")

_P: dict[str, dict[Lang, str]] = {
    "ask_location": {
        "ja": "近くの{label}を探します。下の「位置情報を送る」から場所を送ってください。",
        "en": 'Let\'s find the nearest: {label}. Tap "Send location" below and send a spot.',
    },
    "ask_location_menu": {
        "ja": "近くの施設を探します。下の「位置情報を送る」から場所を送ってください。",
        "en": 'Let\'s find facilities near you. Tap "Send location" below and send a spot.',
    },
    "not_loaded": {
        "ja": "この種類の施設データはまだ登録されていません（{label}）。",
        "en": "No data for this kind of facility has been loaded yet ({label}).",
    },
    "none_loaded": {
        "ja": "施設のデータはまだ登録されていません。",
        "en": "No facility data has been loaded yet.",
    },
    "menu": {"ja": "どの施設を探しますか？", "en": "Which facilities are you looking for?"},
    "none_near": {
        "ja": "この地点から{km}km以内に{label}は見つかりませんでした。",
        "en": "No {label} within {km} km of this spot.",
    },
    "title": {"ja": "■ 近くの{label}（近い順）", "en": "■ Nearest: {label}"},
    "check_hours": {
        "ja": "※開いている時間は変わることがあります。出かける前に電話などで確かめてください。",
        "en": "Note: opening hours change; call ahead before you go.",
    },
    "aed_note": {
        "ja": "※AEDは建物が閉まっている時間は使えないことがあります。急ぐときは119番へ。",
        "en": "Note: an AED may be out of reach while its building is closed. Emergency: 119.",
    },
    "hours": {"ja": "時間: {hours}", "en": "Hours: {hours}"},
    "phone": {"ja": "電話: {phone}", "en": "Phone: {phone}"},
    "where": {"ja": "設置場所: {text}", "en": "Where: {text}"},
    "barrier_free": {"ja": "バリアフリー: {text}", "en": "Accessibility: {text}"},
    "call": {"ja": "電話する", "en": "Call"},
    "website": {"ja": "ホームページ", "en": "Website"},
    "other_facilities": {"ja": "ほかの施設", "en": "Other facilities"},
    "alt": {"ja": "近くの{label} {n}件", "en": "{n} nearest: {label}"},
}


def p(key: str, lang: Lang, **values: object) -> str:
    """A phrase of this feature in `lang`, with `values` filled in."""
    return _P[key][lang].format(**values)


def _here(lon: float, lat: float) -> dict[str, str]:
    return {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}


def ask_location(category: FacilityCategory | None, lang: Lang) -> list[Message]:
    """Ask where to search, for one category or (None) for the menu."""
    text = (
        p("ask_location_menu", lang)
        if category is None
        else p("ask_location", lang, label=category_label(category, lang))
    )
    return [text_message(text, quick_reply=location_quick_reply(lang))]


def not_loaded(category: FacilityCategory | None, lang: Lang) -> list[Message]:
    """The honest answer when no facility of the kind (or none at all) is loaded."""
    if category is None:
        return [text_message(p("none_loaded", lang))]
    return [text_message(p("not_loaded", lang, label=category_label(category, lang)))]


def menu(categories: Sequence[FacilityCategory], lon: float, lat: float, lang: Lang) -> Message:
    """The loaded categories as quick-reply buttons, each searching around the point."""
    items = [
        postback_item(
            category_label(category, lang),
            urlencode({"facility": str(category), **_here(lon, lat)}),
        )
        for category in categories
    ]
    return text_message(p("menu", lang), quick_reply={"items": items})


def tel_uri(phone: str) -> str | None:
    """A `tel:` URI of the first phone number in the text ("03-1234-5678（代表）")."""
    found = _PHONE.search(phone)
    if found is None:
        return None
    digits = re.sub(r"[^\d+]", "", found.group())
    return f"tel:{digits}" if len(digits.lstrip("+")) >= 10 else None


def _web_uri(url: str) -> str | None:
    ok = url.startswith(("https://", "http://")) and len(url) <= _URI_MAX
    return url if ok and not any(char.isspace() for char in url) else None


def _line(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": clip_text(text, _DETAIL_MAX), "wrap": True, **style}


def _button(label: str, uri: str, primary: bool = False) -> dict[str, Any]:
    return {
        "type": "button",
        "style": "primary" if primary else "secondary",
        "height": "sm",
        "action": {"type": "uri", "label": label, "uri": uri},
    }


def _bubble(
    facility: NearbyFacility, lon: float, lat: float, lang: Lang, metres_per_minute: float
) -> dict[str, Any]:
    minutes = walking_minutes(facility.distance_m, metres_per_minute)
    body = [
        _line(clip_text(facility.name, _NAME_MAX), weight="bold", size="lg"),
        _line(category_label(facility.category, lang), size="xs", color="#888888"),
        _line(t("walk", lang, m=round(facility.distance_m), min=minutes), weight="bold"),
    ]
    if facility.category is FacilityCategory.AED and facility.category_text:
        body.append(_line(p("where", lang, text=facility.category_text), size="sm"))
    if facility.hours:
        body.append(_line(p("hours", lang, hours=facility.hours), size="sm"))
    if facility.phone:
        body.append(_line(p("phone", lang, phone=facility.phone), size="sm"))
    if facility.barrier_free:
        text = facility.barrier_free.replace(";", "、" if lang == "ja" else ", ")
        body.append(_line(p("barrier_free", lang, text=text), size="xs", color="#555555"))
    if facility.address:
        body.append(_line(facility.address, size="xs", color="#888888"))
    route = route_url(lat, lon, facility.lat, facility.lon)
    buttons = [_button(t("route", lang), route, primary=True)]
    call = tel_uri(facility.phone)
    if call is not None:
        buttons.insert(0, _button(p("call", lang), call, primary=True))
        buttons[1]["style"] = "secondary"
    web = _web_uri(facility.url)
    if web is not None:
        buttons.append(_button(p("website", lang), web))
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
    }


def answer(
    category: FacilityCategory,
    facilities: Sequence[NearbyFacility],
    lon: float,
    lat: float,
    lang: Lang,
    *,
    metres_per_minute: float,
    within_km: float,
) -> list[Message]:
    """The nearest facilities: a short list, then a carousel; quick replies search again or
    show the other kinds of facility around the same spot."""
    label = category_label(category, lang)
    if not facilities:
        messages = [text_message(p("none_near", lang, km=f"{within_km:g}", label=label))]
    else:
        lines = [p("title", lang, label=label)]
        for number, facility in enumerate(facilities, start=1):
            minutes = walking_minutes(facility.distance_m, metres_per_minute)
            walk = t("walk", lang, m=round(facility.distance_m), min=minutes)
            lines.append(f"{number}. {facility.name} {walk}")
        note = "aed_note" if category is FacilityCategory.AED else "check_hours"
        lines += ["", p(note, lang)]
        bubbles = [_bubble(f, lon, lat, lang, metres_per_minute) for f in facilities]
        alt = p("alt", lang, label=label, n=len(bubbles))
        messages = [text_message("\n".join(lines)), carousel(bubbles, alt)]
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(
        postback_item(
            p("other_facilities", lang), urlencode({"facility": "menu", **_here(lon, lat)})
        )
    )
    messages[-1]["quickReply"] = quick_reply
    return messages
