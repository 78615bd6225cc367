"""The migrations and the table definitions say the same thing: a column, index or
constraint added to one and forgotten in the other is caught here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import service.crew.tables
import service.tables
from gis.tables import metadata

# Tables PostGIS itself creates in every database.
POSTGIS_TABLES = frozenset({"spatial_ref_sys"})


def _ours(diff: Any) -> bool:
    table = getattr(diff[1], "table", diff[1])
    name = getattr(table, "name", None)
    return name not in POSTGIS_TABLES and name != "alembic_version"


def test_the_migrated_schema_matches_the_table_definitions(empty_engine: Engine) -> None:
    assert service.tables and service.crew.tables  # their tables join the shared metadata
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata) if _ours(d)]
    assert differences == []
