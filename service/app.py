"""`create_app(settings)`: the whole service, built from its settings and nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from service import health
from service.line import sandbox_chat, webhook
from service.line.handlers import HandlerContext, handle_event
from service.line.inbox import InboxWorkers
from service.line.platform import LinePlatform
from service.line.sandbox import LinePlatformStandIn, create_standin_app
from service.settings import SANDBOX_ACCESS_TOKEN, SANDBOX_PATH, Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Build the app. Pools, the LINE client and the inbox workers open in its lifespan.

    In sandbox mode (no LINE credentials) the app also serves the LINE platform stand-in
    under /sandbox/line and talks to it over HTTP, exactly as it would talk to LINE.
    """
    database_url = settings.database.url
    if not database_url:
        raise ValueError("settings.database.url is required (the `civic` command sets it)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_async_engine(
            database_url, pool_size=settings.database.pool_size, pool_pre_ping=True
        )
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        platform = LinePlatform(settings.line, settings.line_api_url)
        context = HandlerContext(engine=engine, platform=platform, answer=settings.answer)
        workers = InboxWorkers(engine, partial(handle_event, context), settings.inbox)
        workers.start(settings.inbox.workers)
        app.state.engine = engine
        app.state.workers = workers if settings.inbox.workers else None
        try:
            yield
        finally:
            await workers.stop()
            await platform.aclose()
            await engine.dispose()

    app = FastAPI(title="civic-gis", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(webhook.router)
    app.include_router(health.router)
    if settings.line.sandbox:
        standin = LinePlatformStandIn(SANDBOX_ACCESS_TOKEN)
        app.state.standin = standin
        app.mount(SANDBOX_PATH, create_standin_app(standin))
        app.include_router(sandbox_chat.router)
        log.warning("sandbox mode: LINE is simulated by the stand-in at %s", SANDBOX_PATH)
    return app
