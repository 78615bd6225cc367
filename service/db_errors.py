"""Database errors that never quote what was sent.

PostgreSQL's error text may quote the data of the statement that failed: a failed JSONB
insert quotes the JSON in its CONTEXT line, a unique violation the key in its DETAIL line, a
failed cast the value itself. That data may be a resident's words or a LINE user ID, and the
error's text goes to logs and to `line_inbox.last_error`. `keep_errors_terse` makes every
error of an engine say only what failed: its class (the SQLSTATE), PostgreSQL's primary
message with every quoted part blanked, and the statement (its parameters are hidden too).
"""

from __future__ import annotations

import re

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

# What PostgreSQL quotes in a primary message: values ("abc") and names ("reports").
_QUOTED = re.compile(r'"[^"]*"')


def terse_message(error: psycopg.Error) -> str:
    """The primary message of `error` with every quoted part blanked; no DETAIL, CONTEXT
    or HINT."""
    primary = error.diag.message_primary or type(error).__name__
    return _QUOTED.sub('"…"', primary)


def _terse(context: ExceptionContext) -> None:
    error = context.original_exception
    if not isinstance(error, psycopg.Error):
        return
    message = terse_message(error)
    error.args = (message,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        # SQLAlchemy wrote the original's text into its own message when it wrapped it.
        name = f"{type(error).__module__}.{type(error).__name__}"
        wrapped.args = (f"({name}) {message}", *wrapped.args[1:])


def keep_errors_terse(engine: AsyncEngine) -> None:
    """Make every database error raised through `engine` quote none of the data sent."""
    event.listen(engine.sync_engine, "handle_error", _terse)
