"""What the bot asked a resident for and is waiting on: the next location they send
answers it ("shelter", "area", "facility:aed" ...), even while a report draft also waits.

Kept on `line_users` with its time; it lapses after PENDING_MINUTES, and any location the
resident sends clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from service.tables import line_users

PENDING_MINUTES = 10


def current(pending: str | None, pending_at: datetime | None, now: datetime) -> str | None:
    """The pending request, unless it has lapsed."""
    if pending is None or pending_at is None:
        return None
    return pending if now - pending_at <= timedelta(minutes=PENDING_MINUTES) else None


async def set_pending(engine: AsyncEngine, user_id: str, intent: str) -> None:
    """Remember that the resident's next location answers `intent`."""
    stmt = insert(line_users).values(user_id=user_id, pending=intent, pending_at=func.now())
    stmt = stmt.on_conflict_do_update(
        index_elements=[line_users.c.user_id],
        set_={"pending": intent, "pending_at": func.now()},
    )
    async with engine.begin() as conn:
        await conn.execute(stmt)


async def clear_pending(engine: AsyncEngine, user_id: str) -> None:
    """Forget what the bot was waiting on."""
    async with engine.begin() as conn:
        await conn.execute(
            update(line_users)
            .where(line_users.c.user_id == user_id, line_users.c.pending.is_not(None))
            .values(pending=None, pending_at=None)
        )
