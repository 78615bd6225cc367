"""Shelter status in a disaster: admins mark sites open, full or closed (and clear them back
to no status when the disaster is over), and may declare the hazard the disaster is about;
residents' answers and the public page read both.

Every change is written to `shelter_status_log` (statuses) or `hazard_declarations` (the
hazard) in the caller's transaction, so a change and its record stand or fall together. A
change naming an unknown or retired site changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.hazards import ShelterHazard
from gis.towns import town_of

# A note is shown in a chat bubble and on the public page: a line or two, not a report.
NOTE_MAX = 500
# The status logged when a site goes back to no announced status (the log's column is text).
CLEARED = "cleared"


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
    # The 町名 of the address (gis.towns)
    town: str
    lon: float
    lat: float
    hazards: frozenset[ShelterHazard]
    status: ShelterStatus | None
    note: str
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class StatusChange:
    """A logged status change of a site; status None: cleared back to no status."""

    common_id: str
    name: str  # "" when the site is no longer loaded
    status: ShelterStatus | None
    note: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class HazardDeclaration:
    """A logged declaration of a hazard; hazard None: the declared hazard was ended."""

    hazard: ShelterHazard | None
    actor: str
    at: datetime


@dataclass(frozen=True)
class ActiveHazard:
    """The hazard an admin declared active."""

    hazard: ShelterHazard
    declared_by: str
    declared_at: datetime

    @classmethod
    def of_row(cls, row: Any) -> ActiveHazard | None:
        """The declaration in a row of `active_hazard` (hazard, declared_by, declared_at),
        or None when the row holds none."""
        if row is None or row.hazard is None:
            return None
        return cls(ShelterHazard(row.hazard), row.declared_by, row.declared_at)


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


async def _active_ids(conn: AsyncConnection, common_ids: Sequence[str]) -> list[str]:
    """`common_ids` without blanks and duplicates, in the given order; StatusError when none
    is given or any is not an active site (the message lists them all)."""
    ids = list(dict.fromkeys(i.strip() for i in common_ids if i.strip()))
    if not ids:
        raise StatusError("no site given: name site IDs or select sites by hazard, town or area")
    known = {row.common_id for row in await conn.execute(_KNOWN_IDS, {"ids": ids})}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise StatusError(f"no active site with ID: {', '.join(unknown)}; nothing was changed")
    return ids


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
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise StatusError(f"the note has {len(note)} characters; at most {NOTE_MAX}")
    ids = await _active_ids(conn, common_ids)
    values = {"ids": ids, "status": str(status), "note": note, "actor": actor}
    await conn.execute(_UPSERT_STATUS, values)
    await conn.execute(_LOG_STATUS, values)
    return ids


# One statement deletes and logs, so no status can go unrecorded. :ids NULL: every site.
_CLEAR_STATUS = text("""
    WITH gone AS (
        DELETE FROM shelter_status
        WHERE CAST(:ids AS text[]) IS NULL OR common_id = ANY(CAST(:ids AS text[]))
        RETURNING common_id
    )
    INSERT INTO shelter_status_log (common_id, status, actor, at)
    SELECT common_id, :cleared, :actor, now() FROM gone
    RETURNING common_id
