"""The bot's common messages and the location answer, in LINE's JSON form.

Words come from the vocabulary (service.vocabulary), in the resident's language. LINE's
server-side limits (text 5,000 UTF-16 units, altText 1,500 characters, bubble 30 KB, carousel
12 bubbles and 50 KB) are respected here, because the SDK does not check them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gis.evacuation import Advice
from gis.facilities import FacilityCategory
from gis.hazards import HazardKind, ShelterHazard
from gis.nearby import AreaCheck, HazardHit, NearbySite
from gis.shelter_status import ShelterStatus
from service.line.advice_messages import advice_lines
from service.localtime import JST
from service.vocabulary import (
    Lang,
    depth_label,
    join_list,
    label,
    landslide_zone_label,
    pick,
    words,
)

Message = dict[str, Any]

TEXT_MAX_UTF16 = 5000
ALT_TEXT_MAX = 1500
BUBBLE_MAX_BYTES = 30_000
CAROUSEL_MAX_BUBBLES = 12
CAROUSEL_MAX_BYTES = 50_000
# Status notes are an admin's line or two; a bubble shows this much of one.
STATUS_NOTE_MAX = 200


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


def location_quick_reply(lang: Lang) -> dict[str, Any]:
    """Quick replies holding the location button (more items may be appended)."""
    send = words(lang).gettext("Send location")
    return {"items": [{"type": "action", "action": {"type": "location", "label": send}}]}


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
    """Answer to a follow event: what the bot does, how to change the language, and the
    location button."""
    text = words(lang).gettext(
        "Thank you for adding us.\n"
        "Send a location and we will tell you what to do there, the hazard zones at that spot "
        "(flood, landslide, …) and the nearest designated evacuation sites.\n"
        'Tap "Send location" below. To change the language, send "language".'
    )
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(language_button(lang))
    return [text_message(text, quick_reply=quick_reply)]


def ask_location(lang: Lang) -> list[Message]:
    """Answer to 避難所 / shelter / ハザード: ask for the location."""
    text = words(lang).gettext(
        'Let\'s find shelters and hazards. Tap "Send location" below and send a spot.'
    )
    return [text_message(text, quick_reply=location_quick_reply(lang))]


def unreadable_location(lat: float, lon: float, lang: Lang) -> list[Message]:
    """Answer to a location that names no place (latitude 1000, NaN): say so, and offer the
    location button again (never a distance to it)."""
    text = words(lang).gettext(
        "This location cannot be read (latitude {lat}, longitude {lon}): it is no place on "
        'Earth. Tap "Send location" below and send the spot again.',
        lat=format(lat, "g"),
        lon=format(lon, "g"),
    )
    return [text_message(text, quick_reply=location_quick_reply(lang))]


def language_button(lang: Lang) -> dict[str, Any]:
    """The quick reply that offers the languages (its label names "Language" in Japanese
    and English too, for someone who landed in a language they do not read)."""
    return postback_item(words(lang).gettext("Language"), "lang=menu")


def help_message(
    lang: Lang, facilities: Sequence[FacilityCategory] = (), *, disaster: bool = False
) -> list[Message]:
    """Answer to anything the bot does not understand: its main actions; defect reports not
    while a disaster is declared (`disaster`), nearby facilities only when some are loaded
    (`facilities`: the kinds loaded)."""
    w = words(lang)
    quick_reply = location_quick_reply(lang)
    lines = [
        w.gettext(
            "Send a location to see what to do there, the hazard zones and the nearest "
            "evacuation sites."
        )
    ]
    if not disaster:
        report = w.gettext("Report a problem")
        quick_reply["items"].append(postback_item(report, "report=start"))
        lines.append(
            w.gettext(
                'To report a pothole, a broken streetlight and the like, tap "Report a problem".'
            )
        )
    said = [w.gettext("Register area"), w.gettext("How to use")]
    if facilities:
        said.insert(0, w.gettext("Nearby facilities"))
        kinds = join_list([label(kind, lang) for kind in facilities], lang)
        lines.append(w.gettext('"Nearby facilities" finds the nearest: {kinds}.', kinds=kinds))
    lines.append(w.gettext('"Register area" gets you alerts for your area.'))
    for text in said:
        action = {"type": "message", "label": text, "text": text}
        quick_reply["items"].append({"type": "action", "action": action})
    quick_reply["items"].append(language_button(lang))
    return [text_message("\n".join(lines), quick_reply=quick_reply)]


@dataclass(frozen=True)
class LocationAnswer:
    """What the queries found for one location."""

    lon: float
    lat: float
    area: AreaCheck
    hazards: Sequence[HazardHit]
    loaded_kinds: Sequence[HazardKind]
    # Hazards of the zones the point is in or near: their designated sites come first.
    faced: Sequence[ShelterHazard]
    sites: Sequence[NearbySite]
    # Every hazard for which no site in the area is designated.
    without_site: Sequence[ShelterHazard]
    # What to do at the point (gis.evacuation).
    advice: Sequence[Advice] = ()
    # The hazard an admin declared (None in normal times).
    active_hazard: ShelterHazard | None = None
    # Full or closed sites among the nearest, named even when left out of `sites`.
    unavailable: Sequence[NearbySite] = ()
    # The nearest site left out because it is designated for none of the faced or declared
    # hazards, when it is nearer than the nearest listed site designated for them.
    skipped: NearbySite | None = None
    # The kinds of facility loaded (none: no "nearby facilities" button).
    facilities: Sequence[FacilityCategory] = ()

    @property
    def wanted(self) -> list[ShelterHazard]:
        """The faced hazards and the declared one: those the sites are chosen for."""
        declared = [self.active_hazard] if self.active_hazard is not None else []
        return list(dict.fromkeys([*self.faced, *declared]))


@dataclass(frozen=True)
class AnswerTexts:
    """The settings that shape the location answer's wording."""

    walking_metres_per_minute: float
    hazard_map_url: str


