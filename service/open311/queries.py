"""Open311's SQL: the requests a filter selects, a token's request, a key's filings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from service.open311.filters import RequestFilter

# Reports filed through Open311 carry this source.
SOURCE = "open311"

# Columns chosen one by one: reports.line_user_id is never selected. The resident's own
# words and any media are shown only for requests filed through this API.
_REQUESTS = text("""
    SELECT r.id, r.category, r.address, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat,
           r.created_at, c.status,
           CASE WHEN r.source = :source THEN r.description ELSE '' END AS description,
           CASE WHEN r.source = :source THEN r.media_url END AS media_url,
           coalesce(e.note, '') AS status_notes,
           greatest(r.created_at, e.at) AS updated_at
    FROM reports r
    JOIN report_clusters c ON c.id = r.cluster_id
    LEFT JOIN LATERAL (
        SELECT at, note FROM cluster_events
        WHERE cluster_id = c.id ORDER BY at DESC, id DESC LIMIT 1
    ) e ON true
    WHERE (CAST(:ids AS integer[]) IS NULL OR r.id = ANY(CAST(:ids AS integer[])))
      AND (CAST(:codes AS text[]) IS NULL OR r.category = ANY(CAST(:codes AS text[])))
      AND (CAST(:statuses AS text[]) IS NULL OR c.status = ANY(CAST(:statuses AS text[])))
      AND (CAST(:since AS timestamptz) IS NULL OR r.created_at >= CAST(:since AS timestamptz))
      AND (CAST(:until AS timestamptz) IS NULL OR r.created_at <= CAST(:until AS timestamptz))
    ORDER BY r.created_at DESC, r.id DESC
    LIMIT :limit
""")


async def find_requests(conn: AsyncConnection, where: RequestFilter) -> list[Any]:
    """The reports `where` selects, newest first, with their cluster's status and latest
    note; only columns that identify nobody."""
    params = {
        "source": SOURCE,
        "ids": where.ids,
        "codes": where.codes,
        "statuses": where.statuses,
        "since": where.since,
        "until": where.until,
        "limit": where.limit,
    }
    return list((await conn.execute(_REQUESTS, params)).all())


_BY_TOKEN = text("SELECT id FROM reports WHERE token = :token")


async def request_for_token(conn: AsyncConnection, token: str) -> int | None:
    """The report filed with this token, if any."""
    found = (await conn.execute(_BY_TOKEN, {"token": token})).scalar_one_or_none()
    return None if found is None else int(found)


_LOCK_KEY = text("SELECT id FROM api_keys WHERE id = :key_id FOR UPDATE")

_FILED_LAST_HOUR = text("""
    SELECT count(*) FROM reports
    WHERE api_key_id = :key_id AND created_at > now() - interval '1 hour'
""")

_MARK_FILED = text("""
    UPDATE reports SET api_key_id = :key_id, media_url = :media_url, token = :token
    WHERE id = :id
""")


async def filed_last_hour(conn: AsyncConnection, key_id: int) -> int:
    """How many reports the API key filed in the last hour. The key's row stays locked until
    `conn`'s transaction ends: concurrent filings of one key count one after another, each
    seeing the ones committed before it, so none slips past the allowance."""
    await conn.execute(_LOCK_KEY, {"key_id": key_id})
    return int(await conn.scalar(_FILED_LAST_HOUR, {"key_id": key_id}) or 0)


async def mark_filed(
    conn: AsyncConnection, report_id: int, *, key_id: int, media_url: str | None, token: str
) -> None:
    """Remember on a report filed here its API key, its media_url and its token."""
    params = {"key_id": key_id, "media_url": media_url, "token": token, "id": report_id}
    await conn.execute(_MARK_FILED, params)
