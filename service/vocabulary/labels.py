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
from service.vocabulary.languages import Lang, language

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


class CityLabels(Protocol):
    """A code the city labels itself, in Japanese and English (`code=日本語|English`)."""

    @property
    def label_ja(self) -> str: ...

    @property
    def label_en(self) -> str: ...


Labelled = ShelterHazard | HazardKind | FacilityCategory | ShelterStatus | CityLabels


def ja_or_en(ja: str, en: str, lang: Lang) -> str:
    """Which of two texts of data given in Japanese and English a language shows (its
    `ja_or_en`); the Japanese when the English is not given."""
    return en if language(lang).ja_or_en == "en" and en else ja


def label(value: Labelled, lang: Lang) -> str:
    """The label of a hazard (洪水), a hazard zone layer (洪水浸水想定区域), a kind of
    facility, a shelter status (開設中) or a city-labelled code, in `lang`."""
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
        return ja_or_en(value.label_ja, value.label_en, lang)
    return words(lang).phrase(phrase)


def join_list(items: Iterable[str], lang: Lang) -> str:
    """Labels in one line, as the language lists them: "洪水・土砂災害" / "Flood, Landslide"."""
    return words(lang).pgettext("list separator", ", ").join(items)


def report_status_label(status: str, lang: Lang) -> str:
    """The label of a report status code (対応中 / in progress); an unknown code as it is."""
    phrase = _REPORT_STATUSES.get(status)
    return words(lang).phrase(phrase) if phrase else status
