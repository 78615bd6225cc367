"""The catalogs' tooling, with Babel: extract the messages from the code, update every
language's catalog, compile them, and list what is missing.

    python -m service.vocabulary.build update      # `make messages`: extract + update
    python -m service.vocabulary.build compile     # `make setup`: .po -> .mo
    python -m service.vocabulary.build check       # what a translator still has to do

Where messages are found is `babel.cfg` at the top of the repository: Python code (gettext,
pgettext and `Phrase(context, message)` marks), Jinja templates (`_()`, `gettext()`,
`pgettext()`), and the bundled keyword answers. Catalogs are compiled here rather than by
`pybabel compile` because a language's folder is named by its code, which may be a private-use
code Babel does not parse ("ja-x-easy"); the catalog's `Language:` header holds the locale
Babel knows it by.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import yaml
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from service.vocabulary.catalogs import DOMAIN, LOCALE_DIR, mo_path, po_path
from service.vocabulary.commands import CONTEXT as WORDS_CONTEXT
from service.vocabulary.languages import LANGUAGES, Language

PROJECT_DIR = Path(__file__).resolve().parents[2]
MAPPING = PROJECT_DIR / "babel.cfg"
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"
# The language the msgids are written in: its catalog repeats them.
SOURCE = "en"
# Beside gettext's own: `Phrase(context, message)` marks a label; `both(message)`,
# `pboth(context, message)` and `both_plural(singular, plural, n)` show a message in Japanese
# and English on a page (service/vocabulary/pages.py).
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "Phrase": ((1, "c"), 2),
    "both": None,
    "pboth": ((1, "c"), 2),
    "both_plural": (1, 2),
}
# Catalog lines wrap where the code's lines do.
WIDTH = 100
# Where the messages residents read in LINE are: a language spoken only there (not on the
# pages: Language.pages) needs only these.
CHAT_SOURCES = ("service/line/", "service/vocabulary/labels.py")


def extract_keyword_answers(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Sequence[str], options: Any
) -> Iterator[tuple[int, str | None, str | tuple[str, str], list[str]]]:
    """Babel extractor of the bundled keyword table: each entry's `words` (in the context of
    the words residents type) and `message`."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    for entry in root.value if isinstance(root, yaml.SequenceNode) else ():
        for key, value in entry.value:
            line = value.start_mark.line + 1
            if key.value == "words":
                comment = "words a resident types to get this answer, separated by |"
                yield line, "pgettext", (WORDS_CONTEXT, value.value), [comment]
            elif key.value == "message":
                yield line, None, value.value, []


def _in_source(path: str) -> bool:
    # Only the product's code holds messages: skip node_modules, .venv, tests and the rest.
    relative = Path(path).relative_to(PROJECT_DIR).parts
    return relative[0] == "service" and not relative[-1].startswith((".", "_"))


def extract(mapping: Path = MAPPING) -> Catalog:
    """Every message of the code, as a template catalog."""
    with mapping.open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(mapping))  # type: ignore[no-untyped-call]
    template = Catalog(project="civic-gis", fuzzy=False)
    found = extract_from_dir(
        PROJECT_DIR,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
        directory_filter=_in_source,
    )
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _in_chat(message: Message) -> bool:
    return any(filename.startswith(CHAT_SOURCES) for filename, _ in message.locations)


def messages_for(template: Catalog, language: Language) -> Catalog:
    """The messages a language's catalog holds, as copies (updating a catalog takes the
    template's messages in): every one of `template`, or for a language not spoken on the
    pages only those of the chat."""
    chosen = Catalog(project=template.project, fuzzy=False)
    for message in template:
        if message.id and (language.pages or _in_chat(message)):
            chosen[message.id] = message.clone()
    return chosen


