"""Shelter status in a disaster: admins mark sites open, full or closed, and may declare the
hazard the disaster is about; residents' answers and the public page read both.

Every change is written to `shelter_status_log` in the caller's transaction, so a status and
its record stand or fall together. A change naming an unknown or retired site changes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.hazards import ShelterHazard

# A note is shown in a chat bubble and on the public page: a line or two, not a report.
NOTE_MAX = 500


class ShelterStatus(StrEnum):
    """What an admin last said about a site."""

    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"


class StatusError(ValueError):
    """A status change or selection that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class SiteStatus:
    """An active site with its current status (None: never set) and who set it, when."""

    common_id: str
    name: str
    address: str
    lon: float
    lat: float
    hazards: frozenset[ShelterHazard]
    status: ShelterStatus | None
    note: str
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ActiveHazard:
    """The hazard an admin declared active."""

    hazard: ShelterHazard
    declared_by: str
    declared_at: datetime


def parse_status(value: str) -> ShelterStatus:
    """A ShelterStatus from its value ("open"); StatusError listing the valid ones."""
    try:
        return ShelterStatus(value.strip().lower())
    except ValueError as exc:
        known = ", ".join(s.value for s in ShelterStatus)
        raise StatusError(f"unknown status {value!r}: expected one of {known}") from exc


def parse_hazard(value: str) -> ShelterHazard:
    """A ShelterHazard from its value ("flood"); StatusError listing the valid ones."""
    try:
        return ShelterHazard(value.strip().lower())
    except ValueError as exc:
        known = ", ".join(h.value for h in ShelterHazard)
        raise StatusError(f"unknown hazard {value!r}: expected one of {known}") from exc


_KNOWN_IDS = text("""
    SELECT common_id FROM shelters WHERE active AND common_id = ANY(CAST(:ids AS text[]))
""")
_UPSERT_STATUS = text("""
    INSERT INTO shelter_status (common_id, status, note, updated_by, updated_at)
    SELECT id, :status, :note, :actor, now() FROM unnest(CAST(:ids AS text[])) AS id
    ON CONFLICT (common_id) DO UPDATE
    SET status = excluded.status, note = excluded.note, updated_by = excluded.updated_by,
        updated_at = excluded.updated_at
""")
_LOG_STATUS = text("""
    INSERT INTO shelter_status_log (common_id, status, note, actor, at)
    SELECT id, :status, :note, :actor, now() FROM unnest(CAST(:ids AS text[])) AS id
""")


async def set_status(
    conn: AsyncConnection,
    common_ids: Sequence[str],
    status: ShelterStatus,
    *,
    actor: str,
    note: str = "",
) -> list[str]:
    """Set the status of every site in `common_ids` and log each change; returns the IDs set
    (duplicates removed, in the given order).

    StatusError, with nothing changed, when no site is given, the note is too long, or any ID
    is not an active site (the message lists them all).
    """
    ids = list(dict.fromkeys(i.strip() for i in common_ids if i.strip()))
    if not ids:
        raise StatusError("no site given: name site IDs or select sites by hazard, town or area")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise StatusError(f"the note has {len(note)} characters; at most {NOTE_MAX}")
    known = {row.common_id for row in await conn.execute(_KNOWN_IDS, {"ids": ids})}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise StatusError(f"no active site with ID: {', '.join(unknown)}; nothing was changed")
    values = {"ids": ids, "status": str(status), "note": note, "actor": actor}
    await conn.execute(_UPSERT_STATUS, values)
    await conn.execute(_LOG_STATUS, values)
    return ids


