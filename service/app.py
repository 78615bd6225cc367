"""`create_app(settings)`: the whole service, built from its settings and nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service import health, public
from service.body_limit import BodyLimit
from service.crew import alerts as crew_alerts
from service.crew import clusters as crew_clusters
from service.crew import exports as crew_exports
from service.crew import map as crew_map
from service.crew import routes as crew_routes
from service.crew import shelters as crew_shelters
from service.errors import install_error_handlers, too_large
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
            app.state.photos = runtime.photos
            yield

    # No public /docs or /openapi.json: they would list every crew and admin route (crews
    # get the schema at /crew/openapi.json).
    app = FastAPI(
        title="civic-gis", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
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
    # The webhook reads and limits its body itself (WEBHOOK_MAX_BODY_BYTES), to verify the
    # signature over the raw bytes and count what it refuses.
    body_limits: dict[str, int | None] = {str(app.url_path_for("line_webhook")): None}
    if settings.line.sandbox:
        # Tooling, not product: the stand-in and the chat page are imported in sandbox mode
        # only.
        from service.sandbox import chat as sandbox_chat

        sandbox_chat.mount(app)
        templates.append(sandbox_chat.TEMPLATES)
        assets.append(sandbox_chat.ASSETS)
        body_limits[str(app.url_path_for("say_image"))] = sandbox_chat.IMAGE_BODY_MAX_BYTES
        log.warning("sandbox mode: LINE is simulated by the stand-in at %s", SANDBOX_PATH)
    app.add_middleware(
        BodyLimit, default=settings.server.max_body_bytes, limits=body_limits, refuse=too_large
    )
    if settings.server.trusted_proxies:
        # The client's address (the login throttle's) from X-Forwarded-For, only when the
        # connection comes from one of FORWARDED_ALLOW_IPS.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.server.trusted_proxies)
    app.state.templates = build_templates(settings, templates)
    # The crew pages' CSS and the map's JS/CSS (Leaflet from npm, copied at set-up): served
    # here, never from a CDN, since many municipal networks have no internet.
    app.mount("/assets", StaticFiles(directory=CREW_STATIC, packages=assets), name="assets")
    return app
