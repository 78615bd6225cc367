"""Messages of the nearby-facilities answer: ask for a location, the category menu, and a
Flex carousel of the nearest facilities with a call button, hours and a route link."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from gis.facilities import FacilityCategory
from gis.nearby import NearbyFacility
from service.line.messages import (
    Message,
    carousel,
    clip_text,
    location_quick_reply,
    postback_item,
    route_url,
    text_message,
    walk_text,
)
from service.vocabulary import Lang, label, words

# Text in a bubble is kept short: a bubble must stay under 30 KB, and a phone screen small.
_NAME_MAX = 80
_DETAIL_MAX = 160
_URI_MAX = 1000
# A Japanese phone number: 10 or 11 digits, written with hyphens, spaces or brackets.
_PHONE = re.compile(r"\+?\d[\d\-‐－ー() ]{7,}\d")


def _here(lon: float, lat: float) -> dict[str, str]:
    return {"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}


def ask_location(category: FacilityCategory | None, lang: Lang) -> list[Message]:
    """Ask where to search, for one category or (None) for the menu."""
    w = words(lang)
    if category is None:
        text = w.gettext(
            'Let\'s find facilities near you. Tap "Send location" below and send a spot.'
        )
    else:
        text = w.gettext(
            'Let\'s find the nearest: {label}. Tap "Send location" below and send a spot.',
            label=label(category, lang),
        )
    return [text_message(text, quick_reply=location_quick_reply(lang))]


def not_loaded(category: FacilityCategory | None, lang: Lang) -> list[Message]:
    """The honest answer when no facility of the kind (or none at all) is loaded."""
    w = words(lang)
    if category is None:
        return [text_message(w.gettext("No facility data has been loaded yet."))]
    text = w.gettext(
        "No data for this kind of facility has been loaded yet ({label}).",
        label=label(category, lang),
    )
    return [text_message(text)]


def menu(categories: Sequence[FacilityCategory], lon: float, lat: float, lang: Lang) -> Message:
    """The loaded categories as quick-reply buttons, each searching around the point."""
    items = [
        postback_item(
            label(category, lang), urlencode({"facility": str(category), **_here(lon, lat)})
        )
        for category in categories
    ]
    question = words(lang).gettext("Which facilities are you looking for?")
    return text_message(question, quick_reply={"items": items})


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
    w = words(lang)
    body = [
        _line(clip_text(facility.name, _NAME_MAX), weight="bold", size="lg"),
        _line(label(facility.category, lang), size="xs", color="#888888"),
        _line(walk_text(facility.distance_m, metres_per_minute, lang), weight="bold"),
    ]
    if facility.category is FacilityCategory.AED and facility.category_text:
        where = w.gettext("Where: {text}", text=facility.category_text)
        body.append(_line(where, size="sm"))
    if facility.hours:
        body.append(_line(w.gettext("Hours: {hours}", hours=facility.hours), size="sm"))
    if facility.phone:
        body.append(_line(w.gettext("Phone: {phone}", phone=facility.phone), size="sm"))
    if facility.barrier_free:
        # The file separates its items with ";": written as a list of the language.
        text = facility.barrier_free.replace(";", w.pgettext("clause separator", ", "))
        access = w.gettext("Accessibility: {text}", text=text)
        body.append(_line(access, size="xs", color="#555555"))
    if facility.address:
        body.append(_line(facility.address, size="xs", color="#888888"))
    route = route_url(lat, lon, facility.lat, facility.lon)
    buttons = [_button(w.gettext("Route"), route, primary=True)]
    call = tel_uri(facility.phone)
    if call is not None:
        buttons.insert(0, _button(w.gettext("Call"), call, primary=True))
        buttons[1]["style"] = "secondary"
    web = _web_uri(facility.url)
    if web is not None:
        buttons.append(_button(w.gettext("Website"), web))
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
    w = words(lang)
    kind = label(category, lang)
    if not facilities:
        km = f"{within_km:g}"
        none_near = w.gettext("No {label} within {km} km of this spot.", km=km, label=kind)
        messages = [text_message(none_near)]
    else:
        lines = [w.gettext("■ Nearest: {label}", label=kind)]
        for number, facility in enumerate(facilities, start=1):
            walk = walk_text(facility.distance_m, metres_per_minute, lang)
            lines.append(f"{number}. {facility.name} {walk}")
        if category is FacilityCategory.AED:
            note = w.gettext(
                "Note: an AED may be out of reach while its building is closed. Emergency: 119."
            )
        else:
            note = w.gettext("Note: opening hours change; call ahead before you go.")
        lines += ["", note]
        bubbles = [_bubble(f, lon, lat, lang, metres_per_minute) for f in facilities]
        alt = w.gettext("{n} nearest: {label}", label=kind, n=len(bubbles))
        messages = [text_message("\n".join(lines)), carousel(bubbles, alt)]
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(
        postback_item(
            w.gettext("Other facilities"), urlencode({"facility": "menu", **_here(lon, lat)})
        )
    )
    messages[-1]["quickReply"] = quick_reply
    return messages
