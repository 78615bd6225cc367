"""Operations: liveness, readiness, Prometheus metrics and structured logs.

The app runs on a loopback port against its own PostGIS database and the LINE stand-in; the
metrics are read back the way Prometheus reads them, over HTTP in the text format.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from service import sandbox
from service.app import create_app
from service.line.notices import NoticeMessages
from service.line.outbox import OutboxWorkers
from service.line.platform import LinePlatform
from service.logs import JsonFormatter, TextFormatter, event_context
from service.metrics import Metrics
from service.notifications import Recipient, StatusNotice, queue_pushes
from service.sandbox import LinePlatformStandIn, WebhookSender
from service.settings import (
    AlertSettings,
    InboxSettings,
    OpsSettings,
    OutboxSettings,
    ReportSettings,
)
from tests.utils.app import TEST_SECRET, RunningApp, make_settings
from tests.utils.servers import serve

USER = "U" + "7" * 32
# A message a resident might send; it must never reach a log line.
PRIVATE_TEXT = "うちの前の道路に穴があります"

NO_WORKERS = {"inbox": InboxSettings(INBOX_WORKERS=0)}
WITH_TOKEN = {"ops": OpsSettings(METRICS_TOKEN="scrape-secret")}


@pytest.fixture
def client(running_app: RunningApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running_app.url, trust_env=False, timeout=10) as http:
        yield http


@pytest.fixture
def sender(running_app: RunningApp, standin: LinePlatformStandIn) -> Iterator[WebhookSender]:
    standin.add_user(USER, language="ja")
    with WebhookSender(running_app.webhook_url, TEST_SECRET) as webhook:
        yield webhook


def _samples(client: httpx.Client, **headers: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """Every sample of /metrics, keyed by name and label values."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.values()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _wait_for(
    client: httpx.Client, name: str, labels: tuple[str, ...], value: float
) -> dict[tuple[str, tuple[str, ...]], float]:
    """Scrape until a sample reaches `value` (the worker records after it answers)."""
    deadline = time.monotonic() + 10
    while True:
        samples = _samples(client)
        if samples.get((name, labels), 0) >= value or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_healthz_and_readyz_say_ok_when_the_inbox_keeps_up(
    client: httpx.Client, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert sender.send([sandbox.text_event(standin, USER, "避難所")]).status_code == 200
    standin.wait_for_deliveries(1, USER)
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    assert ready.json()["pending"] == 0
    assert ready.json()["inbox_lag_seconds"] < 5


@pytest.mark.parametrize("app_overrides", [NO_WORKERS], indirect=True)
def test_readyz_fails_when_an_event_has_waited_too_long(
    client: httpx.Client,
    sender: WebhookSender,
    standin: LinePlatformStandIn,
    running_app: RunningApp,
) -> None:
    # No inbox workers in the app (as when `civic worker` processes are meant to run).
    assert sender.send([sandbox.text_event(standin, USER, "避難所")]).status_code == 200
    fresh = client.get("/readyz")
    assert fresh.status_code == 200
    assert fresh.json()["pending"] == 1
    # The workers are down: the event has been due for five minutes.
    engine = create_engine(str(running_app.settings.database.url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE line_inbox SET next_attempt_at = now() - interval '5 minutes'"))
    engine.dispose()

    stale = client.get("/readyz")
    assert stale.status_code == 503
    body = stale.json()
    assert body["database"] == "ok" and body["pending"] == 1
    assert 300 <= body["inbox_lag_seconds"] < 330
    assert "READY_MAX_INBOX_LAG_SECONDS=60" in body["reason"]
    # Liveness is another question: the process and its database are fine.
    assert client.get("/healthz").status_code == 200
    samples = _samples(client)
    assert samples[("civic_inbox_events", ("pending",))] == 1
    assert samples[("civic_inbox_oldest_due_seconds", ())] >= 300


def test_metrics_count_webhooks_refusals_handling_and_platform_errors(
    client: httpx.Client, sender: WebhookSender, standin: LinePlatformStandIn
) -> None:
    # LINE fails the reply once: the platform client retries, the resident still gets it.
    standin.fail_next("reply", 500)
    assert sender.send([sandbox.text_event(standin, USER, "避難所")]).status_code == 200
    standin.wait_for_deliveries(1, USER)
    assert sender.send_body(b'{"events": []}', signature="bad").status_code == 400
    assert sender.send_body(b'{"events": []}', signature="").status_code == 400
    assert sender.send_body(b'{"events": [').status_code == 400
    assert sender.send_body(b" " * 1_000_001).status_code == 413

    samples = _wait_for(client, "civic_inbox_events_handled_total", ("done",), 1)
    assert samples[("civic_webhook_events_total", ("message",))] == 1
    assert samples[("civic_webhook_rejected_total", ("signature",))] == 2
    assert samples[("civic_webhook_rejected_total", ("json",))] == 1
    assert samples[("civic_webhook_rejected_total", ("size",))] == 1
    assert samples[("civic_inbox_events_handled_total", ("done",))] == 1
    assert samples[("civic_inbox_handling_seconds_count", ())] == 1
    assert 0 < samples[("civic_inbox_handling_seconds_sum", ())] < 10
    assert samples[("civic_inbox_event_age_seconds_count", ())] == 1
    assert samples[("civic_line_platform_errors_total", ("500", "reply"))] == 1
    assert samples[("civic_inbox_events", ("pending",))] == 0
    assert samples[("civic_outbox_queued", ("failed",))] == 0

    # A second event: the histograms count each handled event once.
    assert sender.send([sandbox.text_event(standin, USER, "help")]).status_code == 200
    samples = _wait_for(client, "civic_inbox_events_handled_total", ("done",), 2)
    assert samples[("civic_inbox_handling_seconds_count", ())] == 2
    assert samples[("civic_webhook_events_total", ("message",))] == 2


def test_each_app_counts_only_its_own_events(
    client: httpx.Client, sender: WebhookSender, running_app: RunningApp
) -> None:
    # Two apps in one process, on one database: the counters are each app's own.
    assert sender.send_body(b"{}", signature="bad").status_code == 400
    with serve(create_app(running_app.settings)) as other_url:
        other = httpx.get(other_url + "/metrics", trust_env=False, timeout=10)
    assert other.status_code == 200
    assert 'civic_webhook_rejected_total{reason="signature"}' not in other.text
    assert _samples(client)[("civic_webhook_rejected_total", ("signature",))] == 1


@pytest.mark.parametrize("app_overrides", [WITH_TOKEN], indirect=True)
def test_metrics_need_the_token_when_one_is_set(client: httpx.Client) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert "METRICS_TOKEN" in wrong.json()["detail"]
    assert ("civic_inbox_events", ("pending",)) in _samples(
        client, Authorization="Bearer scrape-secret"
    )
    # Health checks stay open to the load balancer.
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_json_log_lines_carry_the_event_id_and_no_user_id(
    client: httpx.Client,
    sender: WebhookSender,
    standin: LinePlatformStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.handler.setFormatter(JsonFormatter())
    caplog.set_level(logging.INFO)
    event = sandbox.text_event(standin, USER, PRIVATE_TEXT)
    assert sender.send([event]).status_code == 200
    standin.wait_for_deliveries(1, USER)
    _wait_for(client, "civic_inbox_events_handled_total", ("done",), 1)

    lines = [json.loads(line) for line in caplog.text.splitlines()]
    ours = [line for line in lines if line.get("event_id") == event["webhookEventId"]]
    loggers = {line["logger"] for line in ours}
    # The webhook that stored it and the handler that answered it both say which event.
    assert {"service.line.webhook", "service.line.handlers"} <= loggers
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    # Neither the service's own log calls nor the written lines hold the user or the text.
    for record in caplog.records:
        if record.name.startswith("service."):
            assert USER not in record.getMessage()
    assert USER not in caplog.text
    assert PRIVATE_TEXT not in caplog.text


def test_formatters_blank_line_ids_even_inside_exceptions() -> None:
    record = logging.LogRecord(
        "service.test", logging.ERROR, __file__, 1, "push to %s", (USER,), None
    )
    try:
        raise RuntimeError(f"LINE refused {USER}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    with event_context("01TESTEVENT"):
        as_json = json.loads(JsonFormatter().format(record))
        as_text = TextFormatter().format(record)
    assert as_json["event_id"] == "01TESTEVENT"
    assert as_json["message"] == "push to U[hidden]"
    assert "LINE refused U[hidden]" in as_json["exc"]
    assert "service.test [01TESTEVENT] push to U[hidden]" in as_text
    assert USER not in as_text and USER not in json.dumps(as_json)
    # Outside an event there is no event ID.
    assert "event_id" not in json.loads(JsonFormatter().format(record))


@pytest.mark.asyncio
async def test_outbox_retries_and_sends_are_counted(
    empty_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
) -> None:
    settings = make_settings(empty_url, standin_server[1])
    metrics = Metrics()
    engine = create_async_engine(empty_url)
    platform = LinePlatform(
        settings.line, settings.line_api_url, settings.line_data_api_url, metrics=metrics
    )
    standin.add_user(USER)
    standin.fail_next("push", 503)
    try:
        async with engine.begin() as conn:
            # Synthetic: a status notice as the report workflow would queue it.
            notice = StatusNotice(report_id=1, category="road", status="resolved")
            await queue_pushes(conn, [(Recipient(USER, "ja"), notice)], reason="test")
        workers = OutboxWorkers(
            engine,
            platform,
            OutboxSettings(OUTBOX_RETRY_BASE_SECONDS=0.05),
            NoticeMessages(ReportSettings(), AlertSettings()),
            metrics,
        )
        assert await workers.drain() == 1
        await asyncio.sleep(0.1)
        assert await workers.drain() == 1
    finally:
        await platform.aclose()
        await engine.dispose()
    assert len(standin.delivered(USER)) == 1

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert value("civic_outbox_pushes_total", outcome="retried") == 1
    assert value("civic_outbox_pushes_total", outcome="sent") == 1
    assert value("civic_line_platform_errors_total", endpoint="push", status="503") == 1
