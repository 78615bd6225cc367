"""The municipality's local time: Japan (UTC+9, no daylight saving), as residents, crews and
exports read it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def when(at: datetime | None) -> str:
    """A time as crews read it: Japan time, to the minute ("" for none)."""
    return at.astimezone(JST).strftime("%Y-%m-%d %H:%M") if at else ""
