"""The messages of choosing a language: the languages, each in its own name, and the
confirmation in the language chosen."""

from __future__ import annotations

from service.line.messages import Message, location_quick_reply, postback_item, text_message
from service.vocabulary import LANGUAGES, Lang, words


def menu(lang: Lang) -> Message:
    """Which language? One quick reply per language, each named in itself."""
    items = [postback_item(each.name, f"lang={each.code}") for each in LANGUAGES]
    question = words(lang).gettext("Which language should I use?")
    return text_message(question, quick_reply={"items": items})


def chosen(lang: Lang) -> Message:
    """The language is changed: said in it, with the main button."""
    w = words(lang)
    text = w.gettext('I will answer in English from now on. Send "language" to change it again.')
    quick_reply = location_quick_reply(lang)
    said = w.gettext("How to use")
    quick_reply["items"].append(
        {"type": "action", "action": {"type": "message", "label": said, "text": said}}
    )
    return text_message(text, quick_reply=quick_reply)
