"""Liveness of the service and its database."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from service.deps import Engine

router = APIRouter()


@router.get("/healthz")
async def healthz(engine: Engine) -> dict[str, str]:
    """200 when the app runs and its database answers."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok"}
