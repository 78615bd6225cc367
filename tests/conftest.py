"""Fixtures: a private PostGIS for the session, a fresh database per test, the LINE stand-in
on a loopback port, and the app served over real HTTP. The plugins below add the crew's
HTTP browsers, headless Chromium and the app in sandbox mode."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from service import bundled, localdb
from service.app import create_app
from service.migrations import upgrade
from service.sandbox import LinePlatformStandIn, create_standin_app
from service.settings import DataSettings
from tests.utils.app import TEST_TOKEN, RunningApp, make_settings
from tests.utils.database import copy_database
from tests.utils.servers import serve

# Fixtures that several test modules use, each beside the helpers it serves.
pytest_plugins = [
    "tests.utils.chromium",
    "tests.utils.crew",
    "tests.utils.objectstore",
    "tests.utils.sandbox",
    "tests.utils.tiles",
]

# The SDK's aiohttp client honours proxy variables; our servers are on loopback.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"


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


@pytest.fixture
def kita_url(cluster: localdb.LocalCluster, kita_template: str) -> str:
    """A fresh database of this test's own with the real Kita-ku data loaded."""
    return copy_database(cluster, kita_template)


@pytest.fixture
def empty_url(cluster: localdb.LocalCluster, empty_template: str) -> str:
    """A fresh migrated database of this test's own, with no data."""
    return copy_database(cluster, empty_template)


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
    overrides = {"data": DataSettings(PHOTO_DIR=tmp_path / "photos"), **app_overrides}
    settings = make_settings(kita_url, standin_server[1], **overrides)
    with serve(create_app(settings)) as url:
        yield RunningApp(url=url, settings=settings)
