"""The report workflow: submit (joining a duplicate's cluster), change status, notify.

Crew pages, the LINE conversation and the Open311 API all go through these functions, so a
status change always records an event and always queues the residents' notices (what to
tell whom, service.notifications) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.clusters import CLOSED_STATUSES, STATUSES, nearest_open_cluster, refresh_cluster
from gis.tables import cluster_events, report_clusters, report_photos, reports
from service.notifications import Recipient, StatusNotice, queue_pushes
from service.vocabulary import DEFAULT, Lang, language_of


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
    language: Lang = DEFAULT.code
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
) -> int:
    """Set a cluster's status, record who/when/why, and queue a notice to every resident who
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
    followers = await conn.execute(_FOLLOWERS, {"cluster": cluster_id})
    # Each resident is told the number of their own report.
    pushes = [
        (
            Recipient(row.line_user_id, language_of(row.language)),
            StatusNotice(row.report_id, category, status, note),
        )
        for row in followers
    ]
    return await queue_pushes(conn, pushes, reason=f"cluster {cluster_id}: {status}")


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


_LOCK_CLUSTERS = text("""
    SELECT id, category, status FROM report_clusters
    WHERE id = ANY(CAST(:ids AS integer[])) ORDER BY id FOR UPDATE
""")
_MOVE_ALL = text("UPDATE reports SET cluster_id = :keep WHERE cluster_id = :merge")
_CLOSE_AS_DUPLICATE = text("""
    UPDATE report_clusters SET status = 'duplicate', closed_at = now(), updated_at = now()
    WHERE id = :id
""")
_ADD_EVENT = text("""
    INSERT INTO cluster_events (cluster_id, status, actor, note)
    VALUES (:cluster, :status, :actor, :note)
""")


async def merge_clusters(conn: AsyncConnection, keep_id: int, merge_id: int, *, actor: str) -> None:
    """Move every report of cluster `merge_id` into `keep_id` and close `merge_id` as
    duplicate, with an event on each. Both must be open and of the same category.

    The moved reporters are not notified here: they follow `keep_id` from now on and hear
    of its next status change."""
    if keep_id == merge_id:
        raise WorkflowError("a cluster cannot be merged into itself")
    # Locked in id order (no deadlock with a merge the other way round); the row locks also
    # hold off a report joining either cluster until this commits.
    found = {
        row.id: row for row in await conn.execute(_LOCK_CLUSTERS, {"ids": [keep_id, merge_id]})
    }
    keep, merge = found.get(keep_id), found.get(merge_id)
    if keep is None or merge is None:
        raise WorkflowError(f"no report cluster #{keep_id if keep is None else merge_id}")
    if keep.category != merge.category:
        raise WorkflowError(
            f"#{merge_id} is {merge.category!r}, #{keep_id} is {keep.category!r}: "
            "only clusters of one category can be merged"
        )
    if keep.status in CLOSED_STATUSES or merge.status in CLOSED_STATUSES:
        raise WorkflowError("only open clusters can be merged")
    await conn.execute(_MOVE_ALL, {"keep": keep_id, "merge": merge_id})
    await conn.execute(_CLOSE_AS_DUPLICATE, {"id": merge_id})
    events = [
        {"cluster": merge_id, "status": "duplicate", "note": f"merged into #{keep_id}"},
        {"cluster": keep_id, "status": keep.status, "note": f"merged #{merge_id}"},
    ]
    await conn.execute(_ADD_EVENT, [{**event, "actor": actor} for event in events])
    await refresh_cluster(conn, keep_id)
    await refresh_cluster(conn, merge_id)


_REPORT_CLUSTER = text("""
    SELECT c.id, c.status,
           (SELECT count(*) FROM reports o WHERE o.cluster_id = c.id) AS report_count
    FROM reports r JOIN report_clusters c ON c.id = r.cluster_id
    WHERE r.id = :id FOR UPDATE OF c
""")
_NEW_CLUSTER_FOR = text("""
    INSERT INTO report_clusters (category, status, geom, closed_at)
    SELECT c.category, c.status, r.geom, c.closed_at
    FROM reports r JOIN report_clusters c ON c.id = r.cluster_id
    WHERE r.id = :id
    RETURNING id
""")
_MOVE_ONE = text("UPDATE reports SET cluster_id = :cluster WHERE id = :id")


async def split_report(conn: AsyncConnection, report_id: int, *, actor: str) -> int:
    """Move one report out of its cluster into a new cluster of the same category and
    status (event "split from #old"); returns the new cluster's id. The only report of a
    cluster cannot be split out."""
    old = (await conn.execute(_REPORT_CLUSTER, {"id": report_id})).first()
    if old is None:
        raise WorkflowError(f"no report No.{report_id}")
    if old.report_count < 2:
        raise WorkflowError(f"report No.{report_id} is the only report of #{old.id}")
    new_id = int((await conn.execute(_NEW_CLUSTER_FOR, {"id": report_id})).scalar_one())
    await conn.execute(_MOVE_ONE, {"cluster": new_id, "id": report_id})
    events = [
        {"cluster": new_id, "note": f"split from #{old.id}"},
        # The old cluster's history says where the report went.
        {"cluster": old.id, "note": f"No.{report_id} split into #{new_id}"},
    ]
    await conn.execute(
        _ADD_EVENT, [{**event, "status": old.status, "actor": actor} for event in events]
    )
    await refresh_cluster(conn, old.id)
    await refresh_cluster(conn, new_id)
    return new_id
