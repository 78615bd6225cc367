"""`POST /line/webhook`: verify, store durably, answer 200. Handling happens in the workers.

Order matters: the signature is checked over the raw bytes before anything is parsed, and
200 is sent only once every event is committed to the inbox.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from linebot.v3 import SignatureValidator

from service.deps import AppMetrics, AppSettings, Engine, Workers
from service.line.inbox import store_events
from service.line.payload import storable
from service.logs import event_context
from service.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()

# LINE's webhook event types: the metric counts any other under "other" (a signed body could
# otherwise add a label per made-up type).
EVENT_TYPES = frozenset(
    {
        "message",
        "unsend",
        "follow",
        "unfollow",
        "join",
        "leave",
        "memberJoined",
        "memberLeft",
        "postback",
        "videoPlayComplete",
        "beacon",
        "accountLink",
        "things",
        "membership",
        "module",
        "activated",
        "deactivated",
        "botSuspended",
        "botResumed",
    }
)


class _Refused(HTTPException):
    """A refused webhook request, with the reason it is counted under (size, signature, json)."""

    def __init__(self, reason: str, status_code: int, detail: str) -> None:
        super().__init__(status_code, detail)
        self.reason = reason


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused("size", status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _Refused("size", status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    return bytes(body)


def _events(body: bytes) -> list[dict[str, Any]]:
    """The events of a verified body, or HTTP 400 when its structure is wrong: not a JSON
    object with a list of `events`, each an object with a `webhookEventId`. What is wrong
    inside an event is the inbox's to record (service/line/payload.py), never the body's."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # ValueError: malformed JSON, or an integer too long to convert.
        raise _Refused("json", status.HTTP_400_BAD_REQUEST, f"malformed JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise _Refused("json", status.HTTP_400_BAD_REQUEST, "expected an object with 'events'")
    events: list[dict[str, Any]] = document["events"]
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise _Refused("json", status.HTTP_400_BAD_REQUEST, f"events[{index}]: not an object")
        if not isinstance(event.get("webhookEventId"), str) or not event["webhookEventId"]:
            raise _Refused(
                "json",
                status.HTTP_400_BAD_REQUEST,
                f"events[{index}].webhookEventId: missing or not a string",
            )
    return events


@router.post("/line/webhook")
async def line_webhook(
    request: Request,
    engine: Engine,
    workers: Workers,
    settings: AppSettings,
    metrics: AppMetrics,
    x_line_signature: Annotated[str | None, Header()] = None,
) -> dict[str, int]:
    """Receive LINE webhook events."""
    try:
        events = await _verified_events(request, settings, x_line_signature)
    except _Refused as exc:
        metrics.webhook_rejected.labels(exc.reason).inc()
        raise
    ready = [storable(event) for event in events]
    for event in ready:
        kind = event.event_type if event.event_type in EVENT_TYPES else "other"
        metrics.webhook_events.labels(kind).inc()
    with event_context(",".join(event.event_id for event in ready)):
        for event in ready:
            if event.rejected:
                metrics.webhook_rejected.labels("event").inc()
                log.warning("webhook: event %s rejected: %s", event.event_id, event.rejected)
            elif event.cleaned:
                log.warning("webhook: event %s cleaned: %s", event.event_id, event.cleaned)
        # One INSERT of every event is atomic by itself: no BEGIN and COMMIT round trips.
        async with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            stored = await store_events(conn, ready)
        if stored and workers is not None:
            workers.wake()
        log.info("webhook: %d events, %d new", len(events), stored)
    return {"received": len(events), "stored": stored}


async def _verified_events(
    request: Request, settings: Settings, signature: str | None
) -> list[dict[str, Any]]:
    """The events of a request whose size, signature and JSON are right, or _Refused."""
    body = await _read_body(request, settings.inbox.max_body_bytes)
    if not signature:
        raise _Refused("signature", status.HTTP_400_BAD_REQUEST, "missing X-Line-Signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Not even text: LINE sends UTF-8 JSON, so it is counted as malformed JSON.
        raise _Refused("json", status.HTTP_400_BAD_REQUEST, "body is not UTF-8") from exc
    if not SignatureValidator(settings.line.secret).validate(text, signature):
        raise _Refused("signature", status.HTTP_400_BAD_REQUEST, "invalid X-Line-Signature")
    return _events(body)