def _write(path: Path, catalog: Catalog, *, omit_header: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(
            out,
            catalog,
            width=WIDTH,
            omit_header=omit_header,
            sort_output=True,
            ignore_obsolete=True,
            include_lineno=False,
        )


def _read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def _new_catalog(language: Language) -> Catalog:
    return Catalog(
        locale=language.babel_locale,
        header_comment=(
            f"# {language.name} ({language.code}): the words of civic-gis.\n"
            "# msgids are the English source text; `make messages` adds the code's new ones."
        ),
        project="civic-gis",
        version="1",
        copyright_holder="civic-gis contributors",
        last_translator="civic-gis contributors",
        language_team=f"{language.name} ({language.code})",
        fuzzy=False,
    )


def update_catalog(template: Catalog, language: Language, locale_dir: Path = LOCALE_DIR) -> None:
    """Bring a language's catalog in line with the template, creating it if missing. New
    messages come empty (or fuzzy, when like a removed one) for a translator; in the source
    language's catalog they are the source text."""
    path = po_path(language.code, locale_dir)
    catalog = _read(path) if path.exists() else _new_catalog(language)
    catalog.update(messages_for(template, language), update_creation_date=False)
    if language.code == SOURCE:
        for message in catalog:
            if message.id and (not all(_forms(message.string)) or message.fuzzy):
                message.string = message.id
                message.flags.discard("fuzzy")
    _write(path, catalog)


def update(locale_dir: Path = LOCALE_DIR) -> None:
    """Extract the messages into the template and update every language's catalog."""
    template = extract()
    # No header: its dates would change the file at every run.
    _write(locale_dir / TEMPLATE.name, template, omit_header=True)
    for language in LANGUAGES:
        update_catalog(template, language, locale_dir)


def compile_catalogs(
    languages: Iterable[Language] = LANGUAGES, locale_dir: Path = LOCALE_DIR
) -> list[Path]:
    """Compile each language's catalog next to its source; fuzzy messages are left out (the
    source text shows instead). Returns the files written."""
    written = []
    for language in languages:
        catalog = _read(po_path(language.code, locale_dir))
        path = mo_path(language.code, locale_dir)
        with path.open("wb") as out:
            write_mo(out, catalog)
        written.append(path)
    return written


def placeholders(text: str) -> set[str]:
    """The brace placeholders of a phrase ("{m} m" -> {"m"})."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """A message's text as a tuple: one form, or one per plural form."""
    if isinstance(text, tuple | list):
        return tuple(text)
    return (text or "",)


def _key(message: Message) -> tuple[str | None, str]:
    return message.context, _forms(message.id)[0]


def _name(message: Message) -> str:
    context = f" (context {message.context!r})" if message.context else ""
    return f"{_key(message)[1]!r}{context}"


def problems(
    template: Catalog, languages: Iterable[Language] = LANGUAGES, locale_dir: Path = LOCALE_DIR
) -> list[str]:
    """What stops the catalogs from matching `template` (the messages of the code): the
    stored template out of date, a language's message missing, empty, fuzzy, or with other
    placeholders than its source. Empty when every catalog is complete."""
    found = []
    every = {_key(message): message for message in template if message.id}
    stored = {_key(m) for m in _read(locale_dir / TEMPLATE.name) if m.id}
    for key in every.keys() - stored:
        found.append(f"{TEMPLATE.name}: {_name(every[key])} is used in the code but missing")
    for key in stored - every.keys():
        found.append(f"{TEMPLATE.name}: {key[1]!r} is no longer used in the code")
    for language in languages:
        path = po_path(language.code, locale_dir)
        if not path.exists():
            found.append(f"{language.code}: no catalog at {path}")
            continue
        catalog = _read(path)
        wanted = {_key(m): m for m in messages_for(template, language) if m.id}
        for key, source in sorted(wanted.items(), key=lambda item: item[0][1]):
            where = f"{language.code}: {_name(source)}"
            message = catalog.get(key[1], context=key[0])
            forms = _forms(message.string) if message is not None else ("",)
            # A plural's singular may spell out its count ("one site"): the forms together.
            expected = set().union(*(placeholders(form) for form in _forms(source.id)))
            if message is None or not all(forms):
                found.append(f"{where} is not translated")
            elif message.fuzzy:
                found.append(f"{where} is fuzzy: check the translation")
            elif any(placeholders(form) != expected for form in forms):
                found.append(f"{where} has other placeholders: {message.string!r}")
    return found


def main(argv: Sequence[str]) -> int:
    """The command line: update, compile [CODE...], check."""
    command, *codes = argv or ["help"]
    if command == "update":
        update()
        print(f"updated {TEMPLATE.name} and {len(LANGUAGES)} catalogs in {LOCALE_DIR}")
        return 0
    if command == "compile":
        chosen = [language for language in LANGUAGES if not codes or language.code in codes]
        unknown = set(codes) - {language.code for language in chosen}
        if unknown:
            print(f"unknown language(s): {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        for path in compile_catalogs(chosen):
            print(f"compiled {path.relative_to(PROJECT_DIR)}")
        return 0
    if command == "check":
        found = problems(extract())
        for problem in found:
            print(problem)
        return 1 if found else 0
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
