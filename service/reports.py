"""The report workflow: submit (joining a duplicate's cluster), change status, notify.

Crew pages, the LINE conversation and the Open311 API all go through these functions, so a
status change always records an event and always queues the residents' notifications in
the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.clusters import CLOSED_STATUSES, STATUSES, nearest_open_cluster, refresh_cluster
from gis.tables import cluster_events, report_clusters, report_photos, reports
from service.line.messages import Lang, language_of
from service.line.report_messages import status_notice
from service.settings import ReportSettings
from service.tables import line_outbox


class WorkflowError(ValueError):
    """A request the workflow refuses (unknown status, unknown cluster)."""


@dataclass(frozen=True)
class NewReport:
    """What a resident (or an API client) files."""

    category: str
    lon: float
    lat: float
    address: str = ""
    description: str = ""
    photo_keys: Sequence[str] = ()
    line_user_id: str | None = None
    language: Lang = "ja"
    source: str = "line"


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: the resident's report number and its cluster."""

    report_id: int
    cluster_id: int
    joined_existing: bool
    report_count: int
    status: str


_CATEGORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


def _point(lon: float, lat: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


async def submit_report(
    conn: AsyncConnection, report: NewReport, duplicate_metres: float
) -> Submitted:
    """Store a report. An open report of the same category within `duplicate_metres` makes
    it join that cluster; otherwise it starts a cluster of its own."""
    # Two residents reporting the same spot at the same moment must not start two clusters:
    # submissions of one category take turns (the lock ends with the transaction).
    await conn.execute(_CATEGORY_LOCK, {"key": f"report:{report.category}"})
    cluster_id = await nearest_open_cluster(
        conn, report.category, report.lon, report.lat, duplicate_metres
    )
    joined = cluster_id is not None
    if cluster_id is None:
        cluster_id = (
            await conn.execute(
                insert(report_clusters)
                .values(category=report.category, geom=_point(report.lon, report.lat))
                .returning(report_clusters.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(cluster_events).values(
                cluster_id=cluster_id, status="received", actor=report.source
            )
        )
    report_id = (
        await conn.execute(
            insert(reports)
            .values(
                cluster_id=cluster_id,
                category=report.category,
                description=report.description,
                address=report.address,
                geom=_point(report.lon, report.lat),
                line_user_id=report.line_user_id,
                language=report.language,
                source=report.source,
            )
            .returning(reports.c.id)
        )
    ).scalar_one()
    if report.photo_keys:
        await conn.execute(
            insert(report_photos),
            [
                {"report_id": report_id, "position": n, "photo_key": key}
                for n, key in enumerate(report.photo_keys)
            ],
        )
    await refresh_cluster(conn, cluster_id)
    row = (
        await conn.execute(
            select(report_clusters.c.report_count, report_clusters.c.status).where(
                report_clusters.c.id == cluster_id
            )
        )
    ).one()
    return Submitted(report_id, cluster_id, joined, row.report_count, row.status)


_RECENT = text("""
    SELECT count(*) FROM reports
    WHERE line_user_id = :user AND created_at > now() - make_interval(hours => 1)
""")


async def reports_in_last_hour(conn: AsyncConnection, line_user_id: str) -> int:
    """How many reports this resident filed in the last hour (for the rate limit)."""
    return int((await conn.execute(_RECENT, {"user": line_user_id})).scalar_one())


_FOLLOWERS = text("""
    SELECT DISTINCT ON (r.line_user_id) r.line_user_id, r.id AS report_id, r.language
    FROM reports r
    LEFT JOIN line_users u ON u.user_id = r.line_user_id
    WHERE r.cluster_id = :cluster AND r.line_user_id IS NOT NULL
      AND coalesce(u.following, true)
    ORDER BY r.line_user_id, r.id
""")


async def change_status(
    conn: AsyncConnection,
    cluster_id: int,
    status: str,
    *,
    actor: str,
    note: str = "",
    settings: ReportSettings,
) -> int:
    """Set a cluster's status, record who/when/why, and queue a push to every resident who
    reported it (except those who blocked the account). Returns how many were queued."""
    if status not in STATUSES:
        raise WorkflowError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    closed_at = func.now() if status in CLOSED_STATUSES else None
    result = await conn.execute(
        update(report_clusters)
        .where(report_clusters.c.id == cluster_id)
        .values(status=status, updated_at=func.now(), closed_at=closed_at)
        .returning(report_clusters.c.category)
    )
    category = result.scalar_one_or_none()
    if category is None:
        raise WorkflowError(f"no report cluster #{cluster_id}")
    await conn.execute(
        insert(cluster_events).values(cluster_id=cluster_id, status=status, actor=actor, note=note)
    )
    followers = (await conn.execute(_FOLLOWERS, {"cluster": cluster_id})).all()
    rows = [
        {
            "line_user_id": row.line_user_id,
            "messages": status_notice(
                row.report_id,
                settings.category(category),
                status,
                note,
                language_of(row.language),
            ),
            "retry_key": uuid.uuid4(),
            "reason": f"cluster {cluster_id}: {status}",
        }
        for row in followers
    ]
    if rows:
        await conn.execute(insert(line_outbox), rows)
    return len(rows)


@dataclass(frozen=True)
class Forgotten:
    """What `forget_reporters` removed."""

    reports: int
    outbox_rows: int
    events: int


_FORGET_REPORTS = text("""
    UPDATE reports r SET line_user_id = NULL
    FROM report_clusters c
    WHERE c.id = r.cluster_id AND r.line_user_id IS NOT NULL
      AND c.closed_at IS NOT NULL AND c.closed_at < :before
""")
_FORGET_OUTBOX = text("DELETE FROM line_outbox WHERE status <> 'pending' AND created_at < :before")
_FORGET_INBOX = text("DELETE FROM line_inbox WHERE received_at < :before")


async def forget_reporters(conn: AsyncConnection, before: datetime) -> Forgotten:
    """Unlink reporters from reports closed before `before`, and drop delivered pushes and
    handled webhook events from before then (they also carry LINE user IDs)."""
    params = {"before": before}
    unlinked = (await conn.execute(_FORGET_REPORTS, params)).rowcount
    outbox = (await conn.execute(_FORGET_OUTBOX, params)).rowcount
    inbox = (await conn.execute(_FORGET_INBOX, params)).rowcount
    return Forgotten(unlinked, outbox, inbox)