def walking_minutes(distance_m: float, metres_per_minute: float) -> int:
    """Walking time, rounded up to whole minutes."""
    return max(1, math.ceil(distance_m / metres_per_minute))


def walk_text(distance_m: float, metres_per_minute: float, lang: Lang) -> str:
    """Straight-line distance and the walking time it suggests: "直線350m・徒歩約5分（目安）"
    / "350 m in a straight line, about 5 min on foot (estimate)"."""
    minutes = walking_minutes(distance_m, metres_per_minute)
    return words(lang).gettext(
        "{m} m in a straight line, about {min} min on foot (estimate)",
        m=round(distance_m),
        min=minutes,
    )


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


def updated_text(at: datetime, lang: Lang) -> str:
    """ "更新 14:05" (today in Japan) or "更新 3/12 14:05"; English "updated …"."""
    local = at.astimezone(JST)
    today = datetime.now(JST).date()
    when = f"{local:%H:%M}" if local.date() == today else f"{local.month}/{local.day} {local:%H:%M}"
    return words(lang).gettext("updated {when}", when=when)


def _site_name(site: NearbySite, lang: Lang) -> str:
    if site.status is None:
        return site.name
    status = label(site.status, lang)
    return words(lang).gettext("{name} [{status}]", name=site.name, status=status)


def _unavailable_line(site: NearbySite, lang: Lang) -> str:
    w = words(lang)
    updated = updated_text(site.status_updated_at, lang) if site.status_updated_at else ""
    if site.status is ShelterStatus.FULL:
        line = w.gettext("⚠ {name} is full ({updated})", name=site.name, updated=updated)
    else:
        line = w.gettext("⚠ {name} is closed ({updated})", name=site.name, updated=updated)
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


def zone_text(hit: HazardHit, lang: Lang) -> str:
    """What a zone is: its data's own label where the data gives one in `lang` (Japanese,
    English), else told from its depth class or A33 codes, else the data's label `pick`
    chooses."""
    own = {"ja": hit.label_ja, "en": hit.label_en}.get(lang)
    if own:
        return own
    if hit.landslide is not None:
        return landslide_zone_label(*hit.landslide, lang)
    return depth_label(hit.depth_min_m, hit.depth_max_m, lang) or pick(
        {"ja": hit.label_ja, "en": hit.label_en}, lang
    )


def _hazard_line(hit: HazardHit, lang: Lang) -> str:
    w = words(lang)
    if hit.inside:
        where = w.gettext("at this spot")
    else:
        where = w.gettext("about {m} m away", m=round(hit.distance_m))
    zone = zone_text(hit, lang)
    kind = label(hit.kind, lang)
    if kind.lower() not in zone.lower():
        zone = w.gettext("{kind}: {zone}", kind=kind, zone=zone)
    return w.gettext("- {zone} ({where})", zone=zone, where=where)


def _hazard_lines(answer: LocationAnswer, lang: Lang, hazard_map_url: str) -> list[str]:
    w = words(lang)
    lines = [w.gettext("■ Hazards at this spot")]
    if not answer.loaded_kinds:
        return [*lines, w.gettext("No hazard zone data has been loaded yet.")]
    if not answer.hazards:
        kinds = join_list([label(k, lang) for k in answer.loaded_kinds], lang)
        lines.append(w.gettext("This spot is outside the loaded zones ({kinds}).", kinds=kinds))
    lines += [_hazard_line(hit, lang) for hit in relevant_hazards(answer.hazards)]
    if any(h.kind is HazardKind.FLOOD for h in answer.hazards):
        lines.append(
            w.gettext(
                "Note: flood zones are an approximation of national data. "
                "Check the official hazard map: {url}",
                url=hazard_map_url,
            )
        )
    return lines


def _no_site_line(answer: LocationAnswer, area: str, lang: Lang) -> list[str]:
    """The hazards faced here or declared for which no site of the area is designated."""
    missing = [h for h in answer.wanted if h in answer.without_site]
    if not missing:
        return []
    names = join_list([label(h, lang) for h in missing], lang)
    text = words(lang).gettext(
        "⚠ {area} has no designated evacuation site for: {hazards}.", area=area, hazards=names
    )
    return [text]


