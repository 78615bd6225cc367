"""The messages of the report conversation and of status notifications.

Every question carries quick replies for the possible answers and a cancel button; the
postback data they send is parsed by service.line.conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.line.messages import (
    Message,
    location_quick_reply,
    postback_item,
    text_message,
)
from service.settings import Category
from service.vocabulary import Lang, label, report_status_label, words


def _cancel(lang: Lang) -> dict[str, Any]:
    return postback_item(words(lang).gettext("Cancel"), "report=cancel")


def _action(kind: str, label: str) -> dict[str, Any]:
    return {"type": "action", "action": {"type": kind, "label": label}}


def _quick(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"items": list(items)}


def ask_category(categories: Sequence[Category], lang: Lang) -> Message:
    """Which category? One quick reply per category (LINE allows 13 items)."""
    items = [
        postback_item(label(c, lang), f"report=category&code={c.code}") for c in categories[:12]
    ]
    text = words(lang).gettext("Thank you for reporting. What is the problem? Choose below.")
    return text_message(text, quick_reply=_quick([*items, _cancel(lang)]))


def ask_location(lang: Lang) -> Message:
    """Where is it?"""
    quick_reply = location_quick_reply(lang)
    quick_reply["items"].append(_cancel(lang))
    text = words(lang).gettext(
        'Where is it? Tap "Send location" below and pick the spot on the map.'
    )
    return text_message(text, quick_reply=quick_reply)


def ask_photos(count: int, max_photos: int, lang: Lang) -> Message:
    """Photos, optional: camera, camera roll, or go on without (more)."""
    w = words(lang)
    if count:
        question = w.gettext(
            "Photo received ({n}/{max}). Send more if you like.", n=count, max=max_photos
        )
        skip = postback_item(w.gettext("Next"), "report=photos_done")
    else:
        question = w.gettext(
            "Send photos if you have them (up to {max}). You can also report without one.",
            max=max_photos,
        )
        skip = postback_item(w.gettext("No photo, next"), "report=photos_done")
    items = [
        _action("camera", w.gettext("Take a photo")),
        _action("cameraRoll", w.gettext("Choose photos")),
        skip,
        _cancel(lang),
    ]
    return text_message(question, quick_reply=_quick(items))


def ask_description(max_length: int, lang: Lang) -> Message:
    """A short description, optional."""
    w = words(lang)
    items = [postback_item(w.gettext("No description"), "report=no_description"), _cancel(lang)]
    text = w.gettext(
        "Describe it in a few words (optional, up to {max} characters).", max=max_length
    )
    return text_message(text, quick_reply=_quick(items))


def confirm(
    category: Category,
    place: str,
    photos: int,
    description: str,
    lang: Lang,
) -> Message:
    """The summary, with send and cancel."""
    w = words(lang)
    summary = w.gettext(
        "Problem: {category}\nPlace: {place}\nPhotos: {photos}\nDescription: {description}",
        category=label(category, lang),
        place=place,
        photos=photos,
        description=description or w.gettext("none"),
    )
    items = [postback_item(w.gettext("Send report"), "report=submit"), _cancel(lang)]
    question = w.gettext("Send this report?")
    public = w.gettext(
        "Once sent, the kind of problem, its place (the spot and its address) and the time "
        "are published as the city's open data (Open311). Your photos and your description "
        "are not published."
    )
    return text_message(f"{question}\n\n{summary}\n\n{public}", quick_reply=_quick(items))


def submitted(report_id: int, joined: bool, count: int, lang: Lang) -> Message:
    """The report number at once; and, for a duplicate, that the problem is known."""
    w = words(lang)
    if joined:
        text = w.gettext(
            "Report received. Number: No.{id}\n"
            "This problem has already been reported ({count} reports so far). "
            "We will tell you here when its status changes.",
            id=report_id,
            count=count,
        )
    else:
        text = w.gettext(
            "Report received. Number: No.{id}\nWe will tell you here when its status changes.",
            id=report_id,
        )
    return text_message(text)


def cancelled(lang: Lang) -> Message:
    """The draft was dropped at the resident's word."""
    return text_message(words(lang).gettext("The report was cancelled."))


def nothing_to_cancel(lang: Lang) -> Message:
    """Cancel with no draft."""
    return text_message(words(lang).gettext("There is no report in progress."))


def expired(minutes: int, lang: Lang) -> Message:
    """The draft was left alone too long and dropped."""
    text = words(lang).gettext(
        "Your unfinished report was cancelled after {minutes} minutes without activity. "
        'Send "report" to start again.',
        minutes=minutes,
    )
    return text_message(text)


def out_of_area(area: str, lang: Lang) -> Message:
    """A spot outside the service area: whom to tell instead."""
    text = words(lang).gettext(
        "This spot is outside {area}, so we cannot take the report. Please contact that "
        "municipality (damage on national roads: Road Emergency Dial #9910). "
        "If the spot is in {area}, send the location again.",
        area=area,
    )
    return text_message(text)


def rate_limited(per_hour: int, lang: Lang) -> Message:
    """Too many reports in the last hour."""
    text = words(lang).gettext(
        "You can send up to {n} reports an hour; please try again later. "
        "If anyone is in danger, call 110 or 119.",
        n=per_hour,
    )
    return text_message(text)


def photo_failed(lang: Lang) -> Message:
    """A photo could not be fetched or decoded."""
    return text_message(words(lang).gettext("We could not read that photo. Please send it again."))


def photo_not_image(lang: Lang) -> Message:
    """The file sent is not a photo we read."""
    text = words(lang).gettext(
        "That file is not a photo we can read (JPEG or PNG). Please send another."
    )
    return text_message(text)


def too_many_photos(max_photos: int, lang: Lang) -> Message:
    """Photos beyond REPORT_MAX_PHOTOS are not kept."""
    text = words(lang).gettext("Up to {max} photos: the extra ones were not kept.", max=max_photos)
    return text_message(text)


def not_understood(lang: Lang) -> Message:
    """A text that answers no question of the current step."""
    return text_message(
        words(lang).gettext("Sorry, we are waiting for an answer to this question.")
    )


def status_notice(
    report_id: int, category: Category | None, status: str, note: str, lang: Lang
) -> list[Message]:
    """Tell a reporter that their report's status changed."""
    w = words(lang)
    text = w.gettext(
        'Report No.{id} ({category}) is now "{status}".',
        id=report_id,
        category=label(category, lang) if category else "-",
        status=report_status_label(status, lang),
    )
    if note:
        text += "\n" + w.gettext("Note from the city: {note}", note=note)
    return [text_message(text)]
