"""Every message the bot sends, built in one place, in LINE's JSON form.

Japanese first; English for users whose LINE language is English. LINE's server-side limits
(text 5,000 UTF-16 units, altText 1,500 characters, bubble 30 KB, carousel 12 bubbles and
50 KB) are respected here, because the SDK does not check them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from gis.hazards import HazardKind, ShelterHazard, label
from gis.nearby import AreaCheck, HazardHit, NearbySite
from gis.shelter_status import ShelterStatus
from service.localtime import JST

Lang = Literal["ja", "en"]
Message = dict[str, Any]

TEXT_MAX_UTF16 = 5000
ALT_TEXT_MAX = 1500
BUBBLE_MAX_BYTES = 30_000
CAROUSEL_MAX_BUBBLES = 12
CAROUSEL_MAX_BYTES = 50_000
# Status notes are an admin's line or two; a bubble shows this much of one.
STATUS_NOTE_MAX = 200
# Residents read times in Japan time, which keeps one offset all year.


def language_of(line_language: str | None) -> Lang:
    """Our reply language for a LINE language code: English for English, else Japanese."""
    return "en" if line_language and line_language.lower().startswith("en") else "ja"


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit LINE counts text limits in."""
    return len(text.encode("utf-16-le")) // 2


def clip_text(text: str, limit: int = TEXT_MAX_UTF16) -> str:
    """`text` cut to `limit` UTF-16 units, ending in an ellipsis when cut."""
    if utf16_length(text) <= limit:
        return text
    out = []
    used = 0
    for char in text:
        size = utf16_length(char)
        if used + size > limit - 1:
            break
        out.append(char)
        used += size
    return "".join(out) + "…"


_T: dict[str, dict[Lang, str]] = {
    "greeting": {
        "ja": (
            "友だち追加ありがとうございます。\n"
            "位置情報を送ると、その地点の災害リスク（洪水・土砂災害など）と、"
            "近くの指定緊急避難場所をお知らせします。\n"
            "下の「位置情報を送る」を押してください。"
        ),
        "en": (
            "Thank you for adding us.\n"
            "Send a location and we will tell you the hazard zones at that spot (flood, "
            "landslide, …) and the nearest designated evacuation sites.\n"
            'Tap "Send location" below.'
        ),
    },
    "ask_location": {
        "ja": "避難場所とハザード情報を調べます。下の「位置情報を送る」から場所を送ってください。",
        "en": 'Let\'s find shelters and hazards. Tap "Send location" below and send a spot.',
    },
    "help": {
        "ja": (
            "位置情報を送ると、その地点の災害リスクと近くの避難場所をお知らせします。\n"
            "道路の穴や街路灯の故障などは「通報する」から、写真と場所を送って通報できます。\n"
            "「AED」「病院」「図書館」などと送ると、近くの施設をお知らせします。\n"
            "「地域登録」で、登録した地域の防災情報などを受け取れます。"
        ),
        "en": (
            "Send a location to see the hazard zones there and the nearest evacuation sites.\n"
            'To report a pothole, a broken streetlight and the like, tap "Report a problem".\n'
            'Send "AED", "hospital", "library" ... to find the nearest ones.\n'
            '"Register area" gets you alerts for your area.'
        ),
    },
    "send_location": {"ja": "位置情報を送る", "en": "Send location"},
    "register_area": {"ja": "地域登録", "en": "Register area"},
    "how_to_use": {"ja": "使い方", "en": "How to use"},
    "report": {"ja": "通報する", "en": "Report a problem"},
    "report_here": {"ja": "ここの不具合を通報", "en": "Report an issue here"},
    "facilities_here": {"ja": "近くの施設", "en": "Nearby facilities"},
    "hazards_title": {"ja": "■ この地点のハザード", "en": "■ Hazards at this spot"},
    "inside": {"ja": "この地点", "en": "at this spot"},
    "near": {"ja": "約{m}m先", "en": "about {m} m away"},
    "no_hazards": {
        "ja": "この地点は、登録済みの区域（{kinds}）の外です。",
        "en": "This spot is outside the loaded zones ({kinds}).",
    },
    "no_layers": {
        "ja": "ハザード区域のデータはまだ登録されていません。",
        "en": "No hazard zone data has been loaded yet.",
    },
    "flood_note": {
        "ja": (
            "※洪水の区域は国のデータをもとにした概略です。"
            "公式のハザードマップでも確認してください: {url}"
        ),
        "en": (
            "Note: flood zones are an approximation of national data. "
            "Check the official hazard map: {url}"
        ),
    },
    "no_site_for": {
        "ja": "⚠ {area}には「{hazards}」に対応する指定緊急避難場所がありません。",
        "en": "⚠ {area} has no designated evacuation site for: {hazards}.",
    },
    "this_area": {"ja": "この地域", "en": "This area"},
    "outside_area": {
        "ja": (
            "この地点は{area}の外です（境界から約{km}km）。{area}の避難場所を近い順に"
            "表示します。お住まいの自治体の情報も確認してください。"
        ),
        "en": (
            "This spot is outside {area} (about {km} km from its boundary). Below are "
            "{area}'s sites, nearest first; check your own municipality's information too."
        ),
    },
    "sites_title": {"ja": "■ 近くの指定緊急避難場所", "en": "■ Nearest designated sites"},
    "sites_title_for": {
        "ja": "■ 近くの指定緊急避難場所（{hazards}に対応する場所を先に表示）",
        "en": "■ Nearest designated sites ({hazards}-designated first)",
    },
    "no_sites": {"ja": "近くに登録された避難場所がありません。", "en": "No sites are loaded."},
    "walk": {"ja": "{m}m・徒歩約{min}分", "en": "{m} m, about {min} min on foot"},
    "designated_for": {"ja": "対応する災害", "en": "Designated for"},
    "shelter_only": {
        "ja": "指定避難所（滞在用）。災害種別の指定なし",
        "en": "Designated shelter (for staying); no hazard designation",
    },
    "route": {"ja": "ルートを見る", "en": "Route"},
    "declared": {
        "ja": "⚠ 現在の災害: {hazard}。開設中で{hazard}に対応する避難場所を先に表示します。",
        "en": "⚠ Declared disaster: {hazard}. Open sites designated for it are listed first.",
    },
    "status_open": {"ja": "開設中", "en": "Open"},
    "status_full": {"ja": "満員", "en": "Full"},
    "status_closed": {"ja": "閉鎖", "en": "Closed"},
    "updated": {"ja": "更新 {when}", "en": "updated {when}"},
    "site_full": {"ja": "⚠ {name}は満員です（{updated}）", "en": "⚠ {name} is full ({updated})"},
    "site_closed": {
        "ja": "⚠ {name}は閉鎖されています（{updated}）",
        "en": "⚠ {name} is closed ({updated})",
    },
    "alt_sites": {"ja": "近くの避難場所 {n}件", "en": "{n} nearby evacuation sites"},
}


