"""A throwaway PostGIS database for a benchmark run, configured as `make run` configures it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine

from service import bundled, localdb
from service.migrations import upgrade
from service.settings import DataSettings


@contextmanager
def throwaway_database(*, with_bundled_data: bool) -> Iterator[tuple[str, Path]]:
    """A migrated database on a private cluster (and a scratch directory), removed after."""
    with tempfile.TemporaryDirectory(prefix="civic-bench-") as tmp:
        cluster = localdb.start(Path(tmp) / "pg")
        try:
            localdb.ensure_database(cluster, "bench")
            url = cluster.url("bench")
            upgrade(url)
            if with_bundled_data:
                engine = create_engine(url)
                bundled.load_bundled(engine, DataSettings())
                engine.dispose()
            yield url, Path(tmp)
        finally:
            localdb.stop(cluster)
