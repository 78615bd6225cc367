"""The vocabulary in pages: Jinja's i18n extension, and the crew pages' two languages.

`install(env)` adds Jinja's i18n extension to the app's one environment with newstyle gettext
callables: `_("…")`, `gettext`, `pgettext` and `ngettext` take the values of their brace
placeholders as keyword arguments (`_("Report No.{id}", id=7)`), escaped as any value in an
autoescaped template. They speak the page's language (Japanese).

Crew and public pages show Japanese first with English after it: `both("Open reports")` is
`対応中の通報 <span lang="en">Open reports</span>` in a page, "対応中の通報 Open reports" as
text (`|string`: titles, attributes), and its `.ja` and `.en` can be placed apart where a page
sets them otherwise. `pboth` is the same with a pgettext context, `both_plural` for a message
with a count. Python code hands pages a `Both` the same way, and `both_label` / `both_status`
for the label of a code.

As in Jinja's own i18n, a message used in a page is part of the page: its markup is kept
(`<strong>{n}</strong>`), the values put into it are escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup, escape

from service.vocabulary.catalogs import Words, words
from service.vocabulary.labels import Labelled, label, report_status_label
from service.vocabulary.languages import Lang

# Pages show Japanese first, then English (the catalogs' source).
FIRST: Lang = "ja"
SECOND: Lang = "en"


@dataclass(frozen=True)
class Both:
    """A text of a page in Japanese and in English (HTML)."""

    ja: Markup
    en: Markup

    def __html__(self) -> str:
        return Markup('{} <span lang="en">{}</span>').format(self.ja, self.en)

    def __str__(self) -> str:
        return self.plain()

    def plain(self, separator: str = " ") -> str:
        """Both as text (a title, an attribute, an API's notice): "ja en", or "ja / en"."""
        return escape(separator).join((self.ja, self.en)).striptags()


def _trusted(message: str) -> Markup:
    # A catalog message shown in a page is part of the page, as its template is.
    return Markup(message)  # noqa: S704


def _filled(translated: str, values: dict[str, Any], side: Callable[[Both], Markup]) -> Markup:
    mine = {name: side(v) if isinstance(v, Both) else v for name, v in values.items()}
    return _trusted(translated).format(**mine)


def _both(translate: Callable[[Words], str], values: dict[str, Any]) -> Both:
    first, second = words(FIRST), words(SECOND)
    return Both(
        _filled(translate(first), values, lambda value: value.ja),
        _filled(translate(second), values, lambda value: value.en),
    )


def both(message: str, /, **values: Any) -> Both:
    """A catalog message in Japanese and English, with `values` filled in (escaped; a
    `Both` value gives each language its own)."""
    return _both(lambda w: w.translate(message), values)


def pboth(context: str, message: str, /, **values: Any) -> Both:
    """`both` for a message whose meaning depends on `context` (pgettext)."""
    return _both(lambda w: w.translate(message, context), values)


def both_plural(singular: str, plural: str, n: int, /, **values: Any) -> Both:
    """`both` for a message with a count `n` (the placeholder `{n}`)."""
    return _both(lambda w: w.translate_plural(singular, plural, n), {"n": n, **values})


def both_label(value: Labelled) -> Both:
    """The label of a code (a hazard, a shelter status, a city's category…) in both."""
    return Both(escape(label(value, FIRST)), escape(label(value, SECOND)))


def both_status(status: str) -> Both:
    """The label of a report status code in both (受付 received)."""
    ja, en = (report_status_label(status, lang) for lang in (FIRST, SECOND))
    return Both(escape(ja), escape(en))


def _page_text(eval_ctx: jinja2.nodes.EvalContext, translated: str, values: dict[str, Any]) -> str:
    if eval_ctx.autoescape:
        return _trusted(translated).format(**values)
    return translated.format(**values)


def install(env: jinja2.Environment) -> None:
    """Add Jinja's i18n extension to `env`, speaking the page's language, with the helpers
    `both`, `pboth`, `both_plural`, `both_label` and `both_status`."""
    env.add_extension("jinja2.ext.i18n")
    page = words(FIRST)

    @jinja2.pass_eval_context
    def gettext(eval_ctx: jinja2.nodes.EvalContext, message: str, /, **values: Any) -> str:
        return _page_text(eval_ctx, page.translate(message), values)

    @jinja2.pass_eval_context
    def pgettext(
        eval_ctx: jinja2.nodes.EvalContext, context: str, message: str, /, **values: Any
    ) -> str:
        return _page_text(eval_ctx, page.translate(message, context), values)

    @jinja2.pass_eval_context
    def ngettext(
        eval_ctx: jinja2.nodes.EvalContext, singular: str, plural: str, n: int, /, **values: Any
    ) -> str:
        return _page_text(eval_ctx, page.translate_plural(singular, plural, n), {"n": n, **values})

    # Newstyle: values are keyword arguments, filled in and escaped by the callables (brace
    # placeholders, as everywhere in the catalogs, rather than Jinja's "%(n)s").
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(
        gettext=gettext,
        pgettext=pgettext,
        ngettext=ngettext,
        both=both,
        pboth=pboth,
        both_plural=both_plural,
        both_label=both_label,
        both_status=both_status,
    )
