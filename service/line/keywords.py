"""Keyword answers: a table the city edits (CSV or YAML) mapping keywords to an answer.

YAML: a list of entries `{keywords: [..], answer: .., answer_en: .., url: ..}`.
CSV (UTF-8, with or without BOM): columns `keywords,answer,answer_en,url`, keywords
separated by `|`. `answer_en` and `url` are optional. A text matches an entry when it is one
of its keywords, or else contains one (the longest keyword wins), compared after NFKC
normalisation in lower case.

The bundled table (keywords.yaml, about the bot itself) holds product words: its entries give
a `message`, the English source text of a catalog message, answered in the resident's
language from the catalogs. A city's table holds the city's own words.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from service.line.messages import Message, clip_text, text_message
from service.vocabulary import Lang, ja_or_en, words

BUNDLED = Path(__file__).resolve().parent / "keywords.yaml"
# Shorter keywords would match inside too many unrelated texts.
MIN_CONTAINED_LENGTH = 2


class KeywordError(ValueError):
    """The keyword file is not usable; says which file, entry and field."""


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


@dataclass(frozen=True)
class KeywordAnswer:
    """One entry of the table."""

    keywords: tuple[str, ...]
    answer: str
    answer_en: str
    url: str
    # The bundled table's answers are catalog messages (`answer` is the English source).
    from_catalog: bool = False

    def message(self, lang: Lang) -> Message:
        """The answer as a LINE text message, in the resident's language where given."""
        if self.from_catalog:
            body = words(lang).gettext(self.answer)
        else:
            body = ja_or_en(self.answer, self.answer_en, lang)
        if self.url:
            body = f"{body}\n{self.url}"
        return text_message(clip_text(body))


@dataclass(frozen=True)
class KeywordTable:
    """Every entry, and a lookup from normalised keyword to entry."""

    entries: tuple[KeywordAnswer, ...] = ()

    def match(self, text: str) -> KeywordAnswer | None:
        """The entry a resident's text asks for, or None."""
        said = _normalise(text)
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


def _entry(where: str, raw: Mapping[str, Any], bundled: bool) -> KeywordAnswer:
    def field(name: str, *, required: bool = False) -> str:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise KeywordError(f"{where}: field {name!r} is missing or empty")
            return ""
        if not isinstance(value, str | int | float):
            raise KeywordError(f"{where}: field {name!r} must be text")
        return str(value).strip()

    raw_keywords = raw.get("keywords")
    if isinstance(raw_keywords, str):
        raw_keywords = raw_keywords.split("|")
    if not isinstance(raw_keywords, list) or not raw_keywords:
        raise KeywordError(f"{where}: field 'keywords' must list at least one keyword")
    keywords = tuple(k for k in (_normalise(str(k)) for k in raw_keywords) if k)
    if not keywords:
        raise KeywordError(f"{where}: field 'keywords' has only empty keywords")
    url = field("url")
    if url and urlsplit(url).scheme not in ("https", "http", "tel"):
        raise KeywordError(f"{where}: field 'url' must be an http(s) or tel: link, not {url!r}")
    if bundled:
        return KeywordAnswer(keywords, field("message", required=True), "", url, True)
    return KeywordAnswer(keywords, field("answer", required=True), field("answer_en"), url)


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
    """Read a keyword table; raise KeywordError naming the file, entry and field."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeywordError(f"{path}: cannot read: {exc.strerror}") from exc
    bundled = path.resolve() == BUNDLED
    entries = [_entry(where, raw, bundled) for where, raw in _rows(path, data)]
    seen: dict[str, str] = {}
    for entry in entries:
        for keyword in entry.keywords:
            if keyword in seen and seen[keyword] != entry.answer:
                raise KeywordError(f"{path}: keyword {keyword!r} is given two different answers")
            seen[keyword] = entry.answer
    return KeywordTable(tuple(entries))
