"""Every message the bot builds passes LINE's rules, as the stand-in checks them (the SDK's
own models plus the limits only LINE's server enforces), in both languages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gis.hazards import HazardKind, ShelterHazard
from gis.nearby import AreaCheck, HazardHit, NearbySite
from service.line import messages
from service.line import report_messages as rm
from service.sandbox import message_errors
from service.settings import ReportSettings
from service.vocabulary import Lang

LANGS = ("ja", "en")


def _valid(built: list[dict[str, Any]]) -> None:
    assert 1 <= len(built) <= 5
    assert message_errors(json.loads(json.dumps(built))) == []


def _site(n: int) -> NearbySite:
    return NearbySite(
        common_id=f"E13117{n:05d}201",
        name="とても長い名前の指定緊急避難場所" * 3,
        address="東京都北区王子本町一丁目十五番二十二号" * 2,
        lon=139.73 + n / 1000,
        lat=35.75,
        hazards=frozenset(ShelterHazard),
        is_emergency_site=True,
        is_shelter=True,
        distance_m=120.0 * n,
    )


@pytest.mark.parametrize("lang", LANGS)
def test_location_answer_fits_line_limits_even_when_long(lang: Lang) -> None:
    hits = [
        HazardHit(HazardKind.FLOOD, "浸水深 5〜10m", "depth 5–10 m", 4, None, True, 0.0),
        HazardHit(
            HazardKind.LANDSLIDE,
            "土砂災害警戒区域（急傾斜地の崩壊）",
            "Landslide warning zone",
            None,
            "K094",
            False,
            44.6,
        ),
    ]
    answer = messages.LocationAnswer(
        lon=139.7,
        lat=35.75,
        area=AreaCheck(inside=False, area_name="東京都北区", distance_m=1234.0),
        hazards=hits,
        loaded_kinds=list(HazardKind),
        faced=[ShelterHazard.FLOOD, ShelterHazard.LANDSLIDE],
        sites=[_site(n) for n in range(1, 15)],
        faced_without_site=[ShelterHazard.TSUNAMI],
        area_without_site=list(ShelterHazard),
    )
    built = messages.location_answer(
        answer,
        lang,
        messages.AnswerTexts(walking_metres_per_minute=80, hazard_map_url="https://example.org/"),
    )
    _valid(built)
    assert len(built[1]["contents"]["contents"]) == messages.CAROUSEL_MAX_BUBBLES


def test_clip_text_counts_utf16_units() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units
    clipped = messages.clip_text(text)
    assert messages.utf16_length(clipped) <= messages.TEXT_MAX_UTF16
    assert clipped.endswith("…")
    assert messages.clip_text("避難所") == "避難所"


@pytest.mark.parametrize("lang", LANGS)
def test_conversation_messages_are_valid(lang: Lang) -> None:
    settings = ReportSettings()
    category = settings.categories[0]
    for built in (
        messages.greeting(lang),
        messages.ask_location(lang),
        messages.help_message(lang),
        [rm.ask_category(settings.categories, lang)],
        [rm.ask_location(lang)],
        [rm.ask_photos(0, 4, lang), rm.ask_photos(2, 4, lang)],
        [rm.ask_description(500, lang)],
        [rm.confirm(category, "東京都北区王子2-7-1", 2, "段差" * 250, lang)],
        [rm.submitted(12, True, 3, lang)],
    ):
        _valid(built)
