"""Keyword answers: the city's table (CSV or YAML) answers residents' questions; anything
unmatched gets the help message with the bot's main actions; a file with a bad row is
refused with the file, entry and field named.

The keyword tables written here are test fixtures, not any city's real answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.line.keywords import KeywordError, load_keywords
from service.sandbox import LinePlatformStandIn
from service.settings import AnswerSettings, Settings
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.database import db
from tests.utils.resident import OJI, Resident, postback_data, quick_actions

CITY_CSV = (
    "keywords,answer,answer_en,url\n"
    "ごみ|粗大ごみ|garbage,ごみの出し方は区のページをご覧ください。,"
    "See the ward's page on garbage.,https://example.jp/gomi\n"
    "粗大ごみ受付,粗大ごみは受付センターへ電話してください。,,tel:0312345678\n"
    '"保育園|保育",保育園の申し込みは子ども未来課です。,,\n'
)


@pytest.fixture
def city_table(tmp_path: Path) -> Path:
    path = tmp_path / "keywords.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CITY_CSV.encode())  # as Excel saves it: with a BOM
    return path


def test_the_bundled_table_loads_and_answers_emergencies() -> None:
    table = load_keywords(Settings.from_env().answer.keyword_answers)
    found = table.match("火事です")
    assert found is not None and "119" in found.answer


def test_exact_keywords_win_and_otherwise_the_longest_contained_one(city_table: Path) -> None:
    table = load_keywords(city_table)
    exact = table.match("粗大ごみ")
    assert exact is not None and exact.url == "https://example.jp/gomi"
    longest = table.match("粗大ごみ受付の電話番号は？")
    assert longest is not None and longest.url == "tel:0312345678"
    wide = table.match("ＧＡＲＢＡＧＥ")  # full-width and upper case: NFKC, lower case
    assert wide is not None and wide.answer_en == "See the ward's page on garbage."
    assert table.match("こんにちは") is None


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("k.csv", "keywords,answer\nごみ,\n", "k.csv, line 2: field 'answer' is missing"),
        ("k.csv", "word,text\nごみ,x\n", "header must have the columns keywords and answer"),
        (
            "k.csv",
            "keywords,answer,url\nごみ,x,javascript:alert(1)\n",
            "line 2: field 'url' must be an http(s) or tel: link",
        ),
        ("k.yaml", "- keywords: []\n  answer: x\n", "entry 1: field 'keywords' must list"),
        ("k.yaml", "keywords: [a]\n", "expected a list of entries"),
        ("k.yaml", "- keywords: [a\n", "not valid YAML"),
        (
            "k.yaml",
            "- {keywords: [ごみ], answer: a}\n- {keywords: [ゴミ, ごみ], answer: b}\n",
            "keyword 'ごみ' is given two different answers",
        ),
    ],
)
def test_a_bad_table_is_refused_naming_the_entry_and_field(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeywordError) as error:
        load_keywords(path)
    assert expected in str(error.value)
    assert str(path) in str(error.value)


def test_a_shift_jis_table_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes(CITY_CSV.encode("cp932"))
    with pytest.raises(KeywordError, match="not UTF-8"):
        load_keywords(path)


@pytest.fixture
def app_overrides(city_table: Path) -> dict[str, object]:
    return {"answer": AnswerSettings(KEYWORD_ANSWERS=city_table)}


@pytest.fixture
def carol(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "c3" * 16, "ja")


@pytest.fixture
def dave(running_app: RunningApp, standin: LinePlatformStandIn) -> Resident:
    return Resident(running_app, standin, "U" + "d4" * 16, "en")


def test_a_keyword_gets_the_city_answer_with_its_link(carol: Resident, dave: Resident) -> None:
    (answer,) = carol.say("粗大ごみの出し方を知りたい")
    assert answer["text"] == "ごみの出し方は区のページをご覧ください。\nhttps://example.jp/gomi"
    (answer,) = dave.say("garbage")
    assert answer["text"] == "See the ward's page on garbage.\nhttps://example.jp/gomi"
    # No English answer in the table: the Japanese one rather than nothing.
    (answer,) = dave.say("保育園")
    assert answer["text"] == "保育園の申し込みは子ども未来課です。"


def test_anything_else_gets_help_with_the_main_actions(carol: Resident) -> None:
    (answer,) = carol.say("こんにちは")
    assert "位置情報を送ると" in answer["text"]
    actions = quick_actions(answer)
    assert [a["type"] for a in actions] == ["location", "postback", "message", "message"]
    assert actions[1]["data"] == "report=start"
    assert [a["text"] for a in actions[2:]] == ["地域登録", "使い方"]


def test_a_report_description_is_not_taken_for_a_keyword(
    running_app: RunningApp, carol: Resident
) -> None:
    question = carol.say("通報")[-1]
    question = carol.tap(postback_data(question, "不法投棄"))[-1]
    carol.locate(*OJI)
    question = carol.tap("report=photos_done")[-1]
    question = carol.say("粗大ごみが歩道に置かれています")[-1]
    assert "よろしいですか" in question["text"]
    done = carol.tap("report=submit")[-1]["text"]
    number = int(done.split("No.")[1].split()[0])
    (row,) = db(running_app, "SELECT description FROM reports WHERE id = :id", id=number)
    assert row.description == "粗大ごみが歩道に置かれています"


def test_civic_keywords_checks_a_table_before_it_is_used(city_table: Path, tmp_path: Path) -> None:
    done = civic("", "keywords", str(city_table), "--ask", "保育園に入りたい")
    assert done.returncode == 0, done.stderr
    assert "3 answers, 6 keywords" in done.stdout
    assert "子ども未来課" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("keywords,answer\n,x\n", encoding="utf-8")
    done = civic("", "keywords", str(bad))
    assert done.returncode == 1
    assert f"{bad}, line 2: field 'keywords' has only empty keywords" in done.stderr
