"""The bot in every language it speaks (issue 13, item 7), over signed webhooks through the
LINE stand-in on the shipped Kita-ku data: the language comes from the LINE profile (LINE's
codes mapped), a resident changes it with 言語 / Language / 语言 / 언어 / Ngôn ngữ and keeps it
(replies and pushes alike), and the words the bot recognises work in every language. The
exact lines a resident reads are checked.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.sandbox import LinePlatformStandIn
from service.settings import ReportSettings
from service.vocabulary import LANGUAGES
from tests.utils.app import RunningApp
from tests.utils.cli import civic
from tests.utils.database import db
from tests.utils.resident import OJI, Resident, postback_data, quick_actions

NAMES = ["日本語", "やさしい日本語", "English", "简体中文", "繁體中文", "한국어", "Tiếng Việt"]
# For each language: (what a resident types, the first line the bot answers), in the order
# typed: a report is started before it is cancelled.
WORDS = {
    "ja": {
        "shelter": (
            "避難所",
            "避難場所とハザード情報を調べます。下の「位置情報を送る」から場所を送ってください。",
        ),
        "report": (
            "通報",
            "通報ありがとうございます。何についての通報ですか？下から選んでください。",
        ),
        "cancel": (
            "キャンセル",
            "通報を取り消しました。",
        ),
        "register": (
            "地域登録",
            (
                "お知らせを受け取りたい地点（自宅など）を登録します。下の「位置情報を送る」から地"
                "点を送ってください。"
            ),
        ),
        "settings": (
            "配信設定",
            "地域はまだ登録されていません。「地域登録」から登録できます。",
        ),
        "facility": (
            "病院",
            "この種類の施設データはまだ登録されていません（病院）。",
        ),
        "usage": (
            "使い方",
            "このアカウントの使い方:",
        ),
        "emergency": (
            "火事です",
            (
                "このアカウントは緊急通報には使えません。火事・救急は119番、事件・事故は110番に電"
                "話してください。道路の緊急の損傷は道路緊急ダイヤル #9910 へ。"
            ),
        ),
        "language": (
            "言語",
            "どの言語で答えましょうか？ (Language)",
        ),
    },
    "ja-x-easy": {
        "shelter": (
            "ひなんじょ",
            (
                "ひなんばしょと あぶない ところを しらべます。下の「ばしょを おくる」を おして、ば"
                "しょを おくって ください。"
            ),
        ),
        "report": (
            "つうほう",
            (
                "しらせて くれて ありがとう ございます。なにが こわれて いますか？下から えらんで "
                "ください。"
            ),
        ),
        "cancel": (
            "やめる",
            "つうほうを やめました。",
        ),
        "register": (
            "ちいきとうろく",
            (
                "おしらせを うけとる ばしょ（いえ など）を とうろくします。下の「ばしょを おくる」"
                "を おして、ばしょを おくって ください。"
            ),
        ),
        "settings": (
            "せってい",
            (
                "まだ ちいきを とうろくして いません。「ちいきとうろく」と おくると とうろくできま"
                "す。"
            ),
        ),
        "facility": (
            "びょういん",
            "この しゅるいの しせつの データは まだ ありません（びょういん）。",
        ),
        "usage": (
            "つかいかた",
            "つかいかた:",
        ),
        "emergency": (
            "かじ",
            (
                "この アカウントに きゅうな ことを しらせても、たすけは きません。かじや きゅうき"
                "ゅうは 119、けいさつは 110に でんわして ください。みちが こわれて あぶない ときは"
                " #9910に でんわして ください。"
            ),
        ),
        "language": (
            "ことば",
            "どの ことばで こたえますか？",
        ),
    },
    "en": {
        "shelter": (
            "Shelter",
            'Let\'s find shelters and hazards. Tap "Send location" below and send a spot.',
        ),
        "report": (
            "Report",
            "Thank you for reporting. What is the problem? Choose below.",
        ),
        "cancel": (
            "Cancel",
            "The report was cancelled.",
        ),
        "register": (
            "Register area",
            (
                "Let's register the spot you want alerts for (your home, say). Tap \"Send location"
                '" below and send it.'
            ),
        ),
        "settings": (
            "Settings",
            'No area is registered. Send "Register area" to register one.',
        ),
        "facility": (
            "Hospital",
            "No data for this kind of facility has been loaded yet (Hospital).",
        ),
        "usage": (
            "Help",
            "How to use this account:",
        ),
        "emergency": (
            "Ambulance",
            (
                "This account cannot take emergency calls. For fire or an ambulance call 119; for "
                "the police call 110. For urgent road damage call the road emergency line #9910."
            ),
        ),
        "language": (
            "Language",
            "Which language should I use?",
        ),
    },
    "zh-Hans": {
        "shelter": (
            "避难所",
            "为您查找避难场所和灾害风险。请点击下方“发送位置”并发送地点。",
        ),
        "report": (
            "报修",
            "感谢您的报告。是什么问题？请在下方选择。",
        ),
        "cancel": (
            "取消",
            "报告已取消。",
        ),
        "register": (
            "地区登记",
            "登记您想接收通知的地点（如住所）。请点击下方“发送位置”并发送地点。",
        ),
        "settings": (
            "设置",
            "尚未登记地区。发送“地区登记”即可登记。",
        ),
        "facility": (
            "医院",
            "尚未登记此类设施的数据（医院）。",
        ),
        "usage": (
            "使用方法",
            "使用方法：",
        ),
        "emergency": (
            "着火了",
            (
                "本账号无法受理紧急求助。火灾或急救请拨打119，报警请拨打110。道路紧急损坏请拨打道"
                "路紧急热线 #9910。"
            ),
        ),
        "language": (
            "语言",
            "请选择语言。",
        ),
    },
    "zh-Hant": {
        "shelter": (
            "避難所",
            "為您查找避難場所和災害風險。請點選下方「傳送位置」並傳送地點。",
        ),
        "report": (
            "報修",
            "感謝您的通報。是什麼問題？請在下方選擇。",
        ),
        "cancel": (
            "取消",
            "通報已取消。",
        ),
        "register": (
            "地區登記",
            "登記您想接收通知的地點（如住所）。請點選下方「傳送位置」並傳送地點。",
        ),
        "settings": (
            "設定",
            "尚未登記地區。傳送「地區登記」即可登記。",
        ),
        "facility": (
            "醫院",
            "尚未登錄此類設施的資料（醫院）。",
        ),
        "usage": (
            "使用方法",
            "使用方法：",
        ),
        "emergency": (
            "失火了",
            (
                "本帳號無法受理緊急求助。火災或急救請撥打119，報警請撥打110。道路緊急損壞請撥打道"
                "路緊急專線 #9910。"
            ),
        ),
        "language": (
            "語言",
            "請選擇語言。",
        ),
    },
    "ko": {
        "shelter": (
            "대피소",
            '대피 장소와 재해 위험을 찾아봅니다. 아래 "위치 보내기"를 눌러 지점을 보내 주세요.',
        ),
        "report": (
            "신고",
            "신고해 주셔서 감사합니다. 어떤 문제인가요? 아래에서 골라 주세요.",
        ),
        "cancel": (
            "취소",
            "신고를 취소했습니다.",
        ),
        "register": (
            "지역 등록",
            '알림을 받을 지점(집 등)을 등록합니다. 아래 "위치 보내기"를 눌러 지점을 보내 주세요.',
        ),
        "settings": (
            "설정",
            '등록된 지역이 없습니다. "지역 등록"을 보내 등록하세요.',
        ),
        "facility": (
            "병원",
            "이 종류의 시설 데이터는 아직 등록되지 않았습니다(병원).",
        ),
        "usage": (
            "사용법",
            "사용법:",
        ),
        "emergency": (
            "화재",
            (
                "이 계정은 긴급 신고를 받을 수 없습니다. 화재・구급은 119, 경찰은 110에 전화하세요"
                ". 도로의 긴급한 파손은 도로 긴급 다이얼 #9910으로."
            ),
        ),
        "language": (
            "언어",
            "어떤 언어로 답할까요?",
        ),
    },
    "vi": {
        "shelter": (
            "Nơi sơ tán",
            'Hãy tìm nơi sơ tán và hiểm họa. Nhấn "Gửi vị trí" bên dưới và gửi địa điểm.',
        ),
        "report": (
            "Báo cáo",
            "Cảm ơn bạn đã báo cáo. Đó là sự cố gì? Hãy chọn bên dưới.",
        ),
        "cancel": (
            "Hủy",
            "Đã hủy báo cáo.",
        ),
        "register": (
            "Đăng ký khu vực",
            (
                'Hãy đăng ký địa điểm bạn muốn nhận thông báo (ví dụ nhà bạn). Nhấn "Gửi vị trí" b'
                "ên dưới và gửi địa điểm."
            ),
        ),
        "settings": (
            "Cài đặt",
            'Chưa đăng ký khu vực nào. Gửi "đăng ký khu vực" để đăng ký.',
        ),
        "facility": (
            "Bệnh viện",
            "Chưa có dữ liệu về loại cơ sở này (Bệnh viện).",
        ),
        "usage": (
            "Cách dùng",
            "Cách dùng tài khoản này:",
        ),
        "emergency": (
            "Cháy",
            (
                "Tài khoản này không nhận cuộc gọi khẩn cấp. Cháy hoặc cấp cứu: gọi 119; cảnh sát:"
                " gọi 110. Hư hỏng đường khẩn cấp: gọi đường dây khẩn cấp #9910."
            ),
        ),
        "language": (
            "Ngôn ngữ",
            "Bạn muốn dùng ngôn ngữ nào?",
        ),
    },
}

# The default report categories as each language shows them.
CATEGORIES = {
    "ja": [
        "道路の穴・段差",
        "街路灯",
        "カーブミラー・標識",
        "公園の遊具・設備",
        "落書き",
        "不法投棄",
        "その他",
    ],
    "ja-x-easy": [
        "みちの あな・だんさ",
        "みちの あかり",
        "みちの かがみ・ひょうしき",
        "こうえんの あそびどうぐ",
        "らくがき",
        "かってに すてた ごみ",
        "そのほか",
    ],
    "en": [
        "Road damage",
        "Streetlight",
        "Mirror or sign",
        "Park equipment",
        "Graffiti",
        "Illegal dumping",
        "Other",
    ],
    "zh-Hans": [
        "道路坑洼・不平",
        "路灯",
        "道路反光镜・标志",
        "公园设施",
        "涂鸦",
        "非法丢弃垃圾",
        "其他",
    ],
    "zh-Hant": [
        "道路坑洞・不平",
        "路燈",
        "道路反射鏡・標誌",
        "公園設施",
        "塗鴉",
        "非法棄置垃圾",
        "其他",
    ],
    "ko": [
        "도로 파손・단차",
        "가로등",
        "도로반사경・표지판",
        "공원 놀이기구・시설",
        "낙서",
        "불법 투기",
        "기타",
    ],
    "vi": [
        "Đường hư hỏng",
        "Đèn đường",
        "Gương, biển báo",
        "Thiết bị công viên",
        "Vẽ bậy",
        "Vứt rác trái phép",
        "Khác",
    ],
}


def _labels(message: dict[str, Any]) -> list[str]:
    return [action["label"] for action in quick_actions(message)]


# LINE's language codes, and the greeting's first line they get.
GREETINGS = [
    ("ja", "友だち追加ありがとうございます。"),
    ("zh-TW", "感謝您加入好友。"),
    ("zh-Hant-HK", "感謝您加入好友。"),
    ("zh-CN", "感谢您添加好友。"),
    ("zh-Hans", "感谢您添加好友。"),
    ("ko-KR", "친구 추가해 주셔서 감사합니다."),
    ("vi", "Cảm ơn bạn đã kết bạn."),
    ("en-GB", "Thank you for adding us."),
    ("th", "友だち追加ありがとうございます。"),
]


def test_the_line_profiles_language_chooses_the_bots(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    for number, (line_language, greeting) in enumerate(GREETINGS):
        resident = Resident(running_app, standin, "U" + f"{number:x}" * 32, line_language)
        (hello,) = resident.follow()
        assert hello["text"].splitlines()[0] == greeting, line_language
        # The greeting offers the languages, in the resident's language and in English.
        assert quick_actions(hello)[-1]["data"] == "lang=menu"


def test_a_resident_chooses_a_language_and_keeps_it_for_replies_and_pushes(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    mai = Resident(running_app, standin, "U" + "f" * 32, "ja")
    # Any language's word offers every language, each in its own name.
    for word in ("言語", "Language", "语言", "語言", "언어", "Ngôn ngữ", "ことば"):
        (menu,) = mai.say(word)
        assert menu["text"] == "どの言語で答えましょうか？ (Language)"
        assert _labels(menu) == NAMES
    (chosen,) = mai.tap(postback_data(menu, "Tiếng Việt"))
    assert chosen["text"] == (
        'Từ bây giờ tôi sẽ trả lời bằng tiếng Việt. Gửi "ngôn ngữ" để đổi lại.'
    )
    assert (
        db(running_app, "SELECT language FROM line_users WHERE user_id = :u", u=mai.user_id)[
            0
        ].language
        == "vi"
    )
    (helped,) = mai.say("xin chào")
    assert helped["text"].splitlines()[0] == (
        "Gửi vị trí để biết việc cần làm tại đó, các khu vực hiểm họa và địa điểm sơ tán gần nhất."
    )
    assert _labels(helped)[-1] == "Ngôn ngữ / Language"

    # A report filed in Vietnamese; the resident then switches to Korean: the status push,
    # rendered when it is sent, comes in Korean.
    question = mai.say("báo cáo")[-1]
    assert question["text"] == "Cảm ơn bạn đã báo cáo. Đó là sự cố gì? Hãy chọn bên dưới."
    mai.tap(postback_data(question, "Đường hư hỏng"))
    mai.locate(*OJI)
    mai.tap("report=photos_done")
    mai.tap("report=no_description")
    done = mai.tap("report=submit")[-1]["text"]
    number = int(done.split("No.")[1].split()[0])
    mai.tap("lang=ko")
    (cluster,) = db(running_app, "SELECT cluster_id FROM reports WHERE id = :id", id=number)
    before = len(standin.delivered(mai.user_id))
    changed = civic(running_app.database_url, "reports", "status", str(cluster.cluster_id),
                    "in_progress")  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    push = standin.wait_for_deliveries(before + 1, mai.user_id)[before]
    assert push.via == "push"
    assert push.messages[0]["text"] == (
        f'신고 No.{number}(도로 파손・단차)의 처리 상황이 "대응 중"(으)로 바뀌었습니다.'
    )


def test_the_words_the_bot_recognises_work_in_every_language(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    for number, (lang, said) in enumerate(WORDS.items()):
        resident = Resident(running_app, standin, "U" + f"{number + 9:x}" * 32, lang)
        for command, (typed, first_line) in said.items():
            answer = resident.say(typed)[-1]
            text = answer.get("text", "")
            assert text.splitlines()[0] == first_line, (lang, command)
            if command == "report":
                assert _labels(answer) == [*CATEGORIES[lang], resident_cancel(lang)]
            if command == "language":
                assert _labels(answer) == NAMES


def resident_cancel(lang: str) -> str:
    """The cancel button's label: the language's first cancel word, capitalised as shown."""
    return {
        "ja": "キャンセル",
        "ja-x-easy": "やめる",
        "en": "Cancel",
        "zh-Hans": "取消",
        "zh-Hant": "取消",
        "ko": "취소",
        "vi": "Hủy",
    }[lang]


# A city that labels its categories in Japanese and English, one also in Korean.
CITY_CATEGORIES = "road=道路の穴|Pothole|ko:도로 구멍;light=街路灯|Streetlight"


@pytest.mark.parametrize(
    "app_overrides", [{"reports": ReportSettings(REPORT_CATEGORIES=CITY_CATEGORIES)}], indirect=True
)
def test_a_citys_own_labels_fall_back_sensibly_in_the_other_languages(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    shown = {}
    for number, language in enumerate(LANGUAGES):
        resident = Resident(running_app, standin, "U" + f"{number + 1:x}" * 32, language.code)
        shown[language.code] = _labels(resident.say("report")[-1])[:2]
    assert shown == {
        "ja": ["道路の穴", "街路灯"],
        # やさしい日本語 shows the Japanese; the others the English, unless the city gave theirs.
        "ja-x-easy": ["道路の穴", "街路灯"],
        "en": ["Pothole", "Streetlight"],
        "zh-Hans": ["Pothole", "Streetlight"],
        "zh-Hant": ["Pothole", "Streetlight"],
        "ko": ["도로 구멍", "Streetlight"],
        "vi": ["Pothole", "Streetlight"],
    }


def test_area_registration_and_its_alerts_in_korean(
    running_app: RunningApp, standin: LinePlatformStandIn
) -> None:
    minji = Resident(running_app, standin, "U" + "9" * 32, "ko")
    (ask,) = minji.say("지역 등록")
    assert ask["text"].startswith("알림을 받을 지점(집 등)을 등록합니다.")
    (consent,) = minji.locate(*OJI)
    assert consent["altText"].splitlines() == [
        "이 지점을 등록하면:",
        "- 보관하는 것: 이 지점(35.75836, 139.73623)과 선택한 알림 종류뿐입니다.",
        "- 용도: 이 지점 주변 지역의 알림(재해 등)을 보내는 데만 씁니다.",
        '- 그만두려면: 언제든 "등록 해제"를 보내면 지점과 설정을 바로 삭제합니다.',
        "동의하고 등록하시겠습니까?",
    ]
    agree = consent["contents"]["footer"]["contents"][0]["action"]
    assert agree["label"] == "동의하고 등록"
    done, menu = minji.tap(agree["data"])
    assert done["text"].startswith("등록했습니다.")
    assert menu["altText"].splitlines() == [
        "알림 설정",
        "방재・재해: 수신 중",
        "도로・공원: 수신 안 함",
        "행사: 수신 안 함",
    ]
    before = len(standin.delivered(minji.user_id))
    sent = civic(running_app.database_url, "alert", "--topic", "disaster", "--text", "단수 안내",
                 "--circle", f"{OJI[0]},{OJI[1]},300")  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    alert = standin.wait_for_deliveries(before + 1, minji.user_id)[before]
    assert alert.via == "multicast"
    assert alert.messages[0]["text"].splitlines() == [
        "[방재・재해] 등록 지역 알림",
        "",
        "단수 안내",
        "",
        '등록한 지역에 대한 알림입니다. 종류를 바꾸려면 "설정", '
        '그만 받으려면 "등록 해제"를 보내세요.',
    ]