def _declared_line(answer: LocationAnswer, lang: Lang) -> list[str]:
    """The declared hazard, promising open sites only when one is listed."""
    if answer.active_hazard is None:
        return []
    w = words(lang)
    hazard = label(answer.active_hazard, lang)
    if any(
        site.status is ShelterStatus.OPEN and answer.active_hazard in site.hazards
        for site in answer.sites
    ):
        text = w.gettext(
            "⚠ Declared disaster: {hazard}. Open sites designated for it are listed first.",
            hazard=hazard,
        )
    else:
        text = w.gettext(
            "⚠ Declared disaster: {hazard}. No site near here has been announced open for it yet.",
            hazard=hazard,
        )
    return [text]


def _skipped_line(answer: LocationAnswer, lang: Lang) -> list[str]:
    skipped = answer.skipped
    if skipped is None:
        return []
    hazards = join_list([label(h, lang) for h in answer.wanted], lang)
    text = words(lang).gettext(
        "Nearer sites not designated for {hazards} are left out; the nearest is {name}, {m} m "
        "in a straight line.",
        hazards=hazards,
        name=skipped.name,
        m=round(skipped.distance_m),
    )
    return [text]


def _summary_text(answer: LocationAnswer, lang: Lang, settings: AnswerTexts) -> str:
    w = words(lang)
    area_name = answer.area.area_name or w.gettext("This area")
    lines: list[str] = []
    if not answer.area.inside:
        km = f"{(answer.area.distance_m or 0) / 1000:.1f}"
        outside = w.gettext(
            "This spot is outside {area} (about {km} km from its boundary). Below are "
            "{area}'s sites, nearest first; check your own municipality's information too.",
            area=area_name,
            km=km,
        )
        lines += [outside, ""]
    advice = advice_lines(answer.advice, lang)
    if advice:
        lines += [*advice, ""]
    lines += _hazard_lines(answer, lang, settings.hazard_map_url)
    lines += _no_site_line(answer, area_name, lang)
    lines.append("")
    if answer.faced:
        names = join_list([label(h, lang) for h in answer.faced], lang)
        lines.append(
            w.gettext("■ Nearest designated sites ({hazards}-designated first)", hazards=names)
        )
    else:
        lines.append(w.gettext("■ Nearest designated sites"))
    lines += _declared_line(answer, lang)
    if not answer.sites:
        lines.append(w.gettext("No sites are loaded."))
    for number, site in enumerate(answer.sites, start=1):
        walk = walk_text(site.distance_m, settings.walking_metres_per_minute, lang)
        lines.append(f"{number}. {_site_name(site, lang)} {walk}")
    lines += _skipped_line(answer, lang)
    lines += [_unavailable_line(site, lang) for site in answer.unavailable]
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
    badge = label(site.status, lang)
    if site.status_updated_at is not None:
        updated = updated_text(site.status_updated_at, lang)
        badge = words(lang).gettext("{status} · {updated}", status=badge, updated=updated)
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
    w = words(lang)
    if site.hazards:
        hazards = join_list([label(h, lang) for h in ShelterHazard if h in site.hazards], lang)
        designated = w.gettext("Designated for: {hazards}", hazards=hazards)
    else:
        designated = w.gettext("Designated shelter (for staying); no hazard designation")
    suited = bool(set(answer.faced) & site.hazards)
    body: list[dict[str, Any]] = [
        {"type": "text", "text": site.name, "weight": "bold", "size": "lg", "wrap": True},
        {
            "type": "text",
            "text": walk_text(site.distance_m, settings.walking_metres_per_minute, lang),
            "size": "md",
            "color": "#1E7F3C" if suited else "#333333",
            "weight": "bold",
            "wrap": True,
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
                        "label": w.gettext("Route"),
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
    """The answer to a location: a short text, then a carousel of the nearest sites. Its
    quick replies search again, start a defect report at this spot (not while a disaster is
    declared) and offer the nearby facilities (only when some are loaded)."""
    w = words(lang)
    messages = [text_message(_summary_text(answer, lang, settings))]
    if answer.sites:
        bubbles = [_site_bubble(site, answer, lang, settings) for site in answer.sites]
        alt = w.gettext("{n} nearby evacuation sites", n=len(bubbles))
        messages.append(carousel(bubbles, alt))
    here = {"lat": f"{answer.lat:.6f}", "lon": f"{answer.lon:.6f}"}
    quick_reply = location_quick_reply(lang)
    if answer.active_hazard is None:
        quick_reply["items"].append(
            postback_item(w.gettext("Report an issue here"), urlencode({"report": "start", **here}))
        )
    if answer.facilities:
        quick_reply["items"].append(
            postback_item(w.gettext("Nearby facilities"), urlencode({"facility": "menu", **here}))
        )
    messages[-1]["quickReply"] = quick_reply
    return messages