# Town = the address after the municipality's name, up to the 丁目 number: "田端" takes
# 田端1-6丁目 but neither 東田端 nor 田端新町.
_SELECT_IDS = text("""
    WITH s AS (
        SELECT common_id, address, geom, hazards,
               CASE WHEN starts_with(address, municipality)
                    THEN substr(address, char_length(municipality) + 1)
                    ELSE address END AS rest
        FROM shelters WHERE active
    )
    SELECT common_id FROM s
    WHERE (CAST(:hazard AS text) IS NULL OR CAST(:hazard AS text) = ANY(hazards))
      AND (CAST(:town AS text) IS NULL OR (
            starts_with(rest, CAST(:town AS text))
            AND substr(rest, char_length(CAST(:town AS text)) + 1)
                ~ '^([0-9０-９一二三四五六七八九十]|$)'))
      AND (CAST(:area AS text) IS NULL
           OR ST_Covers(ST_GeomFromText(CAST(:area AS text), 4326), geom))
    ORDER BY address, common_id
""")


async def select_ids(
    conn: AsyncConnection,
    *,
    hazard: ShelterHazard | None = None,
    town: str | None = None,
    area: BaseGeometry | None = None,
) -> list[str]:
    """The active sites designated for `hazard`, in `town` (a 町名 such as 田端) and inside
    `area` (a polygon in EPSG:4326): every criterion given must hold.

    StatusError when no criterion is given, or when no site matches (naming the criteria).
    """
    town = town.strip() if town is not None else None
    if hazard is None and not town and area is None:
        raise StatusError("no selection given: a hazard, a town or an area")
    params = {
        "hazard": str(hazard) if hazard is not None else None,
        "town": town or None,
        "area": area.wkt if area is not None else None,
    }
    ids = [row.common_id for row in await conn.execute(_SELECT_IDS, params)]
    if not ids:
        criteria = [
            f"designated for {hazard}" if hazard is not None else "",
            f"in town {town!r}" if town else "",
            "inside the area" if area is not None else "",
        ]
        raise StatusError(f"no active site {' and '.join(c for c in criteria if c)}")
    return ids


_STATUSES = text("""
    SELECT s.common_id, s.name, s.address, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           s.hazards, st.status, st.note, st.updated_by, st.updated_at
    FROM shelters s LEFT JOIN shelter_status st USING (common_id)
    WHERE s.active
    ORDER BY s.address, s.common_id
""")


async def current_statuses(conn: AsyncConnection) -> list[SiteStatus]:
    """Every active site with its current status, in address order."""
    return [
        SiteStatus(
            common_id=row.common_id,
            name=row.name,
            address=row.address,
            lon=row.lon,
            lat=row.lat,
            hazards=frozenset(ShelterHazard(h) for h in row.hazards),
            status=ShelterStatus(row.status) if row.status is not None else None,
            note=row.note or "",
            updated_by=row.updated_by,
            updated_at=row.updated_at,
        )
        for row in await conn.execute(_STATUSES)
    ]


_DECLARE = text("""
    INSERT INTO active_hazard (id, hazard, declared_by, declared_at)
    VALUES (1, :hazard, :actor, now())
    ON CONFLICT (id) DO UPDATE
    SET hazard = excluded.hazard, declared_by = excluded.declared_by,
        declared_at = excluded.declared_at
""")
_CLEAR = text("DELETE FROM active_hazard RETURNING hazard")
_ACTIVE = text("SELECT hazard, declared_by, declared_at FROM active_hazard WHERE id = 1")


async def declare_hazard(conn: AsyncConnection, hazard: ShelterHazard, *, actor: str) -> None:
    """Make `hazard` the active one (replacing any other)."""
    await conn.execute(_DECLARE, {"hazard": str(hazard), "actor": actor})


async def clear_hazard(conn: AsyncConnection) -> ShelterHazard | None:
    """End the declared hazard; returns the one that was active, if any."""
    cleared = (await conn.execute(_CLEAR)).scalar_one_or_none()
    return ShelterHazard(cleared) if cleared is not None else None


async def active_hazard(conn: AsyncConnection) -> ActiveHazard | None:
    """The declared hazard, or None in normal times."""
    row = (await conn.execute(_ACTIVE)).first()
    if row is None:
        return None
    return ActiveHazard(ShelterHazard(row.hazard), row.declared_by, row.declared_at)
