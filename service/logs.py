"""Logging: JSON lines or text on stderr, each line naming the webhook event being handled.

The inbox worker (and the webhook, for the events it stores) sets the event ID in a context
variable, so every line logged while handling an event carries it without passing it around.
LINE user IDs never reach a log: the formatters blank anything shaped like one, whatever a
message or an exception says, and an API key sent in a query string (the access log's
`?api_key=…`). Message text is never logged by the service's own calls, and database errors
never quote the data of the statement that failed (service/db_errors.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from service.settings import OpsSettings

current_event_id: ContextVar[str | None] = ContextVar("civic_event_id", default=None)

# LINE user, group and room IDs: U, C or R and 32 lowercase hex digits.
_LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")
LINE_ID_MASK = "U[hidden]"
# An Open311 client's key in a URL, as the access log writes the request's path.
_API_KEY = re.compile(r"([?&]api_key=)[^&\s\"]*")


@contextmanager
def event_context(event_id: str) -> Iterator[None]:
    """Tag every log line inside with `event_id` (one ID, or several comma-separated)."""
    token = current_event_id.set(event_id)
    try:
        yield
    finally:
        current_event_id.reset(token)


def scrub(line: str) -> str:
    """`line` with every LINE user, group and room ID and every API key in a URL blanked."""
    return _API_KEY.sub(r"\1[hidden]", _LINE_ID.sub(LINE_ID_MASK, line))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, event_id, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        event_id = current_event_id.get()
        if event_id:
            entry["event_id"] = event_id
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [event_id] message`, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(event_tag)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line of text."""
        event_id = current_event_id.get()
        record.event_tag = f" [{event_id}]" if event_id else ""
        return scrub(super().format(record))


def configure_logging(settings: OpsSettings) -> None:
    """Send every logger (uvicorn's too, when it is started with log_config=None) to stderr
    in LOG_FORMAT at LOG_LEVEL. Called by the commands that run the service, not at import."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper())
    if level is None:
        raise ValueError(
            f"LOG_LEVEL={settings.log_level!r} is not a level (DEBUG, INFO, WARNING, ERROR)"
        )
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