""")


async def clear_status(
    conn: AsyncConnection, common_ids: Sequence[str], *, actor: str
) -> list[str]:
    """Return the sites in `common_ids` to no announced status, logging each as 'cleared';
    returns the IDs that had a status (in the given order; sites without one are skipped).

    StatusError, with nothing changed, when no site is given or any ID is not an active site.
    """
    ids = await _active_ids(conn, common_ids)
    values = {"ids": ids, "cleared": CLEARED, "actor": actor}
    cleared = {row.common_id for row in await conn.execute(_CLEAR_STATUS, values)}
    return [i for i in ids if i in cleared]


async def clear_all(conn: AsyncConnection, *, actor: str) -> list[str]:
    """Return every site (retired ones too) to no announced status, as at the end of a
    disaster, logging each as 'cleared'; returns the IDs that had a status, sorted."""
    values = {"ids": None, "cleared": CLEARED, "actor": actor}
    return sorted(row.common_id for row in await conn.execute(_CLEAR_STATUS, values))


_SELECT_IDS = text("""
    SELECT common_id, address, municipality FROM shelters
    WHERE active
      AND (CAST(:hazard AS text) IS NULL OR CAST(:hazard AS text) = ANY(hazards))
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
    `area` (a polygon in EPSG:4326): every criterion given must hold. A town takes its
    丁目 (田端 takes 田端1-6丁目) but not its namesakes (東田端, 田端新町): gis.towns.

    StatusError when no criterion is given, or when no site matches (naming the criteria).
    """
    town = town.strip() if town is not None else None
    if hazard is None and not town and area is None:
        raise StatusError("no selection given: a hazard, a town or an area")
    params = {
        "hazard": str(hazard) if hazard is not None else None,
        "area": area.wkt if area is not None else None,
    }
    ids = [
        row.common_id
        for row in await conn.execute(_SELECT_IDS, params)
        if not town or town_of(row.address, row.municipality) == town
    ]
    if not ids:
        criteria = [
            f"designated for {hazard}" if hazard is not None else "",
            f"in town {town!r}" if town else "",
            "inside the area" if area is not None else "",
        ]
        raise StatusError(f"no active site {' and '.join(c for c in criteria if c)}")
    return ids


_STATUSES = text("""
    SELECT s.common_id, s.name, s.address, s.municipality, ST_X(s.geom) AS lon,
           ST_Y(s.geom) AS lat, s.hazards, st.status, st.note, st.updated_by, st.updated_at
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
            town=town_of(row.address, row.municipality),
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
_END_HAZARD = text("DELETE FROM active_hazard RETURNING hazard")
_ACTIVE = text("SELECT hazard, declared_by, declared_at FROM active_hazard WHERE id = 1")
_LOG_HAZARD = text("""
    INSERT INTO hazard_declarations (hazard, actor, at) VALUES (:hazard, :actor, now())
""")


async def declare_hazard(conn: AsyncConnection, hazard: ShelterHazard, *, actor: str) -> None:
    """Make `hazard` the active one (replacing any other) and log the declaration."""
    values = {"hazard": str(hazard), "actor": actor}
    await conn.execute(_DECLARE, values)
    await conn.execute(_LOG_HAZARD, values)


async def clear_hazard(conn: AsyncConnection, *, actor: str) -> ShelterHazard | None:
    """End the declared hazard and log the end; returns the one that was active (None, and
    nothing logged, when none was)."""
    cleared = (await conn.execute(_END_HAZARD)).scalar_one_or_none()
    if cleared is None:
        return None
    await conn.execute(_LOG_HAZARD, {"hazard": None, "actor": actor})
    return ShelterHazard(cleared)


@dataclass(frozen=True)
class DisasterEnd:
    """What ending a disaster changed: the sites that had a status, the hazard ended."""

    cleared: list[str]
    ended: ShelterHazard | None


async def end_disaster(conn: AsyncConnection, *, actor: str) -> DisasterEnd:
    """The end of a disaster, in one step (the `civic` command and the crew page alike):
    every site back to no status and the declared hazard ended, each change logged once
    (a site that had no status and a hazard that was not declared log nothing)."""
    cleared = await clear_all(conn, actor=actor)
    return DisasterEnd(cleared, await clear_hazard(conn, actor=actor))


async def active_hazard(conn: AsyncConnection) -> ActiveHazard | None:
    """The declared hazard, or None in normal times."""
    return ActiveHazard.of_row((await conn.execute(_ACTIVE)).first())


_HAZARD_LOG = text("""
    SELECT hazard, actor, at FROM hazard_declarations ORDER BY at DESC, id DESC LIMIT :limit
""")
_STATUS_LOG = text("""
    SELECT l.common_id, coalesce(s.name, '') AS name, l.status, l.note, l.actor, l.at
    FROM shelter_status_log l LEFT JOIN shelters s USING (common_id)
    ORDER BY l.at DESC, l.id DESC LIMIT :limit
""")


async def hazard_history(conn: AsyncConnection, limit: int) -> list[HazardDeclaration]:
    """The last `limit` hazard declarations and ends, newest first."""
    return [
        HazardDeclaration(
            ShelterHazard(row.hazard) if row.hazard is not None else None, row.actor, row.at
        )
        for row in await conn.execute(_HAZARD_LOG, {"limit": limit})
    ]


async def status_history(conn: AsyncConnection, limit: int) -> list[StatusChange]:
    """The last `limit` logged status changes of sites, newest first."""
    return [
        StatusChange(
            common_id=row.common_id,
            name=row.name,
            status=ShelterStatus(row.status) if row.status != CLEARED else None,
            note=row.note,
            actor=row.actor,
            at=row.at,
        )
        for row in await conn.execute(_STATUS_LOG, {"limit": limit})
    ]
