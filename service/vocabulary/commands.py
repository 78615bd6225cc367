"""The words residents type to ask for something, in every language the service speaks.

A command's words are one catalog message with the context "words", written where the
command is handled: `Phrase("words", "report|report a problem")`. Its text in each language's
catalog is that language's words, separated by "|". The bot understands the words of every
language at once (a resident may type in another language than their LINE's), so a new
language's catalog brings its words with it.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from service.vocabulary.catalogs import Phrase, words
from service.vocabulary.languages import LANGUAGES, Lang

CONTEXT = "words"


def normalise(text: str) -> str:
    """Text as compared with the words: NFKC, trimmed, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def split_words(text: str) -> list[str]:
    """The normalised words of a "|"-separated list, blanks left out."""
    return [word for word in (normalise(part) for part in text.split("|")) if word]


@cache
def words_in(command: Phrase, lang: Lang) -> frozenset[str]:
    """The words of `command` in one language, normalised."""
    return frozenset(split_words(words(lang).translate(command.message, command.context)))


@cache
def recognised(command: Phrase) -> frozenset[str]:
    """Every language's words of `command`, normalised (the English source's included)."""
    found = set(split_words(command.message))
    for each in LANGUAGES:
        found.update(words_in(command, each.code))
    return frozenset(found)


def said(command: Phrase, text: str, lang: Lang | None = None) -> bool:
    """Whether `text` (as typed, or already normalised) is one of `command`'s words: in
    `lang` only when given (where one word means different things in two languages, the
    resident's own language decides first), else in any language."""
    found = words_in(command, lang) if lang is not None else recognised(command)
    return normalise(text) in found
