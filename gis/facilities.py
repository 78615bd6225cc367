"""The facility vocabulary: the standard open datasets a facility comes from, the categories
residents ask for, and how a facility is categorised.

The codes only: the categories' labels are in service/vocabulary/.
"""

from __future__ import annotations

import re
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
    HEALTH_CENTRE = "health_centre"
    CHILDREN = "children"
    SPORTS = "sports"
    PARK = "park"
    OTHER = "other"


DATASET_NAMES: Mapping[Dataset, str] = {
    Dataset.PUBLIC_FACILITY: "公共施設一覧",
    Dataset.MEDICAL: "医療機関一覧",
    Dataset.AED: "AED設置箇所一覧",
}

_CLINIC_WORDS = ("診療所", "クリニック", "医院")
# 医療法 第1条の5: a hospital has 20 beds or more; every other 医療機関 is a 診療所.
_HOSPITAL_MIN_BEDS = 20

# The POIコード column of 公共施設一覧 (推奨データセット and 自治体標準オープンデータセット): the
# four-digit codes of 行政基本情報データ連携モデル POIコード (標準ガイドライン群 1015-6,
# 2019-03-28). The file's own classification comes first; codes not listed are "other".
_POI_CODES: Mapping[str, FacilityCategory] = {
    **dict.fromkeys(("1301", "1302", "1303", "1304"), FacilityCategory.WARD_OFFICE),
    **dict.fromkeys(("1305", "1307", "1308", "1309"), FacilityCategory.COMMUNITY_CENTRE),
    "1512": FacilityCategory.LIBRARY,
    "1601": FacilityCategory.HOSPITAL,
    **dict.fromkeys(("1602", "1603"), FacilityCategory.CLINIC),
    "1606": FacilityCategory.HEALTH_CENTRE,
    "1403": FacilityCategory.CHILDREN,
    **dict.fromkeys(
        # stadium, athletics, baseball, ball games, multi-purpose ground, pool, gymnasium,
        # 柔道/剣道/武道/空手 halls, tennis, archery, skating, training, other sports
        (
            str(n)
            for n in (
                *range(1101, 1105),
                1106,
                1107,
                *range(1110, 1115),
                1116,
                1120,
                1123,
                1133,
                1199,
            )
        ),
        FacilityCategory.SPORTS,
    ),
    **dict.fromkeys(("1002", "1003", "1005"), FacilityCategory.PARK),
    "2110": FacilityCategory.AED,
}

# A facility's own kind, when the file gives no code, is told by how its type text or its
# name ENDS (after a bracketed note): "…区役所前駅第一自転車駐車場" is a bicycle park, not a
# ward office, and "北区保健所" is a health centre. In the order tried.
_ENDINGS: tuple[tuple[FacilityCategory, re.Pattern[str]], ...] = tuple(
    (category, re.compile(f"(?:{pattern})$"))
    for category, pattern in (
        (FacilityCategory.LIBRARY, "図書館|図書室|図書館分室"),
        # An office's own annexes count; a 出張所 alone may be a fire station's.
        (
            FacilityCategory.WARD_OFFICE,
            "(?:区役所|市役所|町役場|村役場|役場|区民事務所)"
            "(?:本庁舎|第.庁舎|庁舎|別館|分室|出張所|支所)?",
        ),
        (
            FacilityCategory.HEALTH_CENTRE,
            "保健所|保健センター|健康福祉センター|保健福祉センター|健康支援センター",
        ),
        (FacilityCategory.CHILDREN, "児童館|児童センター"),
        (
            FacilityCategory.COMMUNITY_CENTRE,
            "区民センター|地域センター|市民センター|コミュニティセンター|集会所|公民館|"
            "地区会館|区民会館|ふれあい館|公会堂",
        ),
        (
            FacilityCategory.SPORTS,
            "体育館|スポーツセンター|スポーツ広場|運動場|競技場|野球場|プール|テニスコート|"
            "武道館|武道場|弓道場",
        ),
        (FacilityCategory.PARK, "公園|緑地|児童遊園|緑道"),
        (FacilityCategory.CLINIC, "|".join(_CLINIC_WORDS)),
        (FacilityCategory.HOSPITAL, "病院"),
    )
)
# A note after the name: "王子図書館（北区中央図書館内）", "北区役所 (第一庁舎)".
_NOTE = re.compile(r"\s*[（(][^（()）]*[)）]\s*$")


def poi_category(code: str) -> FacilityCategory | None:
    """The category of a POIコード as files write it ("1512", "0801", "801"); None for a
    value that is no four-digit code. A code of no kind residents ask for is OTHER."""
    digits = code.strip()
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (3, 4):
        return None
    return _POI_CODES.get(digits.zfill(4), FacilityCategory.OTHER)


def _by_ending(text: str) -> FacilityCategory | None:
    trimmed = _NOTE.sub("", text.replace("\u3000", " ")).strip()
    return next((c for c, ending in _ENDINGS if ending.search(trimmed)), None)


def categorise(
    dataset: Dataset,
    type_text: str,
    name: str,
    beds: int | None = None,
    poi_code: str = "",
) -> FacilityCategory:
    """Our category from the dataset, the file's POIコード, its own type text, the name, and
    for 医療機関 the number of beds. A POI code settles it; otherwise the type text's or the
    name's ending (never a word somewhere inside the name)."""
    if dataset is Dataset.AED:
        return FacilityCategory.AED
    if dataset is Dataset.MEDICAL:
        if any(word in type_text for word in _CLINIC_WORDS):
            return FacilityCategory.CLINIC
        if "病院" in type_text or (beds or 0) >= _HOSPITAL_MIN_BEDS or "病院" in name:
            return FacilityCategory.HOSPITAL
        return FacilityCategory.CLINIC
    from_code = poi_category(poi_code) if poi_code else None
    if from_code is not None:
        return from_code
    return _by_ending(type_text) or _by_ending(name) or FacilityCategory.OTHER
