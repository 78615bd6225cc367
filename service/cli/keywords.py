"""`civic keywords`: check a keyword table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import (
    fail,
)
from service.line.keywords import KeywordError, answer_table, load_keywords

app = typer.Typer()


@app.command("keywords")
def keywords_check(
    file: Annotated[Path, typer.Argument(help="A keyword table (CSV or YAML)")],
    ask: Annotated[str | None, typer.Option(help="Show the answer to this text")] = None,
) -> None:
    """Check a keyword table before pointing KEYWORD_ANSWERS at it; --ask answers as
    residents would be answered, the bundled answers included."""
    try:
        table = load_keywords(file)
        answers = answer_table(file)
    except KeywordError as exc:
        raise fail(exc) from exc
    count = sum(len(entry.keywords) for entry in table.entries)
    typer.echo(f"{file}: {len(table.entries)} answers, {count} keywords")
    if ask is not None:
        found = answers.match(ask)
        typer.echo(found.message("ja")["text"] if found else "no answer: the help message")
