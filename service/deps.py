"""Typed dependencies: what a route needs, taken from what the lifespan opened."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service.metrics import Metrics
from service.notifications import Notice
from service.photos import PhotoStore
from service.settings import Settings
from service.vocabulary import Lang


class Wakeable(Protocol):
    """Workers that can be told new work was stored (the inbox's and the outbox's)."""

    def wake(self) -> None:
        """Tell idle workers that new items were stored."""


class NoticeWording(Protocol):
    """How residents are told a notice: the outbox's own rendering (service.line.notices),
    for a page that shows a message before it is sent."""

    def render(self, notice: Notice, lang: Lang) -> list[dict[str, Any]]:
        """The messages telling `notice` in `lang`, as the channel sends them (JSON)."""


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    """The app's database engine (its pool is opened in the lifespan)."""
    engine: AsyncEngine = request.app.state.engine
    return engine


def get_metrics(request: Request) -> Metrics:
    """The app's metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


def get_photos(request: Request) -> PhotoStore:
    """The app's photo store (a folder or a bucket)."""
    photos: PhotoStore = request.app.state.photos
    return photos


def get_workers(request: Request) -> Wakeable | None:
    """The in-app inbox workers, or None when they run as `civic worker` processes."""
    workers: Wakeable | None = request.app.state.workers
    return workers


def get_notices(request: Request) -> NoticeWording:
    """The outbox's wording of notices."""
    notices: NoticeWording = request.app.state.notices
    return notices


AppSettings = Annotated[Settings, Depends(get_settings)]
Engine = Annotated[AsyncEngine, Depends(get_engine)]
AppMetrics = Annotated[Metrics, Depends(get_metrics)]
Workers = Annotated[Wakeable | None, Depends(get_workers)]
Notices = Annotated[NoticeWording, Depends(get_notices)]
Photos = Annotated[PhotoStore, Depends(get_photos)]
