"""Every message the bot builds passes LINE's rules, as the stand-in checks them (the SDK's
own models plus the limits only LINE's server enforces), in every language the bot speaks,
with the longest texts each can hold: every step of what to do, 14 sites with long names,
every kind of facility, the city's labels at their longest.

The sites, facilities and labels here are synthetic test fixtures, not real data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from gis.evacuation import Advice, Step
from gis.facilities import FacilityCategory
from gis.hazards import HazardKind, ShelterHazard
from gis.nearby import AreaCheck, HazardHit, NearbyFacility, NearbySite
from gis.shelter_status import NOTE_MAX, ShelterStatus
from service.line import area_messages as am
from service.line import facility_messages as fm
from service.line import language_messages as lm
from service.line import messages
from service.line import report_messages as rm
from service.line.keywords import BUNDLED, load_keywords
from service.localtime import JST
from service.sandbox import message_errors
from service.settings import ReportSettings, parse_labelled
from service.vocabulary import LANGUAGES, Lang

LANGS = [language.code for language in LANGUAGES]
MORE = [code for code in LANGS if code not in ("ja", "en")]
# The longest labels a city may give: 20 characters in every language.
LONG_LABELS = ";".join(
    f"c{n}=" + "|".join(["長" * 20, "L" * 20, *(f"{code}:" + "字" * 20 for code in MORE)])
    for n in range(13)
)


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
        status=ShelterStatus.FULL,
        status_note="満" * NOTE_MAX,
        status_updated_at=datetime(2024, 1, 1, 5, 7, tzinfo=JST),
    )


# Every step of what to do, at once: no real point has them all.
EVERY_STEP = [
    Advice(Step.EVACUATE_TSUNAMI, (ShelterHazard.TSUNAMI,), has_site=False),
    Advice(Step.EVACUATE, (ShelterHazard.FLOOD, ShelterHazard.STORM_SURGE)),
    Advice(Step.STAY_IF, (ShelterHazard.FLOOD,), depth_min_m=10.0, depth_max_m=20.0),
    Advice(Step.STAY_IF, (ShelterHazard.FLOOD,)),
    Advice(Step.EVACUATE_SLOPE, (ShelterHazard.LANDSLIDE,)),
    Advice(Step.EMERGENCY_UP),
    Advice(Step.EMERGENCY_SLOPE),
    Advice(Step.NEAR_ZONE, zones=tuple(HazardKind)),
    Advice(Step.SAFE_HERE),
    Advice(Step.DESIGNATED, (ShelterHazard.EARTHQUAKE, ShelterHazard.LARGE_FIRE)),
]


@pytest.mark.parametrize("lang", LANGS)
def test_location_answer_fits_line_limits_even_when_long(lang: Lang) -> None:
    hits = [
        HazardHit(HazardKind.FLOOD, "浸水深 5〜10m", "depth 5–10 m", 4, None, True, 0.0, 5.0, 10.0),
        HazardHit(
            HazardKind.LANDSLIDE,
            "土砂災害特別警戒区域（急傾斜地の崩壊）",
            "Landslide special warning zone (steep slope failure)",
            None,
            "K094",
            False,
            44.6,
            landslide=(2, 1),
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
        without_site=list(ShelterHazard),
        advice=EVERY_STEP,
        active_hazard=ShelterHazard.TSUNAMI,
        unavailable=[_site(n) for n in range(1, 15)],
        skipped=_site(0),
        facilities=list(FacilityCategory),
    )
    built = messages.location_answer(
        answer,
        lang,
        messages.AnswerTexts(walking_metres_per_minute=80, hazard_map_url="https://example.org/"),
    )
    _valid(built)
    assert len(built[1]["contents"]["contents"]) == messages.CAROUSEL_MAX_BUBBLES
    # No placeholder left unfilled, in any language.
    assert "{" not in built[0]["text"]


def test_clip_text_counts_utf16_units() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units
    clipped = messages.clip_text(text)
    assert messages.utf16_length(clipped) <= messages.TEXT_MAX_UTF16
    assert clipped.endswith("…")
    assert messages.clip_text("避難所") == "避難所"


def _facility(category: FacilityCategory) -> NearbyFacility:
    return NearbyFacility(
        category=category,
        category_text="1階入口" * 40,
        name="とても長い名前の施設" * 20,
        address="東京都北区王子本町一丁目十五番二十二号" * 4,
        phone="03-3908-1111（代表）",
        hours="9:00-17:00" * 30,
        url="https://example.org/" + "a" * 900,
        barrier_free="車いす;エレベーター;多目的トイレ" * 20,
        lon=139.73,
        lat=35.75,
        distance_m=1234.0,
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_other_message_is_valid_with_the_longest_labels(lang: Lang) -> None:
    settings = ReportSettings(REPORT_CATEGORIES=LONG_LABELS)
    assert len(settings.categories) == 13
    category = settings.categories[0]
    kinds = list(FacilityCategory)
    for built in (
        messages.greeting(lang),
        messages.ask_location(lang),
        messages.help_message(lang, kinds),
        [rm.ask_category(settings.categories, lang)],
        [rm.ask_location(lang)],
        [rm.ask_photos(0, 4, lang), rm.ask_photos(2, 4, lang)],
        [rm.ask_description(500, lang)],
        [rm.confirm(category, "東京都北区王子2-7-1" * 10, 4, "段差" * 250, lang)],
        [rm.submitted(12, True, 3, lang), rm.submitted(12, False, 1, lang)],
        [rm.expired(30, lang), rm.out_of_area("東京都北区", lang), rm.rate_limited(5, lang)],
        rm.status_notice(12, category, "in_progress", "メモ" * 250, lang),
        [lm.menu(lang), lm.chosen(lang)],
        [am.ask_location(lang), am.outside("東京都北区", lang), am.consent(139.7, 35.7, lang)],
        [am.registered(lang), am.unregistered(lang), am.not_registered(lang)],
        [am.topics_menu(settings.categories, ["c1"], lang)],
        [am.alert_message(category, "避難指示" * 2000, lang)],
        fm.ask_location(None, lang),
        fm.not_loaded(FacilityCategory.AED, lang),
        [fm.menu(kinds, 139.7, 35.7, lang)],
        fm.answer(
            FacilityCategory.AED,
            [_facility(FacilityCategory.AED)] * 14,
            139.7,
            35.7,
            lang,
            metres_per_minute=80,
            within_km=5,
        ),
        [entry.message(lang) for entry in load_keywords(BUNDLED).entries],
    ):
        _valid(built)


def test_a_citys_labels_may_be_given_in_every_language_within_lines_limit() -> None:
    (long,) = parse_labelled("c=" + LONG_LABELS.split(";")[0].split("=", 1)[1], "X")
    assert {code: len(text) for code, text in long.texts.items()} == dict.fromkeys(LANGS, 20)