def t(key: str, lang: Lang, **values: object) -> str:
    """A fixed phrase in `lang`, with `values` filled in."""
    return _T[key][lang].format(**values)


def location_quick_reply(lang: Lang) -> dict[str, Any]:
    """Quick replies holding the location button (more items may be appended)."""
    return {
        "items": [
            {"type": "action", "action": {"type": "location", "label": t("send_location", lang)}}
        ]
    }


def postback_item(label: str, data: str) -> dict[str, Any]:
    """A quick-reply button that posts `data` back and shows `label` as the user's words."""
    return {
        "type": "action",
        "action": {"type": "postback", "label": label, "data": data, "displayText": label},
    }


def text_message(text: str, *, quick_reply: dict[str, Any] | None = None) -> Message:
    """A text message, clipped to LINE's limit."""
    message: Message = {"type": "text", "text": clip_text(text)}
    if quick_reply:
        message["quickReply"] = quick_reply
    return message


def greeting(lang: Lang) -> list[Message]:
    """Answer to a follow event: what the bot does, and the location button."""
    return [text_message(t("greeting", lang), quick_reply=location_quick_reply(lang))]


def ask_location(lang: Lang) -> list[Message]:
    """Answer to 避難所 / shelter / ハザード: ask for the location."""
    return [text_message(t("ask_location", lang), quick_reply=location_quick_reply(lang))]


def help_message(lang: Lang) -> list[Message]:
    """Answer to anything the bot does not understand: its two main actions."""
    quick_reply = location_quick_reply(lang)
    label = t("report", lang)
    report = {"type": "postback", "label": label, "data": "report=start", "displayText": label}
    quick_reply["items"].append({"type": "action", "action": report})
    for key in ("register_area", "how_to_use"):
        said = {"type": "message", "label": t(key, lang), "text": t(key, lang)}
        quick_reply["items"].append({"type": "action", "action": said})
    return [text_message(t("help", lang), quick_reply=quick_reply)]


@dataclass(frozen=True)
class LocationAnswer:
    """What the queries found for one location."""

    lon: float
    lat: float
    area: AreaCheck
    hazards: Sequence[HazardHit]
    loaded_kinds: Sequence[HazardKind]
    faced: Sequence[ShelterHazard]
    sites: Sequence[NearbySite]
    # Faced hazards for which no site in the area is designated.
    faced_without_site: Sequence[ShelterHazard]
    # Every hazard for which no site in the area is designated.
    area_without_site: Sequence[ShelterHazard]
    # The hazard an admin declared (None in normal times).
    active_hazard: ShelterHazard | None = None
    # Full or closed sites among the nearest, named even when left out of `sites`.
    unavailable: Sequence[NearbySite] = ()


