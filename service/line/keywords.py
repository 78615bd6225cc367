"""Keyword answers: the bundled answers about the bot itself (how to use it, personal data,
119/110), and a table the city edits (CSV or YAML) that adds its own.

YAML: a list of entries `{keywords: [..], answer: .., answer_en: .., url: ..}`.
CSV (UTF-8, with or without BOM): columns `keywords,answer,answer_en,url`, keywords
separated by `|`. `answer_en` and `url` are optional, as are answers in the other languages
the bot speaks: `answer_zh-Hans`, `answer_ko`, … (a language without its own answer gets the
one `pick` chooses). A text matches an entry when it is one of its keywords, or else
contains one (the longest keyword wins; between equally long ones, the bundled answers
first), compared after NFKC normalisation in lower case.

The bundled table (keywords.yaml) holds product words: each entry's `words` and `message`
are catalog messages (English source text), so they are understood and answered in every
language. The city's table adds to it: a bundled answer gives way only for a keyword the
city lists itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from service.line.messages import Message, clip_text, text_message
from service.vocabulary import LANGUAGES, Lang, Phrase, pick, words
from service.vocabulary.commands import CONTEXT, normalise, recognised

BUNDLED = Path(__file__).resolve().parent / "keywords.yaml"
# Shorter keywords would match inside too many unrelated texts.
MIN_CONTAINED_LENGTH = 2
# A city's answer in a language: `answer` is the Japanese, `answer_en` the English, and
# `answer_<code>` any other language of LANGUAGES.
_ANSWER_FIELDS = {
    "ja": "answer",
    **{each.code: f"answer_{each.code}" for each in LANGUAGES if each.code != "ja"},
}


class KeywordError(ValueError):
    """The keyword file is not usable; says which file, entry and field."""


@dataclass(frozen=True)
class KeywordAnswer:
    """One entry of the table: its keywords (normalised), and its answer by language (a
    city's), or as a catalog message (the bundled one's English source)."""

    keywords: tuple[str, ...]
    answers: Mapping[Lang, str] = field(default_factory=dict)
    url: str = ""
    catalog_message: str = ""

    def answer(self, lang: Lang) -> str:
        """The answer's text in the resident's language (or the one `pick` chooses)."""
        if self.catalog_message:
            return words(lang).gettext(self.catalog_message)
        return pick(self.answers, lang)

    def message(self, lang: Lang) -> Message:
        """The answer as a LINE text message, with its link."""
        body = self.answer(lang)
        if self.url:
            body = f"{body}\n{self.url}"
        return text_message(clip_text(body))


@dataclass(frozen=True)
class KeywordTable:
    """Every entry, in the order they are tried."""

    entries: tuple[KeywordAnswer, ...] = ()

    def match(self, text: str) -> KeywordAnswer | None:
        """The entry a resident's text asks for, or None."""
        said = normalise(text)
        if not said:
            return None
        best: tuple[int, KeywordAnswer] | None = None
        for entry in self.entries:
            for keyword in entry.keywords:
                if keyword == said:
                    return entry
                contained = len(keyword) >= MIN_CONTAINED_LENGTH and keyword in said
                if contained and (best is None or len(keyword) > best[0]):
                    best = (len(keyword), entry)
        return best[1] if best else None

    def adding(self, city: KeywordTable) -> KeywordTable:
        """This (bundled) table with the city's entries added: a keyword the city lists is
        answered by the city; the bundled answers keep their other keywords."""
        taken = {keyword for entry in city.entries for keyword in entry.keywords}
        kept = []
        for entry in self.entries:
            left = tuple(k for k in entry.keywords if k not in taken)
            if left:
                kept.append(replace(entry, keywords=left))
        return KeywordTable((*kept, *city.entries))


def _field(where: str, raw: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = raw.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise KeywordError(f"{where}: field {name!r} is missing or empty")
        return ""
    if not isinstance(value, str | int | float):
        raise KeywordError(f"{where}: field {name!r} must be text")
    return str(value).strip()


def _url(where: str, raw: Mapping[str, Any]) -> str:
    url = _field(where, raw, "url")
    if url and urlsplit(url).scheme not in ("https", "http", "tel"):
        raise KeywordError(f"{where}: field 'url' must be an http(s) or tel: link, not {url!r}")
    return url


def _city_entry(where: str, raw: Mapping[str, Any]) -> KeywordAnswer:
    unknown = [
        str(name)
        for name in raw
        if str(name).startswith("answer") and name not in _ANSWER_FIELDS.values()
    ]
    if unknown:
        known = ", ".join(_ANSWER_FIELDS.values())
        raise KeywordError(f"{where}: field {unknown[0]!r} is not an answer field ({known})")
    raw_keywords = raw.get("keywords")
    if isinstance(raw_keywords, str):
        raw_keywords = raw_keywords.split("|")
    if not isinstance(raw_keywords, list) or not raw_keywords:
        raise KeywordError(f"{where}: field 'keywords' must list at least one keyword")
    keywords = tuple(k for k in (normalise(str(k)) for k in raw_keywords) if k)
    if not keywords:
        raise KeywordError(f"{where}: field 'keywords' has only empty keywords")
    answers = {
        lang: _field(where, raw, name, required=lang == "ja")
        for lang, name in _ANSWER_FIELDS.items()
    }
    return KeywordAnswer(keywords, {k: v for k, v in answers.items() if v}, _url(where, raw))


def _bundled_entry(where: str, raw: Mapping[str, Any]) -> KeywordAnswer:
    said = Phrase(CONTEXT, _field(where, raw, "words", required=True))
    message = _field(where, raw, "message", required=True)
    return KeywordAnswer(
        tuple(sorted(recognised(said))), url=_url(where, raw), catalog_message=message
    )


def _rows(path: Path, data: bytes) -> Iterable[tuple[str, Mapping[str, Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KeywordError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"keywords", "answer"} <= set(reader.fieldnames):
            raise KeywordError(f"{path}: the header must have the columns keywords and answer")
        for number, row in enumerate(reader, start=2):
            yield f"{path}, line {number}", row
        return
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KeywordError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(loaded, list):
        raise KeywordError(f"{path}: expected a list of entries")
    for number, entry in enumerate(loaded, start=1):
        if not isinstance(entry, dict):
            raise KeywordError(f"{path}, entry {number}: expected keywords and answer")
        yield f"{path}, entry {number}", entry


def load_keywords(path: Path) -> KeywordTable:
    """Read one keyword table (the bundled one, or a city's) as it is; raise KeywordError
    naming the file, entry and field."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeywordError(f"{path}: cannot read: {exc.strerror}") from exc
    entry = _bundled_entry if path.resolve() == BUNDLED else _city_entry
    entries = [entry(where, raw) for where, raw in _rows(path, data)]
    seen: dict[str, KeywordAnswer] = {}
    for each in entries:
        for keyword in each.keywords:
            if keyword in seen and seen[keyword] != each:
                raise KeywordError(f"{path}: keyword {keyword!r} is given two different answers")
            seen[keyword] = each
    return KeywordTable(tuple(entries))


def answer_table(path: Path) -> KeywordTable:
    """What residents get: the bundled answers, with the city's table at `path` (the
    KEYWORD_ANSWERS setting) added; only the bundled ones when it is the bundled file."""
    bundled = load_keywords(BUNDLED)
    if path.resolve() == BUNDLED:
        return bundled
    return bundled.adding(load_keywords(path))
