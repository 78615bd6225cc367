"""Fixtures: a private PostGIS for the session, a fresh database per test, the LINE stand-in
on a loopback port, and the app served over real HTTP."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from service import bundled, localdb
from service.app import create_app
from service.migrations import upgrade
from service.sandbox import LinePlatformStandIn, create_standin_app
from service.settings import (
    DatabaseSettings,
    DataSettings,
    InboxSettings,
    LineSettings,
    OutboxSettings,
    Settings,
)
from tests.servers import serve

# The SDK's aiohttp client honours proxy variables; our servers are on loopback.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

TEST_SECRET = "test-channel-secret"
TEST_TOKEN = "test-access-token"

_counter = itertools.count()


@pytest.fixture(scope="session")
def cluster() -> Iterator[localdb.LocalCluster]:
    """A throwaway PostGIS cluster for the whole run, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="civic-test-pg-"))
    started = localdb.start(root / "data", fast=True)
    yield started
    localdb.stop(started)
    shutil.rmtree(root, ignore_errors=True)


def _migrated(cluster: localdb.LocalCluster, name: str) -> str:
    localdb.ensure_database(cluster, name)
    url = cluster.url(name)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def kita_template(cluster: localdb.LocalCluster) -> str:
    """A migrated database holding the bundled real Kita-ku data, used as a template."""
    url = _migrated(cluster, "template_kita")
    engine = create_engine(url)
    bundled.load_bundled(engine, DataSettings())
    engine.dispose()
    return "template_kita"


@pytest.fixture(scope="session")
def empty_template(cluster: localdb.LocalCluster) -> str:
    """A migrated database with no data, used as a template."""
    _migrated(cluster, "template_empty")
    return "template_empty"


def _copy(cluster: localdb.LocalCluster, template: str) -> str:
    name = f"test_{os.getpid()}_{next(_counter)}"
    localdb.ensure_database(cluster, name, template=template)
    return cluster.url(name)


@pytest.fixture
def kita_url(cluster: localdb.LocalCluster, kita_template: str) -> str:
    """A fresh database of this test's own with the real Kita-ku data loaded."""
    return _copy(cluster, kita_template)


@pytest.fixture
def empty_url(cluster: localdb.LocalCluster, empty_template: str) -> str:
    """A fresh migrated database of this test's own, with no data."""
    return _copy(cluster, empty_template)


@pytest.fixture
def empty_engine(empty_url: str) -> Iterator[Engine]:
    """A sync engine on an empty migrated database."""
    engine = create_engine(empty_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def standin_server() -> Iterator[tuple[LinePlatformStandIn, str]]:
    """The LINE platform stand-in, served on a loopback port for the session."""
    standin = LinePlatformStandIn(TEST_TOKEN)
    with serve(create_standin_app(standin)) as url:
        yield standin, url


@pytest.fixture
def standin(standin_server: tuple[LinePlatformStandIn, str]) -> LinePlatformStandIn:
    """The stand-in, with nothing recorded yet."""
    standin_server[0].clear()
    return standin_server[0]


def make_settings(database_url: str, line_api_url: str, **overrides: object) -> Settings:
    """Settings of an app that talks to the stand-in as if it were LINE (not sandbox mode),
    with quick polling and retries; `overrides` replace whole parts (e.g. reports=…)."""
    return Settings.from_env().model_copy(
        update={
            "database": DatabaseSettings(DATABASE_URL=database_url),
            "line": LineSettings(
                LINE_CHANNEL_SECRET=TEST_SECRET,
                LINE_CHANNEL_ACCESS_TOKEN=TEST_TOKEN,
                LINE_API_URL=line_api_url,
                LINE_DATA_API_URL=line_api_url,
                LINE_REQUEST_TIMEOUT=5,
            ),
            "inbox": InboxSettings(INBOX_POLL_SECONDS=0.2, INBOX_RETRY_BASE_SECONDS=0.1),
            "outbox": OutboxSettings(OUTBOX_POLL_SECONDS=0.2, OUTBOX_RETRY_BASE_SECONDS=0.1),
            **overrides,
        }
    )


@dataclass
class RunningApp:
    """An app served over HTTP, and what the tests need to talk to it."""

    url: str
    settings: Settings

    @property
    def webhook_url(self) -> str:
        return self.url + "/line/webhook"


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    """Settings parts a test replaces: parametrize it indirectly with {"reports": …}."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def running_app(
    kita_url: str,
    standin_server: tuple[LinePlatformStandIn, str],
    standin: LinePlatformStandIn,
    tmp_path: Path,
    app_overrides: dict[str, object],
) -> Iterator[RunningApp]:
    """The service on a loopback port, on a fresh Kita-ku database, talking to the stand-in,
    keeping photos under the test's own tmp_path."""
    overrides = {"data": DataSettings(PHOTO_DIR=str(tmp_path / "photos")), **app_overrides}
    settings = make_settings(kita_url, standin_server[1], **overrides)
    with serve(create_app(settings)) as url:
        yield RunningApp(url=url, settings=settings)
