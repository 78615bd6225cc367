"""Operations endpoints: liveness, readiness, metrics.

/healthz and /readyz need no login: they say only whether the service and its queue keep up.
/metrics needs `Authorization: Bearer METRICS_TOKEN` when that is set.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.deps import AppMetrics, AppSettings, Engine
from service.metrics import backlog, render

log = logging.getLogger(__name__)

router = APIRouter()


@router.get("/healthz")
async def healthz(engine: Engine) -> dict[str, str]:
    """200 when the app runs and its database answers."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(engine: Engine, settings: AppSettings) -> JSONResponse:
    """200 when the database answers and the inbox keeps up (its oldest due event has waited
    less than READY_MAX_INBOX_LAG_SECONDS); 503 with the reason otherwise."""
    try:
        async with engine.connect() as conn:
            found = await backlog(conn)
    except (SQLAlchemyError, OSError) as exc:
        # The error's text names hosts and roles: it goes to the log, not to the public.
        log.warning("readyz: the database does not answer: %s", exc)
        reason = f"the database does not answer ({type(exc).__name__}; see the log)"
        return JSONResponse(
            {"database": "unreachable", "reason": reason},
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    limit = settings.ops.ready_max_inbox_lag_seconds
    body: dict[str, Any] = {
        "database": "ok",
        "inbox_lag_seconds": round(found.inbox_lag, 3),
        "pending": found.pending,
    }
    if found.inbox_lag > limit:
        body["reason"] = (
            f"the oldest due inbox event has waited {found.inbox_lag:.0f} s, longer than "
            f"READY_MAX_INBOX_LAG_SECONDS={limit:g}: are the inbox workers running?"
        )
        return JSONResponse(body, status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(body)


@router.get("/metrics")
async def metrics_endpoint(
    engine: Engine,
    settings: AppSettings,
    metrics: AppMetrics,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus text exposition: this process's counters and the database's queue depths."""
    token = settings.ops.metrics_token
    if token and not hmac.compare_digest(
        (authorization or "").encode(), f"Bearer {token}".encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "metrics need Authorization: Bearer <METRICS_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with engine.connect() as conn:
        found = await backlog(conn)
    return Response(render(metrics, found), media_type=CONTENT_TYPE_LATEST)
