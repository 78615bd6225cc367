"""The languages the service speaks, and which one a resident gets.

Adding a language is one entry here and its catalog,
`service/vocabulary/locale/<code>/LC_MESSAGES/messages.po` (`make messages` creates it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# A language code of LANGUAGES: as LINE profiles report it ("ja", "en", "zh-Hans"), or our
# own private-use code where LINE has none ("ja-x-easy").
Lang = str


@dataclass(frozen=True)
class Language:
    """One language the service speaks.

    code: the code LINE reports (or a private-use BCP 47 code where LINE has none); also
        the name of the catalog's folder.
    name: the language's name in itself, for a resident choosing it.
    babel_locale: the locale Babel knows the language by (plural rules, the catalog's
        `Language:` header); the base language for a private-use code.
    fallback: whose text this language shows of data the city or a data file gives in
        other languages only (a city's labels, its keyword answers, a hazard layer's zone
        labels): やさしい日本語 shows the Japanese, the others the English. Japanese, the
        language every such text is given in, is the last resort of every language.
    pages: the crew and public pages speak it too (Japanese first, English after): its
        catalog holds every message. A language residents read only in LINE holds only the
        messages of the chat (service/line/ and the labels).
    aliases: other codes LINE may report for the same language ("zh-TW").
    """

    code: Lang
    name: str
    babel_locale: str
    fallback: Lang | None = None
    pages: bool = False
    aliases: tuple[str, ...] = ()


LANGUAGES: tuple[Language, ...] = (
    Language("ja", "日本語", "ja", pages=True),
    Language("ja-x-easy", "やさしい日本語", "ja", fallback="ja"),
    Language("en", "English", "en", pages=True),
    Language("zh-Hans", "简体中文", "zh_Hans", fallback="en", aliases=("zh", "zh-CN", "zh-SG")),
    Language("zh-Hant", "繁體中文", "zh_Hant", fallback="en", aliases=("zh-TW", "zh-HK", "zh-MO")),
    Language("ko", "한국어", "ko", fallback="en"),
    Language("vi", "Tiếng Việt", "vi", fallback="en"),
)
# Residents whose LINE language the service does not speak get this one; it is also the
# language every text of the city's and of the data files is given in.
DEFAULT: Language = LANGUAGES[0]

_BY_CODE = {code.lower(): each for each in LANGUAGES for code in (each.code, *each.aliases)}


def language(code: Lang) -> Language:
    """The language with this code; ValueError naming the known codes otherwise."""
    found = _BY_CODE.get(code.lower())
    if found is None:
        known = ", ".join(language.code for language in LANGUAGES)
        raise ValueError(f"unknown language {code!r}: expected one of {known}")
    return found


def language_of(line_language: str | None) -> Lang:
    """The language to answer in for a LINE language code: the same language ("zh-TW" is
    繁體中文), or its base language ("en-GB" -> "en", "zh-Hant-HK" -> "zh-Hant"), else
    DEFAULT."""
    if not line_language:
        return DEFAULT.code
    wanted = line_language.lower()
    while wanted:
        if wanted in _BY_CODE:
            return _BY_CODE[wanted].code
        wanted = wanted.rpartition("-")[0]
    return DEFAULT.code


def pick(texts: Mapping[Lang, str], lang: Lang) -> str:
    """The text for `lang` among texts given per language (blank ones count as not given):
    its own, else its fallback's, else the Japanese."""
    current: Lang | None = lang
    while current is not None:
        if texts.get(current):
            return texts[current]
        current = language(current).fallback
    return texts.get(DEFAULT.code, "")
