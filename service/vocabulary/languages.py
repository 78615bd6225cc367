"""The languages the service speaks, and which one a resident gets.

Adding a language is one entry here and its catalog,
`service/vocabulary/locale/<code>/LC_MESSAGES/messages.po` (`make messages` creates it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# A language code of LANGUAGES: as LINE profiles report it ("ja", "en", "zh-Hans"), or our
# own private-use code where LINE has none.
Lang = str


@dataclass(frozen=True)
class Language:
    """One language the service speaks.

    code: the code LINE reports (or a private-use BCP 47 code where LINE has none); also
        the name of the catalog's folder.
    name: the language's name in itself, for a resident choosing it.
    babel_locale: the locale Babel knows the language by (plural rules, the catalog's
        `Language:` header); the base language for a private-use code.
    ja_or_en: which text this language shows of data given in Japanese and English: a
        city's labels (`code=日本語|English` in REPORT_CATEGORIES and ALERT_TOPICS), its
        keyword answers (answer / answer_en), the hazard layers' zone labels.
    """

    code: Lang
    name: str
    babel_locale: str
    ja_or_en: Literal["ja", "en"]


LANGUAGES: tuple[Language, ...] = (
    Language("ja", "日本語", "ja", "ja"),
    Language("en", "English", "en", "en"),
)
# Residents whose LINE language the service does not speak get this one.
DEFAULT: Language = LANGUAGES[0]

_BY_CODE = {language.code.lower(): language for language in LANGUAGES}


def language(code: Lang) -> Language:
    """The language with this code; ValueError naming the known codes otherwise."""
    found = _BY_CODE.get(code.lower())
    if found is None:
        known = ", ".join(language.code for language in LANGUAGES)
        raise ValueError(f"unknown language {code!r}: expected one of {known}")
    return found


def language_of(line_language: str | None) -> Lang:
    """The language to answer in for a LINE language code: the same language, or its base
    language ("en-GB" -> "en"), else DEFAULT."""
    if not line_language:
        return DEFAULT.code
    wanted = line_language.lower()
    while wanted:
        if wanted in _BY_CODE:
            return _BY_CODE[wanted].code
        wanted = wanted.rpartition("-")[0]
    return DEFAULT.code