@dataclass(frozen=True)
class AnswerTexts:
    """The settings that shape the location answer's wording."""

    walking_metres_per_minute: float
    hazard_map_url: str


def walking_minutes(distance_m: float, metres_per_minute: float) -> int:
    """Walking time, rounded up to whole minutes."""
    return max(1, math.ceil(distance_m / metres_per_minute))


def route_url(from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> str:
    """A walking route link that opens in the phone's map app or browser."""
    query = urlencode(
        {
            "api": "1",
            "origin": f"{from_lat:.6f},{from_lon:.6f}",
            "destination": f"{to_lat:.6f},{to_lon:.6f}",
            "travelmode": "walking",
        }
    )
    return f"https://www.google.com/maps/dir/?{query}"


def _join(items: Sequence[str], lang: Lang) -> str:
    return ("・" if lang == "ja" else ", ").join(items)


def status_label(status: ShelterStatus, lang: Lang) -> str:
    """開設中 / 満員 / 閉鎖 (Open / Full / Closed)."""
    return t(f"status_{status}", lang)


def updated_text(at: datetime, lang: Lang) -> str:
    """ "更新 14:05" (today in Japan) or "更新 3/12 14:05"; English "updated …"."""
    local = at.astimezone(JST)
    today = datetime.now(JST).date()
    when = f"{local:%H:%M}" if local.date() == today else f"{local.month}/{local.day} {local:%H:%M}"
    return t("updated", lang, when=when)


def _status_tag(site: NearbySite, lang: Lang) -> str:
    if site.status is None:
        return ""
    name = status_label(site.status, lang)
    return f"【{name}】" if lang == "ja" else f" [{name}]"


def _unavailable_line(site: NearbySite, lang: Lang) -> str:
    updated = updated_text(site.status_updated_at, lang) if site.status_updated_at else ""
    line = t(f"site_{site.status}", lang, name=site.name, updated=updated)
    if site.status_note:
        line += f" {clip_text(site.status_note, STATUS_NOTE_MAX)}"
    return line


def relevant_hazards(hits: Sequence[HazardHit]) -> list[HazardHit]:
    """Per hazard kind: the zones containing the point, or else the nearest zone nearby.

    A point deep in one flood class is usually also within metres of the next class's pixel
    edge; listing those would bury the answer.
    """
    kept: list[HazardHit] = []
    for kind in dict.fromkeys(hit.kind for hit in hits):
        of_kind = [hit for hit in hits if hit.kind is kind]
        inside = [hit for hit in of_kind if hit.inside]
        kept += inside or [min(of_kind, key=lambda hit: hit.distance_m)]
    return kept


def _hazard_line(hit: HazardHit, lang: Lang) -> str:
    where = t("inside", lang) if hit.inside else t("near", lang, m=round(hit.distance_m))
    zone = hit.label_ja if lang == "ja" else hit.label_en
    kind = label(hit.kind, lang)
    if kind.lower() not in zone.lower():
        zone = f"{kind}: {zone}"
    return f"・{zone}（{where}）" if lang == "ja" else f"- {zone} ({where})"


def _hazard_lines(answer: LocationAnswer, lang: Lang, hazard_map_url: str) -> list[str]:
    lines = [t("hazards_title", lang)]
    if not answer.loaded_kinds:
        return [*lines, t("no_layers", lang)]
    if not answer.hazards:
        kinds = _join([label(k, lang) for k in answer.loaded_kinds], lang)
        lines.append(t("no_hazards", lang, kinds=kinds))
    lines += [_hazard_line(hit, lang) for hit in relevant_hazards(answer.hazards)]
    if any(h.kind is HazardKind.FLOOD for h in answer.hazards):
        lines.append(t("flood_note", lang, url=hazard_map_url))
    return lines


def _summary_text(answer: LocationAnswer, lang: Lang, settings: AnswerTexts) -> str:
    area_name = answer.area.area_name or t("this_area", lang)
    lines: list[str] = []
    if answer.active_hazard is not None:
        lines += [t("declared", lang, hazard=label(answer.active_hazard, lang)), ""]
    if not answer.area.inside:
        km = f"{(answer.area.distance_m or 0) / 1000:.1f}"
        lines += [t("outside_area", lang, area=area_name, km=km), ""]
    lines += _hazard_lines(answer, lang, settings.hazard_map_url)
    if answer.faced_without_site:
        names = _join([label(h, lang) for h in answer.faced_without_site], lang)
        lines.append(t("no_site_for", lang, area=area_name, hazards=names))
    lines.append("")
    if answer.faced:
        names = _join([label(h, lang) for h in answer.faced], lang)
        lines.append(t("sites_title_for", lang, hazards=names))
    else:
        lines.append(t("sites_title", lang))
    if not answer.sites:
        lines.append(t("no_sites", lang))
    for number, site in enumerate(answer.sites, start=1):
        minutes = walking_minutes(site.distance_m, settings.walking_metres_per_minute)
        walk = t("walk", lang, m=round(site.distance_m), min=minutes)
        lines.append(f"{number}. {site.name}{_status_tag(site, lang)} {walk}")
    lines += [_unavailable_line(site, lang) for site in answer.unavailable]
    others = [h for h in answer.area_without_site if h not in answer.faced_without_site]
    if others:
        names = _join([label(h, lang) for h in others], lang)
        lines += ["", t("no_site_for", lang, area=area_name, hazards=names)]
    return "\n".join(lines)


_STATUS_COLOURS = {
    ShelterStatus.OPEN: "#1E7F3C",
    ShelterStatus.FULL: "#B35900",
    ShelterStatus.CLOSED: "#B00020",
}


def _status_contents(site: NearbySite, lang: Lang) -> list[dict[str, Any]]:
    """The status badge, its update time and note; nothing when no status was ever set."""
    if site.status is None:
        return []
    badge = status_label(site.status, lang)
    if site.status_updated_at is not None:
        badge += ("・" if lang == "ja" else " · ") + updated_text(site.status_updated_at, lang)
    contents: list[dict[str, Any]] = [
        {
            "type": "text",
            "text": badge,
            "size": "sm",
            "weight": "bold",
            "wrap": True,
            "color": _STATUS_COLOURS[site.status],
        }
    ]
    if site.status_note:
        note = clip_text(site.status_note, STATUS_NOTE_MAX)
        contents.append({"type": "text", "text": note, "size": "sm", "wrap": True})
    return contents


def _site_bubble(
    site: NearbySite, answer: LocationAnswer, lang: Lang, settings: AnswerTexts
) -> dict[str, Any]:
    minutes = walking_minutes(site.distance_m, settings.walking_metres_per_minute)
    if site.hazards:
        designated = _join([label(h, lang) for h in ShelterHazard if h in site.hazards], lang)
        designated = f"{t('designated_for', lang)}: {designated}"
    else:
        designated = t("shelter_only", lang)
    suited = bool(set(answer.faced) & site.hazards)
    body: list[dict[str, Any]] = [
        {"type": "text", "text": site.name, "weight": "bold", "size": "lg", "wrap": True},
        {
            "type": "text",
            "text": t("walk", lang, m=round(site.distance_m), min=minutes),
            "size": "md",
            "color": "#1E7F3C" if suited else "#333333",
            "weight": "bold",
        },
        *_status_contents(site, lang),
        {"type": "text", "text": designated, "size": "sm", "wrap": True, "color": "#555555"},
        {"type": "text", "text": site.address, "size": "xs", "wrap": True, "color": "#888888"},
    ]
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "height": "sm",
                    "action": {
                        "type": "uri",
                        "label": t("route", lang),
                        "uri": route_url(answer.lat, answer.lon, site.lat, site.lon),
                    },
                }
            ],
        },
    }


