"""The hazard vocabulary: zone layers, the GSI shelter flags, official codelists.

The codes only: what people read of them is in service/vocabulary/ (the codelists' own
Japanese and English terms below are data, stored with the zones they describe).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class HazardKind(StrEnum):
    """A hazard zone layer (polygons)."""

    FLOOD = "flood"
    LANDSLIDE = "landslide"
    TSUNAMI = "tsunami"
    STORM_SURGE = "storm_surge"
    INLAND_FLOOD = "inland_flood"


class ShelterHazard(StrEnum):
    """A hazard an emergency evacuation site is designated for, in GSI column order."""

    FLOOD = "flood"
    LANDSLIDE = "landslide"
    STORM_SURGE = "storm_surge"
    EARTHQUAKE = "earthquake"
    TSUNAMI = "tsunami"
    LARGE_FIRE = "large_fire"
    INLAND_FLOOD = "inland_flood"
    VOLCANO = "volcano"


# The exact GSI column names, in the order GSI publishes them.
GSI_FLAG_COLUMNS: dict[str, ShelterHazard] = {
    "洪水": ShelterHazard.FLOOD,
    "崖崩れ、土石流及び地滑り": ShelterHazard.LANDSLIDE,
    "高潮": ShelterHazard.STORM_SURGE,
    "地震": ShelterHazard.EARTHQUAKE,
    "津波": ShelterHazard.TSUNAMI,
    "大規模な火事": ShelterHazard.LARGE_FIRE,
    "内水氾濫": ShelterHazard.INLAND_FLOOD,
    "火山現象": ShelterHazard.VOLCANO,
}

_SHELTER_HAZARD_FOR: dict[HazardKind, ShelterHazard] = {
    HazardKind.FLOOD: ShelterHazard.FLOOD,
    HazardKind.LANDSLIDE: ShelterHazard.LANDSLIDE,
    HazardKind.TSUNAMI: ShelterHazard.TSUNAMI,
    HazardKind.STORM_SURGE: ShelterHazard.STORM_SURGE,
    HazardKind.INLAND_FLOOD: ShelterHazard.INLAND_FLOOD,
}


def shelter_hazard_for(kind: HazardKind) -> ShelterHazard:
    """The GSI flag a site must carry to be suitable for a zone of this kind."""
    return _SHELTER_HAZARD_FOR[kind]


def _metres(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class DepthRange:
    """An inundation depth class: `min_m` <= depth < `max_m` (`max_m` None: no upper bound)."""

    min_m: float
    max_m: float | None
    label_ja: str
    label_en: str

    @classmethod
    def between(cls, min_m: float, max_m: float | None) -> DepthRange:
        """The class from `min_m` to `max_m`, with labels such as "3〜5m" / "3–5 m"."""
        if max_m is None:
            return cls(min_m, None, f"{_metres(min_m)}m以上", f"{_metres(min_m)} m and over")
        if min_m == 0:
            return cls(0.0, max_m, f"{_metres(max_m)}m未満", f"under {_metres(max_m)} m")
        low, high = _metres(min_m), _metres(max_m)
        return cls(min_m, max_m, f"{low}〜{high}m", f"{low}–{high} m")


# 国土数値情報 A31 浸水深ランク.
A31_DEPTH_RANKS: dict[int, DepthRange] = {
    1: DepthRange.between(0.0, 0.5),
    2: DepthRange.between(0.5, 3.0),
    3: DepthRange.between(3.0, 5.0),
    4: DepthRange.between(5.0, 10.0),
    5: DepthRange.between(10.0, 20.0),
    6: DepthRange.between(20.0, None),
}


@dataclass(frozen=True)
class CodeLabel:
    """A codelist entry's labels."""

    ja: str
    en: str


# 国土数値情報 A33 土砂災害警戒区域: 現象の種類 (A33_001) and 区域区分 (A33_002).
# PLATEAU's disaster_type / area_type use the same codes.
A33_PHENOMENA: dict[int, CodeLabel] = {
    1: CodeLabel("急傾斜地の崩壊", "steep slope failure"),
    2: CodeLabel("土石流", "debris flow"),
    3: CodeLabel("地滑り", "landslide"),
}
A33_ZONE_TYPES: dict[int, CodeLabel] = {
    1: CodeLabel("警戒区域", "warning zone"),
    2: CodeLabel("特別警戒区域", "special warning zone"),
    3: CodeLabel("警戒区域（指定前）", "warning zone, not yet designated"),
    4: CodeLabel("特別警戒区域（指定前）", "special warning zone, not yet designated"),
}

_NUMBER = r"(\d+(?:\.\d+)?)\s*(cm|m)?"
_TILDE = r"\s*[~〜]\s*"
_TWO_BOUNDS = (
    re.compile(_NUMBER + r"以上\s*" + _NUMBER + r"未満"),
    re.compile(_NUMBER + r"(?:以上)?\s*[~〜\-–—ー]\s*" + _NUMBER),
)
_UPPER_BOUND = (re.compile(_NUMBER + r"未満"), re.compile("^" + _TILDE + _NUMBER))
_LOWER_BOUND = (re.compile(_NUMBER + r"以上"), re.compile(_NUMBER + _TILDE + "$"))


def _depth_m(number: str, unit: str | None) -> float:
    return float(number) / 100 if unit == "cm" else float(number)


def parse_depth_text(text: str) -> DepthRange | None:
    """Read a free-text depth class ("0.3m以上1m未満", "1～2m", "20ｍ以上", "50cm未満").

    Full-width characters are NFKC-normalised first. Returns None when no bound can be
    read (no number, or a bare number that is neither a range nor "以上"/"未満"); the caller
    then keeps the raw text as the label.
    """
    normal = unicodedata.normalize("NFKC", text).strip().lower()
    for pattern in _TWO_BOUNDS:
        match = pattern.search(normal)
        if match:
            low, low_unit, high, high_unit = match.groups()
            # "1～2m": the unit written once applies to both numbers.
            low_m = _depth_m(low, low_unit or high_unit)
            return DepthRange.between(low_m, _depth_m(high, high_unit or low_unit))
    for pattern in _UPPER_BOUND:
        match = pattern.search(normal)
        if match:
            return DepthRange.between(0.0, _depth_m(*match.groups()))
    for pattern in _LOWER_BOUND:
        match = pattern.search(normal)
        if match:
            return DepthRange.between(_depth_m(*match.groups()), None)
    return None
