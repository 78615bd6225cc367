"""The location answer as a resident reads it, in every language the bot speaks, over
signed webhooks through the LINE stand-in, on the shipped Kita-ku data (issue 13, items 1-3):

- it opens with what to do here, in the terms of 内閣府「避難情報に関するガイドライン」
  (立退き避難, 屋内安全確保, 緊急安全確保) and from the data at the point;
- distances are straight lines and walking times estimates, and it says which nearer site
  it left out because it is not designated for the hazard faced;
- it says only what matters now: "no designated site for …" for a hazard faced or declared
  only, nearby facilities only when some are loaded (offering only the kinds loaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.sandbox import LinePlatformStandIn
from service.vocabulary import LANGUAGES
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.resident import Resident, postback_data, quick_actions

UKIMA = (35.7898, 139.6917)  # 浮間: inside the 5–10 m flood zone
JUJO = (35.7550, 139.7250)  # 十条 plateau: in and near no zone
TABATA_JHS = (35.738271, 139.754165)  # 区立田端中学校: 45 m from landslide zone K094
TABATA_SLOPE = (35.73482, 139.76199)  # in landslide special warning zone 117001-K099
FACILITIES = Path(__file__).resolve().parent / "fixtures" / "facilities"

# What a resident at 浮間 reads first, and the sites' lines, in every language.
UKIMA_LINES = {
    "ja": [
        "■ ここでとる行動",
        (
            "▶ 立退き避難: 区が避難指示（警戒レベル4）を出すまでに、洪水に対応する避難場所（下の一"
            "覧）か、区域の外の安全な場所（親戚・知人の家など）へ移動してください。"
        ),
        (
            "▶ 屋内安全確保（自宅などに留まる）は、次の3つがすべてそろうときだけ: 家屋倒壊等氾濫想"
            "定区域の外にある（ハザードマップで確認）／居室が浸水より高い（ここは最大10m、2階の床"
            "上より上まで浸水）／水が引くまで過ごせる水・食料などがある。"
        ),
        (
            "▶ 緊急安全確保: 避難が間に合わないときは、すぐに、今いる建物か近くの高く丈夫な建物の"
            "、できるだけ高い所へ移動してください。"
        ),
        "1. 区立桐ケ丘中学校 直線1899m・徒歩約24分（目安）",
        (
            "洪水に対応していない、より近い場所は除いています（最も近いのは 旧西浮間小学校、直線距"
            "離 55m）。"
        ),
    ],
    "ja-x-easy": [
        "■ ここで する こと",
        (
            "▶ たちのき ひなん（立退き避難）: くやくしょが「ひなんしじ」（けいかいレベル4）を 出す"
            " 前に にげて ください。こうずいの ときの ひなんばしょ（下の リスト）か、あぶない とこ"
            "ろの 外の あんぜんな ところ（しんせきや ともだちの いえ など）へ 行って ください。"
        ),
        (
            "▶ おくない あんぜん かくほ（屋内安全確保）: いえに いても いいのは、つぎの 3つが ぜん"
            "ぶ ある ときだけです。1. いえが 水で こわれる ところの 外に ある（ハザードマップで 見"
            "て ください）。2. へやが 水より 上に ある（ここは いちばん ふかい ところで 10m。2かい"
            "の ゆかより 上まで 水が くる）。3. 水が なくなるまで、水や たべものが たりる。"
        ),
        (
            "▶ きんきゅう あんぜん かくほ（緊急安全確保）: にげる 時間が ない ときは、すぐに、いま"
            "の たてものか ちかくの たかくて じょうぶな たてものの、いちばん 上の ほうへ 行って く"
            "ださい。"
        ),
        "1. 区立桐ケ丘中学校 まっすぐ 1899m・あるいて やく 24分（だいたい）",
        (
            "こうずいの ための ばしょでは ない、もっと ちかい ばしょは 出して いません（いちばん "
            "ちかいのは 旧西浮間小学校、まっすぐ 55m）。"
        ),
    ],
    "en": [
        "■ What to do here",
        (
            "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction (alert"
            " level 4), leave for a site designated for Flood (list below) or a safe place outside"
            " the zone, such as a relative's or friend's home."
        ),
        (
            "▶ Stay indoors (屋内安全確保) only if all three hold: your building is outside the zo"
            "ne where floods can wash houses away (see the hazard map); your room is above the wat"
            "er (here up to 10 m, above the floor of the 2nd floor); you have water and food to wa"
            "it until the water goes down."
        ),
        (
            "▶ If it is too late to leave (緊急安全確保): go at once as high as you can, in your b"
            "uilding or a nearby tall, sturdy building."
        ),
        "1. 区立桐ケ丘中学校 1899 m in a straight line, about 24 min on foot (estimate)",
        (
            "Nearer sites not designated for Flood are left out; the nearest is 旧西浮間小学校, 55"
            " m in a straight line."
        ),
    ],
    "zh-Hans": [
        "■ 在这里应采取的行动",
        (
            "▶ 撤离避难（立退き避難）：请在区政府发布“避难指示”（警戒等级4）之前，前往应对洪水的避"
            "难场所（见下方列表），或区域外的安全场所（亲友家等）。"
        ),
        (
            "▶ 室内确保安全（屋内安全確保）：只有同时满足以下三点时才可留在室内：建筑位于洪水可能"
            "冲毁房屋的区域之外（请查看灾害地图）；房间高于淹水深度（此处最深10米，2楼地板以上被淹"
            "）；有足够的水和食物等到水退。"
        ),
        (
            "▶ 紧急确保安全（緊急安全確保）：如果已来不及撤离，请立即在所在建筑或附近高而坚固的建"
            "筑内，尽量往高处移动。"
        ),
        "1. 区立桐ケ丘中学校 直线1899米・步行约24分钟（参考）",
        "更近但不应对洪水的场所未列出（最近的是旧西浮間小学校，直线距离55米）。",
    ],
    "zh-Hant": [
        "■ 在這裡應採取的行動",
        (
            "▶ 撤離避難（立退き避難）：請在區公所發布「避難指示」（警戒等級4）之前，前往對應洪水的"
            "避難場所（見下方列表），或區域外的安全場所（親友家等）。"
        ),
        (
            "▶ 室內確保安全（屋内安全確保）：只有同時符合以下三點時才可留在室內：建築位於洪水可能"
            "沖毀房屋的區域之外（請查看災害地圖）；房間高於淹水深度（此處最深10公尺，2樓地板以上被"
            "淹）；有足夠的水和食物等到水退。"
        ),
        (
            "▶ 緊急確保安全（緊急安全確保）：如果已來不及撤離，請立即在所在建築或附近高而堅固的建"
            "築內，盡量往高處移動。"
        ),
        "1. 区立桐ケ丘中学校 直線1899公尺・步行約24分鐘（參考）",
        "更近但不對應洪水的場所未列出（最近的是旧西浮間小学校，直線距離55公尺）。",
    ],
    "ko": [
        "■ 여기서 할 일",
        (
            "▶ 대피(立退き避難): 구청이 피난 지시(경계 레벨 4)를 내리기 전까지 홍수 대응 대피 장소"
            "(아래 목록)나 구역 밖의 안전한 곳(친척・지인 집 등)으로 이동하세요."
        ),
        (
            "▶ 실내 안전 확보(屋内安全確保)는 다음 세 가지를 모두 충족할 때만 가능합니다: 건물이 "
            "홍수로 집이 무너질 수 있는 구역 밖에 있음(해저드 맵 확인) / 방이 침수 높이보다 높음("
            "이곳은 최대 10m, 2층 바닥 위까지 침수) / 물이 빠질 때까지 지낼 물과 식량이 있음."
        ),
        (
            "▶ 긴급 안전 확보(緊急安全確保): 대피가 늦었다면 즉시 지금 있는 건물이나 근처의 높고 "
            "튼튼한 건물의 가능한 한 높은 곳으로 이동하세요."
        ),
        "1. 区立桐ケ丘中学校 직선 1899m・도보 약 24분(기준)",
        (
            "더 가깝지만 홍수에 대응하지 않는 장소는 제외했습니다(가장 가까운 곳: 旧西浮間小学校, "
            "직선거리 55m)."
        ),
    ],
    "vi": [
        "■ Việc cần làm tại đây",
        (
            "▶ Sơ tán (立退き避難): trước khi quận ra Chỉ thị sơ tán (cấp độ cảnh báo 4), hãy đến "
            "địa điểm sơ tán dành cho Lũ lụt (danh sách bên dưới) hoặc nơi an toàn ngoài khu vực, "
            "như nhà người thân hoặc bạn bè."
        ),
        (
            "▶ Ở lại trong nhà (屋内安全確保) chỉ khi đủ cả ba điều: tòa nhà nằm ngoài khu vực lũ "
            "có thể cuốn trôi nhà (xem bản đồ hiểm họa); phòng của bạn cao hơn mực nước (tại đây s"
            "âu tới 10 m, ngập trên sàn tầng 2); có đủ nước và thức ăn để chờ đến khi nước rút."
        ),
        (
            "▶ Nếu đã quá muộn để rời đi (緊急安全確保): lập tức lên nơi cao nhất có thể, trong tò"
            "a nhà bạn đang ở hoặc một tòa nhà cao, kiên cố gần đó."
        ),
        "1. 区立桐ケ丘中学校 1899 m đường thẳng, đi bộ khoảng 24 phút (ước tính)",
        (
            "Các địa điểm gần hơn nhưng không dành cho Lũ lụt đã bị bỏ qua; gần nhất là 旧西浮間小"
            "学校, 55 m theo đường thẳng."
        ),
    ],
}
# In a landslide special warning zone of 田端1, 1 m from a flood zone.
SLOPE_LINES = {
    "ja": [
        "■ ここでとる行動",
        (
            "▶ 立退き避難: 区が避難指示（警戒レベル4）を出すまでに、崖から離れて、土砂災害に対応す"
            "る避難場所（下の一覧）などの安全な場所へ移動してください。"
        ),
        (
            "▶ 緊急安全確保: 避難が間に合わないときは、すぐに、崖からできるだけ離れた部屋か、近く"
            "の丈夫な建物へ移動してください。"
        ),
        (
            "▶ この地点は洪水浸水想定区域の近くです（区域の外）。区の避難情報に従い、避難を呼びか"
            "けられたときや危険を感じたときは避難してください。"
        ),
        "・土砂災害警戒区域（急傾斜地の崩壊）（この地点）",
        "・土砂災害警戒区域: 土砂災害特別警戒区域（急傾斜地の崩壊）（この地点）",
    ],
    "ja-x-easy": [
        "■ ここで する こと",
        (
            "▶ たちのき ひなん（立退き避難）: くやくしょが「ひなんしじ」（けいかいレベル4）を 出す"
            " 前に、がけから はなれて ください。どしゃくずれの ときの ひなんばしょ（下の リスト）"
            "など、あんぜんな ところへ 行って ください。"
        ),
        (
            "▶ きんきゅう あんぜん かくほ（緊急安全確保）: にげる 時間が ない ときは、すぐに、がけ"
            "から いちばん とおい へやか、ちかくの じょうぶな たてものへ 行って ください。"
        ),
        (
            "▶ ここは こうずいで 水に つかる ところの ちかくです（その 外です）。くやくしょの ひな"
            "んの しらせを よく 見て ください。にげて くださいと 言われた ときや、あぶないと おも"
            "った ときは、にげて ください。"
        ),
        "・どしゃくずれが あぶない ところ（がけくずれ）（この ばしょ）",
        (
            "・どしゃくずれが あぶない ところ: どしゃくずれが とても あぶない ところ（がけくずれ）"
            "（この ばしょ）"
        ),
    ],
    "en": [
        "■ What to do here",
        (
            "▶ Evacuate (立退き避難): by the time the city issues an evacuation instruction (alert"
            " level 4), move away from the slope to a site designated for landslides (list below) "
            "or another safe place."
        ),
        (
            "▶ If it is too late to leave (緊急安全確保): go at once to the room farthest from the"
            " slope, or into a nearby sturdy building."
        ),
        (
            "▶ This spot is near a flood inundation zone, not inside it: follow the city's evacuat"
            "ion information and leave when it tells you to or you feel in danger."
        ),
        "- Landslide warning zone (steep slope failure) (at this spot)",
        (
            "- landslide warning zone: Landslide special warning zone (steep slope failure) (at th"
            "is spot)"
        ),
    ],
    "zh-Hans": [
        "■ 在这里应采取的行动",
        (
            "▶ 撤离避难（立退き避難）：请在区政府发布“避难指示”（警戒等级4）之前，远离山坡，前往应"
            "对泥石流灾害的避难场所（见下方列表）等安全场所。"
        ),
        (
            "▶ 紧急确保安全（緊急安全確保）：如果已来不及撤离，请立即移到离山坡最远的房间，或附近"
            "坚固的建筑内。"
        ),
        (
            "▶ 此地点在洪水淹没预测区域附近（区域外）。请留意区政府的避难信息，在被要求避难或感到"
            "危险时及时避难。"
        ),
        "・泥石流灾害警戒区域（陡坡崩塌）（此地点）",
        "・泥石流灾害警戒区域：泥石流灾害特别警戒区域（陡坡崩塌）（此地点）",
    ],
    "ko": [
        "■ 여기서 할 일",
        (
            "▶ 대피(立退き避難): 구청이 피난 지시(경계 레벨 4)를 내리기 전까지 비탈에서 떨어져 토"
            "사 재해 대응 대피 장소(아래 목록) 등 안전한 곳으로 이동하세요."
        ),
        (
            "▶ 긴급 안전 확보(緊急安全確保): 대피가 늦었다면 즉시 비탈에서 가장 먼 방이나 근처의 "
            "튼튼한 건물로 이동하세요."
        ),
        (
            "▶ 이 지점은 홍수 침수 예상 구역 근처입니다(구역 밖). 구청의 피난 정보를 따르고, 대피"
            "하라는 안내가 있거나 위험을 느끼면 대피하세요."
        ),
        "・토사 재해 경계 구역(급경사지 붕괴)(이 지점)",
        "・토사 재해 경계 구역: 토사 재해 특별 경계 구역(급경사지 붕괴)(이 지점)",
    ],
}


def _resident(app: RunningApp, standin: LinePlatformStandIn, lang: str) -> Resident:
    number = [language.code for language in LANGUAGES].index(lang)
    return Resident(app, standin, "U" + f"{number:x}" * 32, lang)


def _labels(message: dict[str, Any]) -> list[str]:
    return [action["label"] for action in quick_actions(message)]


def test_in_a_deep_flood_zone_the_answer_opens_with_what_to_do(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    for lang, expected in UKIMA_LINES.items():
        summary, carousel = _resident(running_app, standin, lang).locate(*UKIMA)
        lines = summary["text"].splitlines()
        # Leave early for a flood site (立退き避難); stay only on the guideline's three
        # conditions, the depth here reaching above the 2nd floor (屋内安全確保); if too
        # late, go high at once (緊急安全確保).
        assert lines[:4] == expected[:4], lang
        # Straight-line distances and estimated walking times; the nearest site, designated
        # only for earthquakes, is named as left out.
        assert expected[4] in lines, lang
        assert lines[-1] == expected[5], lang
        walk = carousel["contents"]["contents"][0]["body"]["contents"][1]["text"]
        assert expected[4].endswith(walk), lang
        # Kita-ku has no site for tsunamis, large fires… and nobody here faces them.
        assert not any(name in summary["text"] for name in ("津波", "Tsunami", "海啸", "쓰나미"))
        # No facility data is loaded and no disaster declared: search again, or report here.
        actions = quick_actions(carousel)
        assert [a["type"] for a in actions] == ["location", "postback"], lang
        assert actions[1]["data"].startswith("report=start")


def test_in_a_landslide_zone_move_away_from_the_slope(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    for lang, expected in SLOPE_LINES.items():
        summary = _resident(running_app, standin, lang).locate(*TABATA_SLOPE)[0]["text"]
        lines = summary.splitlines()
        assert lines[:4] == expected[:4], lang
        # The zones are told in the resident's language from their A33 codes.
        assert all(line in lines for line in expected[4:]), lang


def test_outside_every_zone_safe_people_stay_and_earthquake_sites_are_named(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    ja = _resident(running_app, standin, "ja").locate(*JUJO)[0]["text"].splitlines()
    assert ja[:3] == [
        "■ ここでとる行動",
        "▶ この地点は、地図にある災害の区域の外です。安全な場所にいる人は、避難場所へ行く必要はあ"
        "りません。区の避難情報に従ってください。",
        "▶ 地震のとき: いる場所が危ないときは、地震に対応する避難場所へ（下の各場所に、対応する"
        "災害があります）。",
    ]
    ko = _resident(running_app, standin, "ko").locate(*JUJO)[0]["text"].splitlines()
    assert ko[:3] == [
        "■ 여기서 할 일",
        "▶ 이 지점은 지도에 표시된 재해 구역 밖입니다. 지금 있는 곳이 안전하다면 "
        "대피 장소에 갈 필요가 없습니다. 구청의 피난 정보를 따르세요.",
        "▶ 지진 시: 지금 있는 곳이 위험하면 해당 재해 대응 대피 장소로 가세요(아래 "
        "각 장소에 대응 재해가 적혀 있습니다).",
    ]
    # Nobody here faces a hazard without a site: no such line.
    assert not any("指定緊急避難場所がありません" in line for line in ja)


def test_near_a_zone_the_citys_evacuation_information_decides(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    easy = _resident(running_app, standin, "ja-x-easy").locate(*TABATA_JHS)[0]["text"]
    assert easy.splitlines()[1] == (
        "▶ ここは こうずいで 水に つかる ところ・どしゃくずれが あぶない ところの ちかくです（その "
        "外です）。くやくしょの ひなんの しらせを よく 見て ください。にげて くださいと 言われた "
        "ときや、あぶないと おもった ときは、にげて ください。"
    )


def test_a_declared_hazard_without_a_site_is_said_and_others_are_not(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    assert civic(url, "shelter", "hazard", "large_fire").returncode == 0
    ja = _resident(running_app, standin, "ja").locate(*JUJO)[0]["text"].splitlines()
    no_site = [line for line in ja if "指定緊急避難場所がありません" in line]
    assert no_site == ["⚠ 東京都北区には「大規模な火事」に対応する指定緊急避難場所がありません。"]
    zh = _resident(running_app, standin, "zh-Hans").locate(*JUJO)[0]["text"].splitlines()
    # The area's name is the boundary data's own.
    assert "⚠ 東京都北区没有应对大规模火灾的指定紧急避难场所。" in zh
    # The declared hazard has no site: no "go to its site" line either.
    assert not any(line.startswith("▶ 大規模な火事") for line in ja)


def test_nearby_facilities_are_offered_only_when_loaded_and_only_the_kinds_loaded(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    url = running_app.database_url
    loaded = civic(url, "load", "facilities", str(FACILITIES / "aed_v1.csv"))
    assert loaded.returncode == 0, loaded.stderr
    resident = _resident(running_app, standin, "ko")
    answer = resident.locate(*JUJO)
    assert _labels(answer[-1]) == ["위치 보내기", "이곳의 문제 신고", "주변 시설"]
    menu = resident.tap(postback_data(answer[-1], "주변 시설"))[0]
    assert menu["text"] == "어떤 시설을 찾으세요?"
    assert _labels(menu) == ["AED"]
    nearest = resident.tap(postback_data(menu, "AED"))[0]
    assert nearest["text"].splitlines()[0] == "■ 가까운 AED(가까운 순)"
    # The help names the loaded kinds only, and offers them.
    help_message = resident.say("안녕하세요")[0]
    assert '"주변 시설"로 가까운 AED을(를) 찾을 수 있습니다.' in help_message["text"].splitlines()
    assert "주변 시설" in _labels(help_message)