def _json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def carousel(bubbles: Sequence[dict[str, Any]], alt_text: str) -> Message:
    """A Flex carousel holding as many of `bubbles` as LINE's limits allow."""
    kept: list[dict[str, Any]] = []
    for bubble in bubbles[:CAROUSEL_MAX_BUBBLES]:
        if _json_size(bubble) > BUBBLE_MAX_BYTES:
            continue
        if _json_size({"type": "carousel", "contents": [*kept, bubble]}) > CAROUSEL_MAX_BYTES:
            break
        kept.append(bubble)
    return {
        "type": "flex",
        "altText": alt_text[:ALT_TEXT_MAX],
        "contents": {"type": "carousel", "contents": kept},
    }


def location_answer(answer: LocationAnswer, lang: Lang, settings: AnswerTexts) -> list[Message]:
    """The answer to a location: a short text, then a carousel of the nearest sites; its
    quick replies search again or start a defect report at this spot."""
    messages = [text_message(_summary_text(answer, lang, settings))]
    if answer.sites:
        bubbles = [_site_bubble(site, answer, lang, settings) for site in answer.sites]
        messages.append(carousel(bubbles, t("alt_sites", lang, n=len(bubbles))))
    here = {"lat": f"{answer.lat:.6f}", "lon": f"{answer.lon:.6f}"}
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(
        postback_item(t("report_here", lang), urlencode({"report": "start", **here}))
    )
    quick_reply["items"].append(
        postback_item(t("facilities_here", lang), urlencode({"facility": "menu", **here}))
    )
    messages[-1]["quickReply"] = quick_reply
    return messages
