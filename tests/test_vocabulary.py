"""The vocabulary: every shipped catalog is complete and matches the code, the checks catch
what a translator or a developer forgets, a language with a private-use code compiles, and
every code has its label in every language.

The catalogs written under tmp_path here are synthetic test fixtures.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from gis.clusters import STATUSES
from gis.facilities import FacilityCategory
from gis.hazards import HazardKind, ShelterHazard
from gis.shelter_status import ShelterStatus
from service.line import area_chat, area_messages, facility_chat, language_messages, messages
from service.line.keywords import BUNDLED, load_keywords
from service.settings import Category
from service.vocabulary import (
    LANGUAGES,
    CatalogsNotCompiled,
    Language,
    build,
    label,
    language_of,
    pick,
    report_status_label,
    words,
)
from service.vocabulary.catalogs import load_words, po_path
from service.vocabulary.commands import said
from service.vocabulary.pages import install

CODES = [language.code for language in LANGUAGES]


def test_every_shipped_catalog_is_complete_and_matches_the_code() -> None:
    assert build.problems(build.extract()) == []


def _po(
    locale_dir: Path, code: str, entries: dict[str, str], fuzzy: frozenset[str] = frozenset()
) -> None:
    catalog = Catalog(locale="ja", fuzzy=False)
    for msgid, msgstr in entries.items():
        catalog.add(msgid, msgstr, flags=["fuzzy"] if msgid in fuzzy else [])
    path = po_path(code, locale_dir)
    path.parent.mkdir(parents=True)
    with path.open("wb") as out:
        write_po(out, catalog)


def test_the_check_names_each_missing_fuzzy_or_misplaced_message_and_a_stale_template(
    tmp_path: Path,
) -> None:
    template = Catalog(fuzzy=False)
    for msgid in ("Send location", "about {m} m away", "{n} sites", "Route"):
        template.add(msgid)
    # The stored template lacks "Route" (added to the code since) and keeps a removed one.
    stored = Catalog(fuzzy=False)
    for msgid in ("Send location", "about {m} m away", "{n} sites", "Gone"):
        stored.add(msgid)
    with (tmp_path / build.TEMPLATE.name).open("wb") as out:
        write_po(out, stored)
    synthetic = Language("xx", "Test", "ja", pages=True)
    _po(
        tmp_path,
        "xx",
        {"Send location": "", "about {m} m away": "約{metres}m先", "{n} sites": "{n}件"},
        fuzzy=frozenset({"{n} sites"}),
    )
    found = build.problems(
        template, [synthetic, Language("yy", "None", "ja", pages=True)], tmp_path
    )
    assert sorted(found) == sorted(
        [
            "messages.pot: 'Route' is used in the code but missing",
            "messages.pot: 'Gone' is no longer used in the code",
            "xx: 'Route' is not translated",
            "xx: 'Send location' is not translated",
            "xx: 'about {m} m away' has other placeholders: '約{metres}m先'",
            "xx: '{n} sites' is fuzzy: check the translation",
            f"yy: no catalog at {po_path('yy', tmp_path)}",
        ]
    )


def test_a_language_residents_only_read_in_line_needs_only_the_chats_messages(
    tmp_path: Path,
) -> None:
    template = Catalog(fuzzy=False)
    template.add("Send location", locations=[("service/line/messages.py", 1)])
    template.add("Flood", context="hazard", locations=[("service/vocabulary/labels.py", 1)])
    template.add("Log in", locations=[("service/crew/templates/login.html", 1)])
    with (tmp_path / build.TEMPLATE.name).open("wb") as out:
        write_po(out, template)
    _po(tmp_path, "xx", {"Send location": "位置を送る"})
    chat_only = Language("xx", "Test", "ja", fallback="ja")
    found = build.problems(template, [chat_only], tmp_path)
    # The crew page's "Log in" is not asked for; the chat's label is.
    assert found == ["xx: 'Flood' (context 'hazard') is not translated"]
    held = build.messages_for(template, chat_only)
    assert sorted(m.id for m in held if m.id) == ["Flood", "Send location"]


def test_the_shipped_languages_and_where_their_words_show() -> None:
    assert [(each.code, each.name) for each in LANGUAGES] == [
        ("ja", "日本語"),
        ("ja-x-easy", "やさしい日本語"),
        ("en", "English"),
        ("zh-Hans", "简体中文"),
        ("zh-Hant", "繁體中文"),
        ("ko", "한국어"),
        ("vi", "Tiếng Việt"),
    ]
    # The crew and public pages speak Japanese and English; the others are the chat's.
    assert [each.code for each in LANGUAGES if each.pages] == ["ja", "en"]


def test_a_language_with_a_private_use_code_compiles_and_loads(tmp_path: Path) -> None:
    easy = Language("ja-x-easy", "やさしい日本語", "ja", "ja")
    _po(tmp_path, easy.code, {"Send location": "ばしょを おくる"})
    with pytest.raises(CatalogsNotCompiled, match="make setup"):
        load_words(easy.code, tmp_path)
    (written,) = build.compile_catalogs([easy], tmp_path)
    assert written == tmp_path / "ja-x-easy" / "LC_MESSAGES" / "messages.mo"
    assert load_words(easy.code, tmp_path).gettext("Send location") == "ばしょを おくる"


@pytest.mark.parametrize(
    ("line_language", "expected"),
    [
        ("ja", "ja"),
        ("en", "en"),
        ("EN", "en"),
        ("en-GB", "en"),
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("vi", "vi"),
        ("zh-Hans", "zh-Hans"),
        ("zh-Hant", "zh-Hant"),
        ("zh-CN", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh", "zh-Hans"),
        ("ja-x-easy", "ja-x-easy"),
        ("fr", "ja"),
        ("th", "ja"),
        (None, "ja"),
    ],
)
def test_a_line_language_gets_the_same_or_its_base_language_else_japanese(
    line_language: str | None, expected: str
) -> None:
    assert language_of(line_language) == expected


@pytest.mark.parametrize("lang", CODES)
def test_every_code_has_its_own_label_in_every_language(lang: str) -> None:
    families: list[list[str]] = [
        [label(hazard, lang) for hazard in ShelterHazard],
        [label(kind, lang) for kind in HazardKind],
        [label(category, lang) for category in FacilityCategory],
        [label(status, lang) for status in ShelterStatus],
        [report_status_label(status, lang) for status in STATUSES],
    ]
    for labels in families:
        assert all(labels) and len(set(labels)) == len(labels), labels
    # Quick-reply labels: LINE allows 20 characters.
    assert max(len(label(category, lang)) for category in FacilityCategory) <= 20


def test_labels() -> None:
    assert label(ShelterHazard.LANDSLIDE, "ja") == "土砂災害"
    assert label(ShelterHazard.INLAND_FLOOD, "en") == "Inland flooding"
    # Same value "flood" in both enums, different labels.
    assert label(ShelterHazard.FLOOD, "ja") == "洪水"
    assert label(HazardKind.FLOOD, "ja") == "洪水浸水想定区域"
    assert label(HazardKind.LANDSLIDE, "en") == "landslide warning zone"
    assert all(label(h, lang) for h in ShelterHazard for lang in ("ja", "en"))
    assert all(label(k, lang) for k in HazardKind for lang in ("ja", "en"))
    with pytest.raises(ValueError, match="language"):
        label(ShelterHazard.FLOOD, "fr")


def test_one_wording_per_report_status_the_residents_one() -> None:
    assert [report_status_label(status, "ja") for status in STATUSES] == [
        "受付",
        "受理・対応予定",
        "対応中",
        "対応完了",
        "対応できません",
        "他の通報と統合",
    ]


def test_a_citys_label_in_a_language_it_did_not_give_falls_back() -> None:
    both = Category(code="road", label_ja="道路", label_en="Road")
    only_ja = Category(code="park", label_ja="公園", label_en="")
    more = Category(code="road", label_ja="道路", label_en="Road", labels={"ko": "도로"})
    # やさしい日本語 falls back to the Japanese, the other languages to the English, and
    # every language to the Japanese when there is no English.
    assert [label(both, lang) for lang in CODES] == [
        "道路",
        "道路",
        "Road",
        "Road",
        "Road",
        "Road",
        "Road",
    ]
    assert [label(only_ja, lang) for lang in ("en", "zh-Hans", "ja-x-easy")] == ["公園"] * 3
    assert [label(more, lang) for lang in ("ko", "vi", "ja-x-easy")] == ["도로", "Road", "道路"]
    assert pick({"ja": "答え", "en": ""}, "vi") == "答え"


def test_the_bundled_keyword_answers_come_from_the_catalogs() -> None:
    table = load_keywords(BUNDLED)
    found = table.match("火事です")
    assert found is not None
    assert found.message("ja")["text"] == (
        "このアカウントは緊急通報には使えません。火事・救急は119番、事件・事故は110番に"
        "電話してください。道路の緊急の損傷は道路緊急ダイヤル #9910 へ。"
    )
    assert found.message("en")["text"].startswith("This account cannot take emergency calls.")


def test_a_phrase_is_translated_with_its_placeholders_filled() -> None:
    assert words("ja").gettext("about {m} m away", m=120) == "約120m先"
    assert words("en").pgettext("shelter status", "Open") == "Open"
    assert words("ja").pgettext("shelter status", "Open") == "開設中"


def test_pages_get_their_words_through_jinjas_i18n_extension() -> None:
    env = jinja2.Environment(autoescape=True)
    install(env)
    page = env.from_string(
        '<p>{{ _("about {m} m away", m=m) }}</p>'
        '<p>{{ pgettext("shelter status", "Full") }}</p>'
        '<p>{{ ngettext("{n} resident", "{n} residents", 3) }}</p>'
        "<h1>{{ both(title) }}</h1><title>{{ both(title)|string }}</title>"
        '<p>{{ both("⚠ {name} is full ({updated})", name=name, updated="") }}</p>'
    )
    assert page.render(m=120, title="Route", name="<b>王子小学校</b>") == (
        "<p>約120m先</p><p>満員</p><p>3人</p>"
        '<h1>ルートを見る <span lang="en">Route</span></h1><title>ルートを見る Route</title>'
        "<p>⚠ &lt;b&gt;王子小学校&lt;/b&gt;は満員です（） "
        '<span lang="en">⚠ &lt;b&gt;王子小学校&lt;/b&gt; is full ()</span></p>'
    )


@pytest.mark.parametrize("lang", CODES)
def test_every_button_that_sends_words_sends_words_the_bot_understands(lang: str) -> None:
    bundled = load_keywords(BUNDLED)
    shown = [
        *messages.help_message(lang, list(FacilityCategory)),
        *messages.greeting(lang),
        language_messages.chosen(lang),
        area_messages.not_registered(lang),
    ]
    sent = [
        item["action"]["text"]
        for message in shown
        for item in message.get("quickReply", {}).get("items", [])
        if item["action"]["type"] == "message"
    ]
    assert sent
    for text in sent:
        understood = (
            said(area_chat.REGISTER, text)
            or facility_chat.asked_for(text, lang)
            or bundled.match(text) is not None
        )
        assert understood, text
