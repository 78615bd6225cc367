"""Prometheus metrics of one running service (an app or a `civic worker` process).

Each `Metrics` has its own registry, never prometheus_client's global one: tests build several
apps in one process, and each must count only its own events. Counters and histograms are
kept per process; the queue depths are read from the database at scrape time (`backlog`), so
the app's /metrics shows the inbox and outbox of every process sharing the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Claim to done: a location answer takes tens of milliseconds, a photo download more.
_HANDLING_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# LINE's event time to done: includes the wait in the inbox (the reply token lasts a minute).
_EVENT_AGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class Metrics:
    """The counters and histograms of one process, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhook_events = Counter(
            "civic_webhook_events",
            "Webhook events received with a valid signature, by event type",
            ["type"],
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "civic_webhook_rejected",
            "Webhook requests refused, by reason (signature, size, json), and events of an "
            "accepted body stored as rejected (event)",
            ["reason"],
            registry=self.registry,
        )
        self.inbox_handled = Counter(
            "civic_inbox_events_handled",
            "Inbox events handled, by outcome (done, ignored, retry, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.handling_seconds = Histogram(
            "civic_inbox_handling_seconds",
            "Seconds from claiming an inbox event to recording it done",
            buckets=_HANDLING_BUCKETS,
            registry=self.registry,
        )
        self.event_age_seconds = Histogram(
            "civic_inbox_event_age_seconds",
            "Seconds from LINE's event timestamp to recording the event done",
            buckets=_EVENT_AGE_BUCKETS,
            registry=self.registry,
        )
        self.outbox = Counter(
            "civic_outbox_pushes",
            "Outbox pushes and multicasts, by outcome (sent, retried, failed, skipped)",
            ["outcome"],
            registry=self.registry,
        )
        self.platform_errors = Counter(
            "civic_line_platform_errors",
            "Failed calls to the LINE platform (each attempt), by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )


_INBOX_BACKLOG = text("""
    SELECT status, count(*) AS n,
           extract(epoch FROM now() - min(CASE
               WHEN status = 'pending' AND next_attempt_at <= now() THEN next_attempt_at
               WHEN status = 'processing' AND locked_until < now() THEN locked_until
           END)) AS oldest_due
    FROM line_inbox WHERE status IN ('pending', 'processing', 'failed')
    GROUP BY status
""")

_OUTBOX_BACKLOG = text("""
    SELECT status, count(*) AS n FROM line_outbox
    WHERE status IN ('pending', 'sending', 'failed') GROUP BY status
""")


@dataclass(frozen=True)
class Backlog:
    """What is waiting in the inbox and the outbox, read from the database."""

    inbox: dict[str, int]
    # Seconds the oldest due event (pending, or with a lapsed lease) has waited; 0 if none.
    inbox_lag: float
    outbox: dict[str, int]

    @property
    def pending(self) -> int:
        """Inbox events waiting to be handled."""
        return self.inbox.get("pending", 0)


async def backlog(conn: AsyncConnection) -> Backlog:
    """Count unfinished and failed inbox and outbox rows. Uses the (status, next_attempt_at)
    indexes: done and sent rows, the bulk of both tables, are never read."""
    inbox: dict[str, int] = {"pending": 0, "processing": 0, "failed": 0}
    lag = 0.0
    for row in await conn.execute(_INBOX_BACKLOG):
        inbox[row.status] = row.n
        lag = max(lag, float(row.oldest_due or 0.0))
    outbox: dict[str, int] = {"pending": 0, "sending": 0, "failed": 0}
    outbox |= {row.status: row.n for row in await conn.execute(_OUTBOX_BACKLOG)}
    return Backlog(inbox, lag, outbox)


class _Fixed(Collector):
    """Metric families computed before rendering (the database has no sync access here)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _backlog_families(found: Backlog) -> list[Metric]:
    inbox = GaugeMetricFamily(
        "civic_inbox_events", "Inbox events not yet done, or failed for good", labels=["status"]
    )
    for status, n in found.inbox.items():
        inbox.add_metric([status], n)
    lag = GaugeMetricFamily(
        "civic_inbox_oldest_due_seconds",
        "Seconds the oldest inbox event that may run has waited for a worker",
        value=found.inbox_lag,
    )
    outbox = GaugeMetricFamily(
        "civic_outbox_queued", "Outbox rows not yet sent, or failed for good", labels=["status"]
    )
    for status, n in found.outbox.items():
        outbox.add_metric([status], n)
    return [inbox, lag, outbox]


def render(metrics: Metrics, found: Backlog) -> bytes:
    """The text exposition of this process's metrics and of the database's backlog."""
    snapshot = CollectorRegistry()
    snapshot.register(_Fixed(_backlog_families(found)))
    return generate_latest(metrics.registry) + generate_latest(snapshot)
