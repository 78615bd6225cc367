"""What to do first (gis.evacuation), in the resident's words: the location answer opens
with these lines. Each step names the guideline's own term (立退き避難, 屋内安全確保,
緊急安全確保) in every language, as the ward's announcements use it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gis.evacuation import Advice, Step
from service.vocabulary import Lang, join_list, label, words

# 国土交通省・厚生労働省「避難確保計画の作成・活用の手引き」: water deeper than 0.5 m is above
# the floor of the 1st floor (床上浸水), deeper than 3 m above the floor of the 2nd (二階の床上).
_ABOVE_FIRST_FLOOR_M = 0.5
_ABOVE_SECOND_FLOOR_M = 3.0


def _metres(value: float) -> str:
    return f"{value:g}"


def _depth(advice: Advice, lang: Lang) -> str | None:
    """How deep the water may get here, and which floor that reaches; None when unknown."""
    w = words(lang)
    deepest = advice.depth_max_m if advice.depth_max_m is not None else advice.depth_min_m
    if deepest is None:
        return None
    if advice.depth_max_m is not None:
        depth = w.gettext("up to {m} m", m=_metres(advice.depth_max_m))
    else:
        depth = w.gettext("{m} m or more", m=_metres(deepest))
    if deepest <= _ABOVE_FIRST_FLOOR_M:
        return w.gettext("{depth}, below floor level", depth=depth)
    if deepest <= _ABOVE_SECOND_FLOOR_M:
        return w.gettext("{depth}, above the floor of the 1st (ground) floor", depth=depth)
    return w.gettext("{depth}, above the floor of the 2nd floor", depth=depth)


def _hazards(advice: Advice, lang: Lang) -> str:
    return join_list([label(h, lang) for h in advice.hazards], lang)


def _line(advice: Advice, lang: Lang) -> str:
    w = words(lang)
    step = advice.step
    if step is Step.EVACUATE:
        if not advice.has_site:
            return w.gettext(
                "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction "
                "(alert level 4), leave for a safe place outside the zone, such as a relative's "
                "or friend's home."
            )
        return w.gettext(
            "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction "
            "(alert level 4), leave for a site designated for {hazards} (list below) or a safe "
            "place outside the zone, such as a relative's or friend's home.",
            hazards=_hazards(advice, lang),
        )
    if step is Step.EVACUATE_TSUNAMI:
        if not advice.has_site:
            return w.gettext(
                "▶ Evacuate (立退き避難) at once: leave the tsunami zone for high ground. "
                "Do not stay at home."
            )
        return w.gettext(
            "▶ Evacuate (立退き避難) at once: leave the tsunami zone for high ground or a site "
            "designated for tsunamis (list below). Do not stay at home."
        )
    if step is Step.EVACUATE_SLOPE:
        if not advice.has_site:
            return w.gettext(
                "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction "
                "(alert level 4), move away from the slope to a safe place."
            )
        return w.gettext(
            "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction "
            "(alert level 4), move away from the slope to a site designated for landslides "
            "(list below) or another safe place."
        )
    if step is Step.STAY_IF:
        depth = _depth(advice, lang)
        if depth is None:
            return w.gettext(
                "▶ Stay indoors (屋内安全確保) only if all three hold: your building is outside "
                "the zone where floods can wash houses away (see the hazard map); your room is "
                "above the water (see the hazard map); you have water and food to wait until "
                "the water goes down."
            )
        return w.gettext(
            "▶ Stay indoors (屋内安全確保) only if all three hold: your building is outside the "
            "zone where floods can wash houses away (see the hazard map); your room is above "
            "the water (here {depth}); you have water and food to wait until the water goes "
            "down.",
            depth=depth,
        )
    if step is Step.EMERGENCY_UP:
        return w.gettext(
            "▶ If it is too late to leave (緊急安全確保): go at once as high as you can, in your "
            "building or a nearby tall, sturdy building."
        )
    if step is Step.EMERGENCY_SLOPE:
        return w.gettext(
            "▶ If it is too late to leave (緊急安全確保): go at once to the room farthest from "
            "the slope, or into a nearby sturdy building."
        )
    if step is Step.NEAR_ZONE:
        zones = join_list([label(kind, lang) for kind in advice.zones], lang)
        return w.gettext(
            "▶ This spot is near a {zones}, not inside it: follow the city's evacuation "
            "information and leave when it tells you to or you feel in danger.",
            zones=zones,
        )
    if step is Step.SAFE_HERE:
        return w.gettext(
            "▶ This spot is outside the mapped hazard zones. If you are safe where you are, you "
            "need not go to an evacuation site; follow the city's evacuation information."
        )
    return w.gettext(
        "▶ {hazards}: if it is not safe where you are, go to a site designated for it (each "
        "site below says what it is designated for).",
        hazards=_hazards(advice, lang),
    )


def advice_lines(advice: Sequence[Advice], lang: Lang) -> list[str]:
    """The "what to do here" part of the location answer; none when there is no advice."""
    if not advice:
        return []
    return [words(lang).gettext("■ What to do here"), *(_line(each, lang) for each in advice)]
