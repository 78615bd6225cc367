"""The compiled message catalogs, and the words of one language.

Phrases are gettext messages whose msgid is the English source text, with Python brace
placeholders ("about {m} m away"); `pgettext` contexts tell apart one English word that needs
different translations. The `.po` sources live in `locale/`; `make setup` compiles them to
`.mo` files (`python -m service.vocabulary.build compile`), which are not committed.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path
from typing import NamedTuple

from service.vocabulary.languages import LANGUAGES, Lang, language

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


class CatalogsNotCompiled(RuntimeError):
    """A language's compiled catalog is missing: the set-up step did not run."""


def po_path(code: Lang, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where the catalog source of a language is kept."""
    return locale_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(code: Lang, locale_dir: Path = LOCALE_DIR) -> Path:
    """Where the compiled catalog of a language is written."""
    return po_path(code, locale_dir).with_suffix(".mo")


class Phrase(NamedTuple):
    """A message marked for the catalogs where it is defined (a table of labels), and
    translated where it is used (`Words.phrase`)."""

    context: str
    message: str


class Words:
    """The phrases of one language: `gettext` and `pgettext`, with the placeholders filled.

    A phrase is always treated as a format string (a literal brace is written twice), so a
    translation behaves the same with or without values.
    """

    def __init__(self, code: Lang, translations: gettext.NullTranslations) -> None:
        self.lang = code
        self._translations = translations

    def translate(self, message: str, context: str | None = None) -> str:
        """`message` in this language as the catalog has it, placeholders unfilled."""
        if context is None:
            return self._translations.gettext(message)
        return self._translations.pgettext(context, message)

    def translate_plural(self, singular: str, plural: str, n: int) -> str:
        """The form of a message for the count `n`, as the catalog has it."""
        return self._translations.ngettext(singular, plural, n)

    def gettext(self, message: str, /, **values: object) -> str:
        """`message` (English source text) in this language, with `values` filled in."""
        return self.translate(message).format(**values)

    def pgettext(self, context: str, message: str, /, **values: object) -> str:
        """Like `gettext`, for a message whose meaning depends on `context`."""
        return self.translate(message, context).format(**values)

    def phrase(self, phrase: Phrase, /, **values: object) -> str:
        """A marked phrase in this language, with `values` filled in."""
        return self.pgettext(phrase.context, phrase.message, **values)


def load_words(code: Lang, locale_dir: Path = LOCALE_DIR) -> Words:
    """The words of language `code` from its compiled catalog in `locale_dir`;
    CatalogsNotCompiled, saying how to compile it, when there is none."""
    path = mo_path(code, locale_dir)
    try:
        with path.open("rb") as compiled:
            return Words(code, gettext.GNUTranslations(compiled))
    except FileNotFoundError:
        raise CatalogsNotCompiled(
            f"the message catalog for {code!r} is not compiled ({path} is missing): run "
            "`make setup`, or `python -m service.vocabulary.build compile`"
        ) from None


@cache
def words(code: Lang) -> Words:
    """The words of language `code` (one of LANGUAGES), loaded once."""
    return load_words(language(code).code)


def check_compiled() -> None:
    """Load every language's catalog now, so that a missing one stops the service at
    start-up rather than at the first message."""
    for each in LANGUAGES:
        words(each.code)
