"""The facility vocabulary: the standard open datasets a facility comes from, the categories
residents ask for, and how a facility is categorised.

The codes only: the categories' labels are in service/vocabulary/.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Dataset(StrEnum):
    """Which standard dataset a file is."""

    PUBLIC_FACILITY = "public_facility"
    MEDICAL = "medical"
    AED = "aed"


class FacilityCategory(StrEnum):
    """What residents ask for; the order is the order of the chat's menu."""

    AED = "aed"
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    LIBRARY = "library"
    WARD_OFFICE = "ward_office"
    COMMUNITY_CENTRE = "community_centre"
    OTHER = "other"


DATASET_NAMES: Mapping[Dataset, str] = {
    Dataset.PUBLIC_FACILITY: "公共施設一覧",
    Dataset.MEDICAL: "医療機関一覧",
    Dataset.AED: "AED設置箇所一覧",
}

_CLINIC_WORDS = ("診療所", "クリニック", "医院")
# Words of a facility's type or name, in the order they are tried.
_PUBLIC_WORDS: tuple[tuple[FacilityCategory, tuple[str, ...]], ...] = (
    (FacilityCategory.LIBRARY, ("図書館", "図書室")),
    (
        FacilityCategory.WARD_OFFICE,
        ("区役所", "市役所", "役場", "区民事務所", "出張所", "支所", "庁舎"),
    ),
    (
        FacilityCategory.COMMUNITY_CENTRE,
        (
            "区民センター",
            "ふれあい館",
            "地域センター",
            "集会所",
            "公民館",
            "コミュニティセンター",
            "市民センター",
            "地区会館",
        ),
    ),
    (FacilityCategory.CLINIC, _CLINIC_WORDS),
    (FacilityCategory.HOSPITAL, ("病院",)),
)
# 医療法 第1条の5: a hospital has 20 beds or more; every other 医療機関 is a 診療所.
_HOSPITAL_MIN_BEDS = 20


def categorise(
    dataset: Dataset, type_text: str, name: str, beds: int | None = None
) -> FacilityCategory:
    """Our category from the dataset, the file's own type text, the name, and for 医療機関
    the number of beds."""
    if dataset is Dataset.AED:
        return FacilityCategory.AED
    if dataset is Dataset.MEDICAL:
        if any(word in type_text for word in _CLINIC_WORDS):
            return FacilityCategory.CLINIC
        if "病院" in type_text or (beds or 0) >= _HOSPITAL_MIN_BEDS or "病院" in name:
            return FacilityCategory.HOSPITAL
        return FacilityCategory.CLINIC
    for text in (type_text, name):
        for category, words in _PUBLIC_WORDS:
            if any(word in text for word in words):
                return category
    return FacilityCategory.OTHER
