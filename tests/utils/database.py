"""The tests' databases: fresh copies of the migrated templates, and work and queries on them."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from service import localdb
from tests.utils.app import RunningApp

T = TypeVar("T")

_counter = itertools.count()


def copy_database(cluster: localdb.LocalCluster, template: str) -> str:
    """A new database of the cluster made from `template`; returns its URL."""
    name = f"test_{os.getpid()}_{next(_counter)}"
    localdb.ensure_database(cluster, name, template=template)
    return cluster.url(name)


def in_transaction(url: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` in a transaction on the test's database."""

    async def run() -> T:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def db(app: RunningApp, sql: str, **params: Any) -> list[Any]:
    """The rows of `sql` on the app's database."""
    engine = create_engine(app.database_url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(sql), params).all())
    engine.dispose()
    return rows
