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
from service.line.keywords import BUNDLED, load_keywords
from service.settings import Category
from service.vocabulary import (
    LANGUAGES,
    CatalogsNotCompiled,
    Language,
    build,
    ja_or_en,
    label,
    language_of,
    report_status_label,
    words,
)
from service.vocabulary.catalogs import load_words, po_path
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
    synthetic = Language("xx", "Test", "ja", "ja")
    _po(
        tmp_path,
        "xx",
        {"Send location": "", "about {m} m away": "約{metres}m先", "{n} sites": "{n}件"},
        fuzzy=frozenset({"{n} sites"}),
    )
    found = build.problems(template, [synthetic, Language("yy", "None", "ja", "ja")], tmp_path)
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
    [("ja", "ja"), ("en", "en"), ("EN", "en"), ("en-GB", "en"), ("ko", "ja"), (None, "ja")],
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


def test_the_citys_labels_show_japanese_where_no_english_is_given() -> None:
    both = Category(code="road", label_ja="道路", label_en="Road")
    only_ja = Category(code="park", label_ja="公園", label_en="")
    assert [label(both, "ja"), label(both, "en"), label(only_ja, "en")] == ["道路", "Road", "公園"]
    assert ja_or_en("答え", "", "en") == "答え"


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
