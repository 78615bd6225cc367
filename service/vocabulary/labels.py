"""Labels of codes: hazards and hazard zones, facility kinds, shelter and report statuses,
and the city's own labelled codes (report categories, alert topics).

The spatial core (`gis/`) keeps the codes; their words are here, in the catalogs. One wording
per status everywhere: residents, crews and the public read the same label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Protocol

from gis.facilities import FacilityCategory
from gis.hazards import HazardKind, ShelterHazard
from gis.shelter_status import ShelterStatus
from service.vocabulary.catalogs import Phrase, words
from service.vocabulary.languages import Lang, pick

# Short enough for a chat message and a Flex bubble; Japanese follows the official terms.
_SHELTER_HAZARDS: Final[Mapping[ShelterHazard, Phrase]] = {
    ShelterHazard.FLOOD: Phrase("hazard", "Flood"),
    ShelterHazard.LANDSLIDE: Phrase("hazard", "Landslide"),
    ShelterHazard.STORM_SURGE: Phrase("hazard", "Storm surge"),
    ShelterHazard.EARTHQUAKE: Phrase("hazard", "Earthquake"),
    ShelterHazard.TSUNAMI: Phrase("hazard", "Tsunami"),
    ShelterHazard.LARGE_FIRE: Phrase("hazard", "Large fire"),
    ShelterHazard.INLAND_FLOOD: Phrase("hazard", "Inland flooding"),
    ShelterHazard.VOLCANO: Phrase("hazard", "Volcano"),
}
_HAZARD_ZONES: Final[Mapping[HazardKind, Phrase]] = {
    HazardKind.FLOOD: Phrase("hazard zone", "flood inundation zone"),
    HazardKind.LANDSLIDE: Phrase("hazard zone", "landslide warning zone"),
    HazardKind.TSUNAMI: Phrase("hazard zone", "tsunami inundation zone"),
    HazardKind.STORM_SURGE: Phrase("hazard zone", "storm surge inundation zone"),
    HazardKind.INLAND_FLOOD: Phrase("hazard zone", "inland flooding zone"),
}
# At most 20 characters: they are quick-reply labels.
_FACILITIES: Final[Mapping[FacilityCategory, Phrase]] = {
    FacilityCategory.AED: Phrase("facility", "AED"),
    FacilityCategory.HOSPITAL: Phrase("facility", "Hospital"),
    FacilityCategory.CLINIC: Phrase("facility", "Clinic"),
    FacilityCategory.LIBRARY: Phrase("facility", "Library"),
    FacilityCategory.WARD_OFFICE: Phrase("facility", "Ward / city office"),
    FacilityCategory.COMMUNITY_CENTRE: Phrase("facility", "Community centre"),
    FacilityCategory.HEALTH_CENTRE: Phrase("facility", "Health centre"),
    FacilityCategory.CHILDREN: Phrase("facility", "Children's centre"),
    FacilityCategory.SPORTS: Phrase("facility", "Sports facility"),
    FacilityCategory.PARK: Phrase("facility", "Park"),
    FacilityCategory.OTHER: Phrase("facility", "Other facility"),
}
_SHELTER_STATUSES: Final[Mapping[ShelterStatus, Phrase]] = {
    ShelterStatus.OPEN: Phrase("shelter status", "Open"),
    ShelterStatus.FULL: Phrase("shelter status", "Full"),
    ShelterStatus.CLOSED: Phrase("shelter status", "Closed"),
}
# By the report workflow's status codes (gis.clusters.STATUSES).
_REPORT_STATUSES: Final[Mapping[str, Phrase]] = {
    "received": Phrase("report status", "received"),
    "accepted": Phrase("report status", "accepted"),
    "in_progress": Phrase("report status", "in progress"),
    "resolved": Phrase("report status", "resolved"),
    "rejected": Phrase("report status", "not actionable"),
    "duplicate": Phrase("report status", "merged with another report"),
}


# 国土数値情報 A33 (and PLATEAU's landslide zones): 区域区分 and 現象の種類, by code
# (gis.hazards.A33_ZONE_TYPES, A33_PHENOMENA).
_LANDSLIDE_ZONE_TYPES: Final[Mapping[int, Phrase]] = {
    1: Phrase("landslide zone type", "landslide warning zone"),
    2: Phrase("landslide zone type", "landslide special warning zone"),
    3: Phrase("landslide zone type", "landslide warning zone (not yet designated)"),
    4: Phrase("landslide zone type", "landslide special warning zone (not yet designated)"),
}
_LANDSLIDE_PHENOMENA: Final[Mapping[int, Phrase]] = {
    1: Phrase("landslide phenomenon", "steep slope failure"),
    2: Phrase("landslide phenomenon", "debris flow"),
    3: Phrase("landslide phenomenon", "landslide"),
}


class CityLabels(Protocol):
    """A code the city labels itself: in Japanese and English, and in any other language it
    chooses (`code=日本語|English|zh-Hans:中文`)."""

    @property
    def texts(self) -> Mapping[Lang, str]: ...


Labelled = ShelterHazard | HazardKind | FacilityCategory | ShelterStatus | CityLabels


def label(value: Labelled, lang: Lang) -> str:
    """The label of a hazard (洪水), a hazard zone layer (洪水浸水想定区域), a kind of
    facility, a shelter status (開設中) or a city-labelled code, in `lang` (a city's label
    in a language it did not give: see `pick`)."""
    # ShelterHazard and HazardKind share values ("flood"): dispatch on the class.
    if isinstance(value, ShelterHazard):
        phrase = _SHELTER_HAZARDS[value]
    elif isinstance(value, HazardKind):
        phrase = _HAZARD_ZONES[value]
    elif isinstance(value, FacilityCategory):
        phrase = _FACILITIES[value]
    elif isinstance(value, ShelterStatus):
        phrase = _SHELTER_STATUSES[value]
    else:
        return pick(value.texts, lang)
    return words(lang).phrase(phrase)


def landslide_zone_label(zone_type: int, phenomenon: int, lang: Lang) -> str:
    """A landslide zone by its A33 codes: "土砂災害特別警戒区域（急傾斜地の崩壊）"."""
    w = words(lang)
    return w.gettext(
        "{zone} ({phenomenon})",
        zone=w.phrase(_LANDSLIDE_ZONE_TYPES[zone_type]),
        phenomenon=w.phrase(_LANDSLIDE_PHENOMENA[phenomenon]),
    )


def _metres(value: float) -> str:
    return f"{value:g}"


def depth_label(min_m: float | None, max_m: float | None, lang: Lang) -> str:
    """An inundation depth class: "浸水深 5〜10m" / "depth 5–10 m"; "" when unknown."""
    w = words(lang)
    if max_m is not None and not min_m:
        return w.gettext("depth under {high} m", high=_metres(max_m))
    if max_m is not None and min_m is not None:
        return w.gettext("depth {low}–{high} m", low=_metres(min_m), high=_metres(max_m))
    if min_m is not None:
        return w.gettext("depth {low} m and over", low=_metres(min_m))
    return ""


def join_list(items: Iterable[str], lang: Lang) -> str:
    """Labels in one line, as the language lists them: "洪水・土砂災害" / "Flood, Landslide"."""
    return words(lang).pgettext("list separator", ", ").join(items)


def report_status_label(status: str, lang: Lang) -> str:
    """The label of a report status code (対応中 / in progress); an unknown code as it is."""
    phrase = _REPORT_STATUSES.get(status)
    return words(lang).phrase(phrase) if phrase else status
