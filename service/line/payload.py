"""What a LINE event carries, read strictly: for the inbox, which must store any event of a
well-formed body, and for the handlers, which must tell a malformed event from a failure.

LINE never sends text PostgreSQL cannot hold (NUL, lone surrogates), numbers JSON cannot
(NaN, Infinity) or impossible times, but a signed body may carry them. One such event must
not cost the others in its body: it is stored cleaned (those characters replaced, those
numbers null) and handled, unless what identifies it (its ID, its source, its time) cannot
be trusted, in which case it is stored as rejected, with the reason, and never handled.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Characters PostgreSQL text and JSONB cannot hold: NUL, and surrogates (json.loads pairs
# the valid ones, so those left are lone and cannot be encoded as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Longer IDs are no LINE IDs (a webhookEventId is 26 characters, a user ID 33), and a key
# must fit in a B-tree index entry.
MAX_ID_LENGTH = 128
# LINE's events are a few levels deep.
MAX_DEPTH = 32
_SOURCE_IDS = ("userId", "groupId", "roomId")


class PayloadError(ValueError):
    """An event's content is malformed. Permanent: handling it again cannot help."""


@dataclass(frozen=True)
class StorableEvent:
    """An event as the inbox stores it."""

    event_id: str
    source_key: str
    event_type: str
    # None: an impossible time, replaced by the time it arrived.
    event_time: datetime | None
    payload: dict[str, Any]
    # Why it is stored as rejected rather than handled; None for an event to handle.
    rejected: str | None
    # What had to be replaced to store it.
    cleaned: tuple[str, ...]


def storable(event: dict[str, Any]) -> StorableEvent:
    """`event` (an object with a string webhookEventId) made storable, rejected with the
    reason when its ID, source or time cannot be trusted."""
    cleaned: set[str] = set()
    payload = _clean(event, 0, cleaned)
    problems: list[str] = []
    raw_id = event["webhookEventId"]
    event_id = raw_id
    if not _usable_id(raw_id):
        # A stable stand-in, so a redelivery is still stored once.
        digest = hashlib.sha256(raw_id.encode("utf-8", "surrogatepass")).hexdigest()
        event_id = f"sha256:{digest}"
        problems.append("webhookEventId is no usable ID")
    key, problem = _source_key(event.get("source"))
    if problem:
        problems.append(problem)
    event_time, problem = _event_time(event.get("timestamp"))
    if problem:
        problems.append(problem)
    kind = payload.get("type")
    return StorableEvent(
        event_id=event_id,
        source_key=key,
        event_type=kind if isinstance(kind, str) else "unknown",
        event_time=event_time,
        payload=payload,
        rejected="; ".join(problems) or None,
        cleaned=tuple(sorted(cleaned)),
    )


def _clean(value: Any, depth: int, found: set[str]) -> Any:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            found.add("text with NUL or a lone surrogate")
            return _UNSTORABLE.sub("\ufffd", value)
        return value
    if isinstance(value, float) and not math.isfinite(value):
        found.add("a number that is NaN or infinite")
        return None
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        found.add(f"values nested deeper than {MAX_DEPTH} levels")
        return None
    if isinstance(value, dict):
        return {_clean(k, depth, found): _clean(v, depth + 1, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(item, depth + 1, found) for item in value]
    return value


def _usable_id(value: object) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and not _UNSTORABLE.search(value)
    )


def _source_key(source: object) -> tuple[str, str | None]:
    """The ordering key of an event (its user, group or room), and what is wrong with its
    source if anything."""
    if source is None:
        return "unknown", None
    if not isinstance(source, dict):
        return "unknown", "source is not an object"
    for field in _SOURCE_IDS:
        value = source.get(field)
        if value is None or value == "":
            continue
        if not _usable_id(value):
            return "unknown", f"source.{field} is no usable ID"
        return f"{field[:-2]}:{value}", None
    return "unknown", None


def _event_time(timestamp: object) -> tuple[datetime | None, str | None]:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return None, "timestamp is not an integer"
    try:
        return datetime.fromtimestamp(timestamp / 1000, tz=UTC), None
    except (OverflowError, OSError, ValueError):
        return None, "timestamp is out of range"


def section(payload: dict[str, Any], name: str) -> dict[str, Any]:
    """The object `payload[name]` (the message, the postback), {} when absent."""
    value = payload.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{name} is not an object")
    return value


def text_field(part: dict[str, Any], name: str) -> str:
    """The string `part[name]`, "" when absent."""
    value = part.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{name} is not a string")
    return value


def coordinate(value: object, name: str) -> float:
    """A latitude or longitude: a finite number (or its text, as postback data has it)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PayloadError(f"{name} is missing or not a number")
    try:
        number = float(value)
    except ValueError:
        raise PayloadError(f"{name} is not a number") from None
    if not math.isfinite(number):
        raise PayloadError(f"{name} is not finite")
    return number


def user_id(payload: dict[str, Any]) -> str | None:
    """The LINE user ID of the event's source, if it has one."""
    source = payload.get("source")
    value = source.get("userId") if isinstance(source, dict) else None
    return value if isinstance(value, str) and value else None
