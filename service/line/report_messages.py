"""The messages of the report conversation and of status notifications (ja first, en).

Every question carries quick replies for the possible answers and a cancel button; the
postback data they send is parsed by service.line.conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.line.messages import (
    Lang,
    Message,
    location_quick_reply,
    postback_item,
    text_message,
)
from service.settings import Category

_T: dict[str, dict[Lang, str]] = {
    "ask_category": {
        "ja": "通報ありがとうございます。何についての通報ですか？下から選んでください。",
        "en": "Thank you for reporting. What is the problem? Choose below.",
    },
    "ask_location": {
        "ja": "場所を送ってください。下の「位置情報を送る」から地図で場所を選べます。",
        "en": 'Where is it? Tap "Send location" below and pick the spot on the map.',
    },
    "ask_photos": {
        "ja": "写真があれば送ってください（{max}枚まで）。写真がなくても通報できます。",
        "en": "Send photos if you have them (up to {max}). You can also report without one.",
    },
    "more_photos": {
        "ja": "写真を受け取りました（{n}/{max}枚）。ほかにもあれば送ってください。",
        "en": "Photo received ({n}/{max}). Send more if you like.",
    },
    "ask_description": {
        "ja": "状況をひとことで教えてください（任意・{max}文字まで）。例：歩道に5cmほどの段差",
        "en": "Describe it in a few words (optional, up to {max} characters).",
    },
    "confirm": {
        "ja": "この内容で通報します。よろしいですか？",
        "en": "Send this report?",
    },
    "summary": {
        "ja": "種類: {category}\n場所: {place}\n写真: {photos}枚\n説明: {description}",
        "en": "Problem: {category}\nPlace: {place}\nPhotos: {photos}\nDescription: {description}",
    },
    "none": {"ja": "なし", "en": "none"},
    "submitted": {
        "ja": (
            "通報を受け付けました。受付番号: No.{id}\n"
            "対応状況が変わったら、このトークでお知らせします。"
        ),
        "en": "Report received. Number: No.{id}\nWe will tell you here when its status changes.",
    },
    "joined": {
        "ja": (
            "通報を受け付けました。受付番号: No.{id}\n"
            "この場所の同じ問題はすでに報告されています（これまでに{count}件の通報）。"
            "対応状況が変わったら、このトークでお知らせします。"
        ),
        "en": (
            "Report received. Number: No.{id}\n"
            "This problem has already been reported ({count} reports so far). "
            "We will tell you here when its status changes."
        ),
    },
    "cancelled": {"ja": "通報を取り消しました。", "en": "The report was cancelled."},
    "nothing_to_cancel": {
        "ja": "取り消す通報はありません。",
        "en": "There is no report in progress.",
    },
    "expired": {
        "ja": (
            "前回の通報は{minutes}分間操作がなかったため取り消されました。"
            "もう一度始めるには「通報」と送ってください。"
        ),
        "en": (
            "Your unfinished report was cancelled after {minutes} minutes without activity. "
            'Send "report" to start again.'
        ),
    },
    "out_of_area": {
        "ja": (
            "この場所は{area}の区域外のため、受け付けできません。"
            "その場所の市区町村の窓口にご連絡ください"
            "（国道などの損傷は「道路緊急ダイヤル」#9910 でも受け付けています）。"
            "{area}内の場所であれば、もう一度位置情報を送ってください。"
        ),
        "en": (
            "This spot is outside {area}, so we cannot take the report. Please contact that "
            "municipality (damage on national roads: Road Emergency Dial #9910). "
            "If the spot is in {area}, send the location again."
        ),
    },
    "rate_limited": {
        "ja": (
            "通報は1時間に{n}件までです。しばらくしてからもう一度お送りください。"
            "危険が迫っている場合は110番・119番へ。"
        ),
        "en": (
            "You can send up to {n} reports an hour; please try again later. "
            "If anyone is in danger, call 110 or 119."
        ),
    },
    "photo_failed": {
        "ja": "写真を読み込めませんでした。お手数ですが、もう一度送ってください。",
        "en": "We could not read that photo. Please send it again.",
    },
    "photo_not_image": {
        "ja": "写真（JPEG・PNG）として読み込めませんでした。別の写真を送ってください。",
        "en": "That file is not a photo we can read (JPEG or PNG). Please send another.",
    },
    "too_many_photos": {
        "ja": "写真は{max}枚までです。それ以降の写真は保存していません。",
        "en": "Up to {max} photos: the extra ones were not kept.",
    },
    "not_understood": {
        "ja": "すみません、いまは次の質問への回答をお待ちしています。",
        "en": "Sorry, we are waiting for an answer to this question.",
    },
    "status_notice": {
        "ja": "通報 No.{id}（{category}）の対応状況が「{status}」になりました。",
        "en": 'Report No.{id} ({category}) is now "{status}".',
    },
    "note": {"ja": "区からのメモ: {note}", "en": "Note from the city: {note}"},
    "camera": {"ja": "カメラで撮る", "en": "Take a photo"},
    "camera_roll": {"ja": "写真を選ぶ", "en": "Choose photos"},
    "skip_photos": {"ja": "写真なしで次へ", "en": "No photo, next"},
    "next": {"ja": "次へ", "en": "Next"},
    "skip_description": {"ja": "説明なし", "en": "No description"},
    "submit": {"ja": "送信する", "en": "Send report"},
    "cancel": {"ja": "キャンセル", "en": "Cancel"},
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "received": ("受付", "received"),
    "accepted": ("受理・対応予定", "accepted"),
    "in_progress": ("対応中", "in progress"),
    "resolved": ("対応完了", "resolved"),
    "rejected": ("対応できません", "not actionable"),
    "duplicate": ("他の通報と統合", "merged with another report"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """A fixed phrase of the report conversation in `lang`."""
    return _T[key][lang].format(**values)


def _action(kind: str, label: str) -> dict[str, Any]:
    return {"type": "action", "action": {"type": kind, "label": label}}


def _cancel(lang: Lang) -> dict[str, Any]:
    return postback_item(t("cancel", lang), "report=cancel")


def _quick(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"items": list(items)}


def ask_category(categories: Sequence[Category], lang: Lang) -> Message:
    """Which category? One quick reply per category (LINE allows 13 items)."""
    items = [
        postback_item(c.label(lang), f"report=category&code={c.code}") for c in categories[:12]
    ]
    return text_message(t("ask_category", lang), quick_reply=_quick([*items, _cancel(lang)]))


def ask_location(lang: Lang) -> Message:
    """Where is it?"""
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(_cancel(lang))
    return text_message(t("ask_location", lang), quick_reply=quick_reply)


def ask_photos(count: int, max_photos: int, lang: Lang) -> Message:
    """Photos, optional: camera, camera roll, or go on without (more)."""
    if count:
        question = t("more_photos", lang, n=count, max=max_photos)
        skip = postback_item(t("next", lang), "report=photos_done")
    else:
        question = t("ask_photos", lang, max=max_photos)
        skip = postback_item(t("skip_photos", lang), "report=photos_done")
    items = [
        _action("camera", t("camera", lang)),
        _action("cameraRoll", t("camera_roll", lang)),
        skip,
        _cancel(lang),
    ]
    return text_message(question, quick_reply=_quick(items))


def ask_description(max_length: int, lang: Lang) -> Message:
    """A short description, optional."""
    items = [postback_item(t("skip_description", lang), "report=no_description"), _cancel(lang)]
    return text_message(t("ask_description", lang, max=max_length), quick_reply=_quick(items))


def confirm(
    category: Category,
    place: str,
    photos: int,
    description: str,
    lang: Lang,
) -> Message:
    """The summary, with send and cancel."""
    summary = t(
        "summary",
        lang,
        category=category.label(lang),
        place=place,
        photos=photos,
        description=description or t("none", lang),
    )
    items = [postback_item(t("submit", lang), "report=submit"), _cancel(lang)]
    return text_message(f"{t('confirm', lang)}\n\n{summary}", quick_reply=_quick(items))


def submitted(report_id: int, joined: bool, count: int, lang: Lang) -> Message:
    """The report number at once; and, for a duplicate, that the problem is known."""
    key = "joined" if joined else "submitted"
    return text_message(t(key, lang, id=report_id, count=count))


def plain(key: str, lang: Lang, **values: object) -> Message:
    """A one-line message of the report conversation (cancelled, expired, refused…)."""
    return text_message(t(key, lang, **values))


def status_notice(
    report_id: int, category: Category | None, status: str, note: str, lang: Lang
) -> list[Message]:
    """Tell a reporter that their report's status changed."""
    status_ja, status_en = STATUS_LABELS[status]
    name = category.label(lang) if category else "-"
    text = t(
        "status_notice",
        lang,
        id=report_id,
        category=name,
        status=status_ja if lang == "ja" else status_en,
    )
    if note:
        text += "\n" + t("note", lang, note=note)
    return [text_message(text)]
