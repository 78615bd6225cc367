"""What to do first at a point, in the terms of 内閣府「避難情報に関するガイドライン」
(令和3年5月): 立退き避難 (leave for a safe place), 屋内安全確保 (stay, safely, indoors) and
緊急安全確保 (when leaving is too late, the relatively safer place at once).

The rules follow the guideline and the national 避難行動判定フロー, and nothing else; README,
"What to do first", quotes the wording each rests on. Which rule applies is decided from the
data at the point only: the hazard zones it is in or near, the declared hazard, and which
hazards have a designated site at all. The codes only: the words are in the vocabulary.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from gis.hazards import HazardKind, ShelterHazard, shelter_hazard_for
from gis.nearby import HazardHit

# Zones of water that rises and stays: the guideline allows 屋内安全確保 there (洪水等, 高潮),
# under its three conditions.
_STAY_POSSIBLE = (HazardKind.FLOOD, HazardKind.STORM_SURGE, HazardKind.INLAND_FLOOD)
# Hazards no zone layer maps: only the sites designated for them tell a resident where to go.
ZONELESS = (ShelterHazard.EARTHQUAKE, ShelterHazard.LARGE_FIRE, ShelterHazard.VOLCANO)
# Of those, the ones that may strike anywhere, shown outside every zone in normal times too.
_ANYWHERE = (ShelterHazard.EARTHQUAKE, ShelterHazard.LARGE_FIRE)


class Step(StrEnum):
    """One thing to do, in the order a resident reads them."""

    # 立退き避難 from a flood, storm-surge or inland-flood zone.
    EVACUATE = "evacuate"
    # 立退き避難 from a tsunami zone: at once, and staying is not one of the choices.
    EVACUATE_TSUNAMI = "evacuate_tsunami"
    # 立退き避難 from a landslide zone: away from the slope.
    EVACUATE_SLOPE = "evacuate_slope"
    # 屋内安全確保 instead, only when its three conditions hold.
    STAY_IF = "stay_if"
    # 緊急安全確保 from rising water: as high as possible, here or in a sturdy building near.
    EMERGENCY_UP = "emergency_up"
    # 緊急安全確保 from a slope: the room farthest from it, or a sturdy building near.
    EMERGENCY_SLOPE = "emergency_slope"
    # Near a zone but not in it: the ward's evacuation information decides.
    NEAR_ZONE = "near_zone"
    # In and near no mapped zone: safe people need not go to a site.
    SAFE_HERE = "safe_here"
    # A hazard no layer maps (an earthquake, a large fire): the sites designated for it.
    DESIGNATED = "designated"


@dataclass(frozen=True)
class Advice:
    """A step, the hazards (or zone kinds) it is about, whether any site of the area is
    designated for those hazards, and for STAY_IF the depth class of the deepest zone."""

    step: Step
    hazards: tuple[ShelterHazard, ...] = ()
    zones: tuple[HazardKind, ...] = ()
    has_site: bool = True
    depth_min_m: float | None = None
    depth_max_m: float | None = None


def _deepest(hits: Sequence[HazardHit]) -> HazardHit | None:
    """The zone with the deepest water; a class without an upper bound is the deepest."""
    known = [hit for hit in hits if hit.depth_min_m is not None or hit.depth_max_m is not None]
    if not known:
        return None
    return max(
        known,
        key=lambda hit: (
            hit.depth_max_m is None,
            hit.depth_max_m or 0.0,
            hit.depth_min_m or 0.0,
        ),
    )


def advise(
    hits: Sequence[HazardHit],
    loaded: Collection[HazardKind],
    active: ShelterHazard | None,
    without_site: Collection[ShelterHazard],
) -> list[Advice]:
    """What to do at a point with these zone `hits` (inside or near), the zone kinds
    `loaded`, the `active` (declared) hazard, and the hazards `without_site` (no site of the
    area designated for them)."""
    inside_hits = [hit for hit in hits if hit.inside]
    inside = list(dict.fromkeys(hit.kind for hit in inside_hits))
    near = [kind for kind in dict.fromkeys(hit.kind for hit in hits) if kind not in inside]

    def has_site(hazards: Collection[ShelterHazard]) -> bool:
        return any(h not in without_site for h in hazards)

    found: list[Advice] = []
    if HazardKind.TSUNAMI in inside:
        tsunami = (ShelterHazard.TSUNAMI,)
        found.append(Advice(Step.EVACUATE_TSUNAMI, tsunami, has_site=has_site(tsunami)))
    water = [kind for kind in _STAY_POSSIBLE if kind in inside]
    if water:
        hazards = tuple(shelter_hazard_for(kind) for kind in water)
        found.append(Advice(Step.EVACUATE, hazards, has_site=has_site(hazards)))
        if HazardKind.TSUNAMI not in inside:
            deepest = _deepest([hit for hit in inside_hits if hit.kind in water])
            found.append(
                Advice(
                    Step.STAY_IF,
                    hazards,
                    depth_min_m=deepest.depth_min_m if deepest else None,
                    depth_max_m=deepest.depth_max_m if deepest else None,
                )
            )
    if HazardKind.LANDSLIDE in inside:
        slope = (ShelterHazard.LANDSLIDE,)
        found.append(Advice(Step.EVACUATE_SLOPE, slope, has_site=has_site(slope)))
    if water or HazardKind.TSUNAMI in inside:
        found.append(Advice(Step.EMERGENCY_UP))
    if HazardKind.LANDSLIDE in inside:
        found.append(Advice(Step.EMERGENCY_SLOPE))
    if near:
        found.append(Advice(Step.NEAR_ZONE, zones=tuple(near)))
    if not inside and not near and loaded:
        found.append(Advice(Step.SAFE_HERE))
    if active is not None and active in ZONELESS:
        declared = (active,)
        if has_site(declared):
            found.append(Advice(Step.DESIGNATED, declared))
    elif not inside:
        designated = tuple(h for h in _ANYWHERE if h not in without_site)
        if designated:
            found.append(Advice(Step.DESIGNATED, designated))
    return found
