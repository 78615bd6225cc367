"""`create_app(settings)`: the whole service, built from its settings and nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from service import health, public
from service.crew import alerts as crew_alerts
from service.crew import clusters as crew_clusters
from service.crew import exports as crew_exports
from service.crew import map as crew_map
from service.crew import routes as crew_routes
from service.crew import shelters as crew_shelters
from service.errors import install_error_handlers
from service.line import webhook
from service.metrics import Metrics
from service.open311.routes import router as open311_router
from service.runtime import running
from service.settings import SANDBOX_PATH, Settings
from service.templating import CREW_TEMPLATES, PUBLIC_TEMPLATES, build_templates
from service.vocabulary import check_compiled

log = logging.getLogger(__name__)

CREW_STATIC = Path(__file__).resolve().parent / "crew" / "static"


def create_app(settings: Settings) -> FastAPI:
    """Build the app. Pools, the LINE client and the inbox workers open in its lifespan.

    In sandbox mode (no LINE credentials) the app also serves the LINE platform stand-in
    under /sandbox/line and talks to it over HTTP, exactly as it would talk to LINE. Raises
    SettingsError, naming the variable and the entry, for a list setting it cannot run with,
    and CatalogsNotCompiled, saying how to compile them, when a language's catalog is missing.
    """
    if not settings.database.url:
        raise ValueError("settings.database.url is required (the `civic` command sets it)")
    settings.check()
    check_compiled()

    # This app's own counters: never the global registry, as one process may hold several apps.
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        inbox_workers, outbox_workers = settings.inbox.workers, settings.outbox.workers
        async with running(
            settings, inbox_workers=inbox_workers, outbox_workers=outbox_workers, metrics=metrics
        ) as runtime:
            app.state.engine = runtime.engine
            app.state.workers = runtime.inbox if inbox_workers else None
            app.state.outbox = runtime.outbox
            app.state.notices = runtime.notices
            yield

    app = FastAPI(title="civic-gis", lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(webhook.router)
    app.include_router(health.router)
    app.include_router(crew_routes.router)
    app.include_router(crew_map.router)
    app.include_router(crew_clusters.router)
    app.include_router(crew_exports.router)
    app.include_router(crew_alerts.router)
    app.include_router(crew_shelters.router)
    app.include_router(public.router)
    app.include_router(open311_router)
    templates = [CREW_TEMPLATES, PUBLIC_TEMPLATES]
    assets: list[str | tuple[str, str]] = []
    if settings.line.sandbox:
        # Tooling, not product: the stand-in and the chat page are imported in sandbox mode
        # only.
        from service.sandbox import chat as sandbox_chat

        sandbox_chat.mount(app)
        templates.append(sandbox_chat.TEMPLATES)
        assets.append(sandbox_chat.ASSETS)
        log.warning("sandbox mode: LINE is simulated by the stand-in at %s", SANDBOX_PATH)
    app.state.templates = build_templates(settings, templates)
    # The crew pages' CSS and the map's JS/CSS (Leaflet from npm, copied at set-up): served
    # here, never from a CDN, since many municipal networks have no internet.
    app.mount("/assets", StaticFiles(directory=CREW_STATIC, packages=assets), name="assets")
    return app
