"""Keyword answers: the bundled answers about the bot (119/110, personal data, usage) always
answer; the city's table (CSV or YAML) adds its own and overrides a bundled one only for a
keyword it lists; anything unmatched gets the help message with the bot's main actions; a
file with a bad row is refused with the file, entry and field named.

The keyword tables written here are test fixtures, not any city's real answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from service.line.keywords import KeywordError, answer_table, load_keywords
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
    assert found is not None and "119" in found.answer("ja")


def test_exact_keywords_win_and_otherwise_the_longest_contained_one(city_table: Path) -> None:
    table = load_keywords(city_table)
    exact = table.match("粗大ごみ")
    assert exact is not None and exact.url == "https://example.jp/gomi"
    longest = table.match("粗大ごみ受付の電話番号は？")
    assert longest is not None and longest.url == "tel:0312345678"
    wide = table.match("ＧＡＲＢＡＧＥ")  # full-width and upper case: NFKC, lower case
    assert wide is not None and wide.answer("en") == "See the ward's page on garbage."
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
        (
            "k.csv",
            "keywords,answer,answer_zh\nごみ,x,y\n",
            "line 2: field 'answer_zh' is not an answer field (answer, answer_ja-x-easy, "
            "answer_en, answer_zh-Hans, answer_zh-Hant, answer_ko, answer_vi)",
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
    # No facility data is loaded: the help neither mentions nor offers them.
    assert answer["text"].splitlines() == [
        "位置情報を送ると、その場所でとる行動、災害の区域、近くの避難場所をお知らせします。",
        "道路の穴や街路灯の故障などは「通報する」から、写真と場所を送って通報できます。",
        "「地域登録」で、登録した地域の防災情報などを受け取れます。",
    ]
    actions = quick_actions(answer)
    kinds = ["location", "postback", "message", "message", "postback"]
    assert [a["type"] for a in actions] == kinds
    assert actions[1]["data"] == "report=start"
    assert [a["text"] for a in actions[2:4]] == ["地域登録", "使い方"]
    assert (actions[4]["label"], actions[4]["data"]) == ("言語 / Language", "lang=menu")


def test_how_to_use_explains_the_usage_rather_than_repeating_the_help(carol: Resident) -> None:
    help_text = carol.say("こんにちは")[0]["text"]
    (usage,) = carol.say("使い方")
    assert usage["text"] != help_text
    assert usage["text"].splitlines() == [
        "このアカウントの使い方:",
        "1. 避難場所: 「位置情報を送る」（またはトーク画面の＋→位置情報）で場所を送ると、"
        "そこでとる行動、災害の区域、近くの指定緊急避難場所をお知らせします。"
        "距離は直線距離、徒歩の時間は目安です。",
        "2. 通報: 道路・街路灯・公園の不具合は「通報」と送るか写真を送り、質問に答えてください。"
        "途中でやめるときは「キャンセル」。",
        "3. 施設: 「近くの施設」と送り、位置情報を送ってください。",
        "4. お知らせ: 「地域登録」で地点を登録すると、その地域のお知らせが届きます。"
        "「登録解除」で削除します。",
        "5. 言語: 「言語」と送ってください。",
        "緊急のときは119番（火事・救急）か110番（警察）へ電話してください。",
    ]


EMERGENCY_JA = (
    "このアカウントは緊急通報には使えません。火事・救急は119番、事件・事故は110番に"
    "電話してください。道路の緊急の損傷は道路緊急ダイヤル #9910 へ。"
)


def test_a_citys_table_adds_to_the_bundled_safety_answers(carol: Resident, dave: Resident) -> None:
    # The city's table (CITY_CSV) lists none of these: the bundled answers stay.
    for said in ("火事です", "119", "事故がありました"):
        assert carol.say(said)[0]["text"] == EMERGENCY_JA
    assert carol.say("個人情報")[0]["text"].startswith("通報の際は、状況をお知らせするために")
    assert carol.say("使い方")[0]["text"].startswith("このアカウントの使い方:")
    assert dave.say("ambulance")[0]["text"].startswith("This account cannot take emergency")
    # And the city's own answers work beside them.
    assert carol.say("ごみ")[0]["text"].startswith("ごみの出し方は区のページ")


def test_a_city_overrides_a_bundled_answer_only_for_the_keywords_it_lists(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(
        "- keywords: [使い方]\n  answer: 区のホームページの使い方ページをご覧ください。\n",
        encoding="utf-8",
    )
    table = answer_table(path)
    mine = table.match("使い方")
    assert mine is not None
    assert mine.answer("ja") == "区のホームページの使い方ページをご覧ください。"
    # The bundled usage answer keeps its other keywords, in every language.
    for other in ("ヘルプ", "help", "사용법", "使用方法", "cách dùng"):
        found = table.match(other)
        assert found is not None and found.answer("ja").startswith("このアカウントの使い方:")
    emergency = table.match("火事")
    assert emergency is not None and emergency.answer("ja") == EMERGENCY_JA


def test_a_citys_answer_may_be_given_in_each_language(tmp_path: Path) -> None:
    path = tmp_path / "keywords.csv"
    path.write_text(
        "keywords,answer,answer_en,answer_zh-Hans,answer_ja-x-easy\n"
        "ごみ|垃圾,ごみは朝8時までに出してください。,Put rubbish out by 8 a.m.,"
        "请在早上8点前扔垃圾。,ごみは あさ 8じまでに 出して ください。\n",
        encoding="utf-8",
    )
    (entry,) = load_keywords(path).entries
    assert [entry.answer(lang) for lang in ("ja", "ja-x-easy", "en", "zh-Hans", "zh-Hant")] == [
        "ごみは朝8時までに出してください。",
        "ごみは あさ 8じまでに 出して ください。",
        "Put rubbish out by 8 a.m.",
        "请在早上8点前扔垃圾。",
        # 繁體中文 is not given: the English.
        "Put rubbish out by 8 a.m.",
    ]


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
