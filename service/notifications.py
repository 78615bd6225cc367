"""What to tell whom: notification intents, stored in the durable outbox.

Domain actions (a report's status change, an area alert) know no channel and no wording: they
store the kind of notice, its parameters and its recipients, in the transaction of the
change. The LINE outbox renders each notice in the recipient's language when it sends it, so
a resident who changed their language in between gets the new one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, cast

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from service.tables import line_outbox
from service.vocabulary import Lang


class UnknownNotice(ValueError):
    """An outbox row whose kind or parameters no notice has (written by another version)."""


@dataclass(frozen=True)
class StatusNotice:
    """A report the resident filed has a new status; `note` is the crew's, as written."""

    kind: ClassVar[str] = "report_status"

    report_id: int
    category: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class AlertNotice:
    """An alert of `topic` for the resident's registered area; `text` is the sender's."""

    kind: ClassVar[str] = "area_alert"

    topic: str
    text: str


Notice = StatusNotice | AlertNotice
_KINDS: Mapping[str, type[StatusNotice] | type[AlertNotice]] = {
    kind.kind: kind for kind in (StatusNotice, AlertNotice)
}


def notice_from(kind: str, params: Mapping[str, Any]) -> Notice:
    """The notice an outbox row holds; UnknownNotice when no notice has this form."""
    found = _KINDS.get(kind)
    if found is None:
        raise UnknownNotice(f"unknown notice kind {kind!r}")
    try:
        return found(**params)
    except TypeError as exc:
        raise UnknownNotice(f"notice {kind!r} with parameters {sorted(params)}: {exc}") from exc


@dataclass(frozen=True)
class Recipient:
    """One resident, with the language to use if the resident has none on record when the
    notice is sent (the language of the report, or of the alert's batch)."""

    line_user_id: str
    language: Lang


# Written through the driver, in `conn`'s transaction, to send the user IDs in binary: as
# text, psycopg scans every ID for characters to quote (19 ms instead of 2 for a flood
# layer's 14,000 residents).
_BATCHES = """
    INSERT INTO line_outbox (recipients, alert_id, language, kind, params, retry_key, reason)
    VALUES (%(recipients)b, %(alert_id)s, %(language)s, %(kind)s, %(params)s, %(retry_key)s,
            %(reason)s)
"""


def _row(notice: Notice, language: Lang, reason: str, **addressee: object) -> dict[str, object]:
    return {
        **addressee,
        "language": language,
        "kind": notice.kind,
        "params": asdict(notice),
        "retry_key": uuid.uuid4(),
        "reason": reason,
    }


async def queue_pushes(
    conn: AsyncConnection, pushes: Sequence[tuple[Recipient, Notice]], *, reason: str
) -> int:
    """Queue one push per (recipient, notice), in `conn`'s transaction. Returns how many
    were queued."""
    rows = [
        _row(notice, recipient.language, reason, line_user_id=recipient.line_user_id)
        for recipient, notice in pushes
    ]
    if rows:
        await conn.execute(insert(line_outbox), rows)
    return len(rows)


async def queue_batches(
    conn: AsyncConnection,
    notice: AlertNotice,
    batches: Sequence[tuple[Lang, Sequence[str]]],
    *,
    alert_id: int,
    reason: str,
) -> None:
    """Queue an alert as multicast batches of (language, user IDs), in `conn`'s
    transaction. Who still wants it is checked again when each batch is sent."""
    rows = [
        {
            **_row(notice, language, reason, recipients=list(users), alert_id=alert_id),
            "params": Jsonb(asdict(notice)),
        }
        for language, users in batches
    ]
    if rows:
        raw = await conn.get_raw_connection()
        driver = cast(psycopg.AsyncConnection[Any], raw.driver_connection)
        async with driver.cursor() as cursor:
            await cursor.executemany(_BATCHES, rows)
