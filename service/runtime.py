"""What a running service holds: the pool, the LINE client, the inbox and outbox workers.

The app's lifespan and the `civic worker` command open the same runtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.db_errors import keep_errors_terse
from service.line.context import HandlerContext
from service.line.conversation import ReportContext
from service.line.handlers import handle_event
from service.line.inbox import InboxWorkers
from service.line.keywords import answer_table
from service.line.notices import NoticeMessages
from service.line.outbox import OutboxWorkers
from service.line.platform import LinePlatform
from service.metrics import Metrics
from service.photo_cleanup import PhotoSweeper
from service.photo_processing import PhotoProcessing
from service.photo_stores import open_photo_store
from service.photos import PhotoStore
from service.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """The open resources of a running service."""

    engine: AsyncEngine
    platform: LinePlatform
    inbox: InboxWorkers
    outbox: OutboxWorkers
    # How the outbox words a notice: pages preview with the same.
    notices: NoticeMessages
    photos: PhotoStore


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    inbox_workers: int,
    outbox_workers: int,
    metrics: Metrics,
) -> AsyncIterator[Runtime]:
    """Open the pool and the LINE client, start the workers; close all on exit. The workers
    and the client count into `metrics`."""
    database_url = settings.database.url
    if not database_url:
        raise ValueError("settings.database.url is required (the `civic` command sets it)")
    # hide_parameters and terse errors: a database error's text goes to logs and to
    # line_inbox.last_error, and its parameters and details may hold LINE user IDs and
    # message text.
    engine = create_async_engine(
        database_url,
        pool_size=settings.database.pool_size,
        pool_pre_ping=True,
        hide_parameters=True,
    )
    keep_errors_terse(engine)
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    platform = LinePlatform(
        settings.line, settings.line_api_url, settings.line_data_api_url, metrics=metrics
    )
    photos = open_photo_store(settings.data, settings.objects)
    processing = PhotoProcessing(settings.reports.photo_processes)
    report = ReportContext(
        engine=engine,
        platform=platform,
        settings=settings.reports,
        photos=photos,
        processing=processing,
    )
    context = HandlerContext(
        engine=engine,
        platform=platform,
        settings=settings,
        report=report,
        keywords=answer_table(settings.answer.keyword_answers),
    )
    inbox = InboxWorkers(engine, partial(handle_event, context), settings.inbox, metrics)
    notices = NoticeMessages(settings.reports, settings.alerts)
    outbox = OutboxWorkers(engine, platform, settings.outbox, notices, metrics)
    sweeper = PhotoSweeper(engine, photos, timedelta(minutes=settings.reports.draft_minutes))
    inbox.start(inbox_workers)
    outbox.start(outbox_workers)
    sweeper.start(1)
    try:
        yield Runtime(
            engine=engine,
            platform=platform,
            inbox=inbox,
            outbox=outbox,
            notices=notices,
            photos=photos,
        )
    finally:
        await sweeper.stop()
        await inbox.stop()
        await outbox.stop()
        await platform.aclose()
        await asyncio.to_thread(processing.close)
        await engine.dispose()
