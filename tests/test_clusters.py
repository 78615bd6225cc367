"""Duplicate clustering of reports, on a real PostGIS.

The reports are SYNTHETIC: inserted directly into `report_clusters` and `reports` at points
a few metres apart around a real Kita-ku location (near 王子駅); no resident filed them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from pyproj import Geod
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gis import clusters

ORIGIN = (139.7362, 35.7583)  # lon, lat
KITA_CRS = 6677  # JGD2011 plane rectangular IX
GEOD = Geod(ellps="WGS84")
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def east(metres: float, of: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """The point `metres` due east of `of` (geodesic)."""
    lon, lat, _ = GEOD.fwd(of[0], of[1], 90, metres)
    return lon, lat


def new_cluster(
    conn: Connection,
    category: str,
    at: tuple[float, float],
    *,
    status: str = "received",
    created: datetime = T0,
) -> int:
    """A cluster (centroid at `at`, no reports yet)."""
    return int(
        conn.execute(
            text("""
                INSERT INTO report_clusters (category, status, geom, created_at)
                VALUES (:category, :status, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :created)
                RETURNING id
            """),
            {
                "category": category,
                "status": status,
                "lon": at[0],
                "lat": at[1],
                "created": created,
            },
        ).scalar_one()
    )


def add_report(
    conn: Connection, cluster_id: int, at: tuple[float, float], *, created: datetime = T0
) -> int:
    """A report in `cluster_id`, of the cluster's category."""
    return int(
        conn.execute(
            text("""
                INSERT INTO reports (cluster_id, category, geom, created_at)
                SELECT id, category, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :created
                FROM report_clusters WHERE id = :cluster_id
                RETURNING id
            """),
            {"cluster_id": cluster_id, "lon": at[0], "lat": at[1], "created": created},
        ).scalar_one()
    )


def file_report(
    conn: Connection,
    category: str,
    at: tuple[float, float],
    *,
    status: str = "received",
    created: datetime = T0,
) -> int:
    """A report in a cluster of its own; returns the cluster id."""
    cluster_id = new_cluster(conn, category, at, status=status, created=created)
    add_report(conn, cluster_id, at, created=created)
    return cluster_id


def cluster_of(conn: Connection, report_id: int) -> int:
    return int(
        conn.execute(
            text("SELECT cluster_id FROM reports WHERE id = :id"), {"id": report_id}
        ).scalar_one()
    )


def cluster_row(conn: Connection, cluster_id: int) -> dict[str, object]:
    row = conn.execute(
        text("""
            SELECT status, report_count, closed_at, ST_X(geom) AS lon, ST_Y(geom) AS lat
            FROM report_clusters WHERE id = :id
        """),
        {"id": cluster_id},
    ).one()
    return dict(row._mapping)


def events(conn: Connection, cluster_id: int) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        text("SELECT status, actor, note FROM cluster_events WHERE cluster_id = :id ORDER BY id"),
        {"id": cluster_id},
    )
    return [(row.status, row.actor, row.note) for row in rows]


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    sync_engine = create_engine(empty_url)
    yield sync_engine
    sync_engine.dispose()


@pytest_asyncio.fixture
async def aconn(empty_url: str) -> AsyncIterator[AsyncConnection]:
    async_engine = create_async_engine(empty_url)
    async with async_engine.connect() as connection:
        yield connection
    await async_engine.dispose()


def test_statuses_are_in_workflow_order() -> None:
    assert clusters.STATUSES == (
        "received",
        "accepted",
        "in_progress",
        "resolved",
        "rejected",
        "duplicate",
    )
    assert set(clusters.OPEN_STATUSES).isdisjoint(clusters.CLOSED_STATUSES)


@pytest.mark.asyncio
async def test_nearest_open_cluster_finds_a_report_20m_away(
    engine: Engine, aconn: AsyncConnection
) -> None:
    with engine.begin() as conn:
        pothole = file_report(conn, "road", east(20))
    found = await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=30)
    assert found == pothole


@pytest.mark.asyncio
async def test_nearest_open_cluster_ignores_other_categories_and_closed_clusters(
    engine: Engine, aconn: AsyncConnection
) -> None:
    with engine.begin() as conn:
        file_report(conn, "streetlight", east(5))
        file_report(conn, "road", east(10), status="resolved")
        file_report(conn, "road", east(15), status="duplicate")
    assert await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=30) is None
    with engine.begin() as conn:
        accepted = file_report(conn, "road", east(25), status="accepted")
    found = await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=30)
    assert found == accepted


@pytest.mark.asyncio
async def test_nearest_open_cluster_ignores_reports_beyond_the_radius(
    engine: Engine, aconn: AsyncConnection
) -> None:
    with engine.begin() as conn:
        far = file_report(conn, "road", east(40))
    assert await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=30) is None
    assert await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=45) == far


@pytest.mark.asyncio
async def test_nearest_open_cluster_picks_the_nearer_report(
    engine: Engine, aconn: AsyncConnection
) -> None:
    with engine.begin() as conn:
        # The older cluster is the farther one: distance decides, not age or id.
        file_report(conn, "road", east(25), created=T0)
        nearer = file_report(conn, "road", east(-12), created=T0 + timedelta(days=1))
    assert await clusters.nearest_open_cluster(aconn, "road", *ORIGIN, within_m=30) == nearer


def test_nearest_open_cluster_uses_the_geography_index(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                text(f"EXPLAIN {clusters._NEAREST_OPEN_CLUSTER.text}"),
                {
                    "category": "road",
                    "lon": ORIGIN[0],
                    "lat": ORIGIN[1],
                    "within": 30,
                    "open": list(clusters.OPEN_STATUSES),
                },
            )
        )
    assert "reports_geog_idx" in plan


@pytest.mark.asyncio
async def test_cluster_members_and_refresh_give_count_and_centroid(
    engine: Engine, aconn: AsyncConnection
) -> None:
    points = [ORIGIN, east(10), east(20)]
    with engine.begin() as conn:
        cluster_id = new_cluster(conn, "road", east(500))
        for day, point in enumerate(points):
            add_report(conn, cluster_id, point, created=T0 + timedelta(days=day))
        other = file_report(conn, "road", east(15))

    summary = await clusters.cluster_members(aconn, cluster_id)
    assert summary == clusters.ClusterSummary(
        report_count=3, first_at=T0, last_at=T0 + timedelta(days=2)
    )

    await clusters.refresh_cluster(aconn, cluster_id)
    await aconn.commit()
    with engine.connect() as conn:
        row = cluster_row(conn, cluster_id)
        assert row["report_count"] == 3
        assert row["lon"] == pytest.approx(sum(p[0] for p in points) / 3, abs=1e-9)
        assert row["lat"] == pytest.approx(sum(p[1] for p in points) / 3, abs=1e-9)
        # Only the cluster asked for is refreshed.
        assert cluster_row(conn, other)["report_count"] == 0


@pytest.mark.asyncio
async def test_cluster_members_of_an_empty_cluster(engine: Engine, aconn: AsyncConnection) -> None:
    with engine.begin() as conn:
        cluster_id = new_cluster(conn, "road", ORIGIN)
    summary = await clusters.cluster_members(aconn, cluster_id)
    assert summary == clusters.ClusterSummary(report_count=0, first_at=None, last_at=None)


def test_dbscan_chains_reports_and_separates_categories(engine: Engine) -> None:
    b, c = east(25), east(50)
    with engine.begin() as conn:
        # A–B 25 m, B–C 25 m, A–C 50 m: one component at eps 30, through B.
        ids = {name: file_report(conn, "road", at) for name, at in [("a", ORIGIN), ("b", b)]}
        ids["c"] = file_report(conn, "road", c)
        ids["far"] = file_report(conn, "road", east(200))
        ids["light_at_a"] = file_report(conn, "streetlight", ORIGIN)
        ids["light_at_b"] = file_report(conn, "streetlight", b)
        ids["closed_at_a"] = file_report(conn, "road", ORIGIN, status="resolved")
        report_of = {
            name: int(
                conn.execute(
                    text("SELECT id FROM reports WHERE cluster_id = :c"), {"c": cluster}
                ).scalar_one()
            )
            for name, cluster in ids.items()
        }
        components = dict(clusters.dbscan_open_reports(conn, eps_m=30, srid=KITA_CRS))

    component = {name: components.get(report) for name, report in report_of.items()}
    assert component["closed_at_a"] is None
    assert component["a"] == component["b"] == component["c"]
    assert component["light_at_a"] == component["light_at_b"]
    assert len({component["a"], component["far"], component["light_at_a"]}) == 3
    # Numbers are unique across categories, from 1.
    assert sorted(set(components.values())) == [1, 2, 3]

    with engine.connect() as conn:
        narrow = dict(clusters.dbscan_open_reports(conn, eps_m=20, srid=KITA_CRS))
    assert narrow[report_of["a"]] != narrow[report_of["b"]]


def test_recluster_merges_open_clusters_of_one_spot(engine: Engine) -> None:
    with engine.begin() as conn:
        older = file_report(conn, "road", ORIGIN, status="accepted", created=T0)
        newer = file_report(conn, "road", east(8), created=T0 + timedelta(hours=1))
        moved_report = int(
            conn.execute(
                text("SELECT id FROM reports WHERE cluster_id = :c"), {"c": newer}
            ).scalar_one()
        )
        result = clusters.recluster_open_reports(conn, eps_m=30, srid=KITA_CRS)

    assert result == clusters.ReclusterResult(
        components=1, moved_reports=1, merged_clusters=1, new_clusters=0
    )
    with engine.connect() as conn:
        assert cluster_of(conn, moved_report) == older
        survivor = cluster_row(conn, older)
        assert survivor["status"] == "accepted"
        assert survivor["report_count"] == 2
        assert survivor["lon"] == pytest.approx((ORIGIN[0] + east(8)[0]) / 2, abs=1e-9)
        merged = cluster_row(conn, newer)
        assert merged["status"] == "duplicate"
        assert merged["report_count"] == 0
        assert merged["closed_at"] is not None
        assert events(conn, newer) == [("duplicate", "system", f"merged into #{older}")]
        assert events(conn, older) == []


def test_recluster_splits_a_cluster_whose_reports_are_far_apart(engine: Engine) -> None:
    far = east(500)
    with engine.begin() as conn:
        cluster_id = new_cluster(conn, "park", ORIGIN, status="in_progress")
        first = add_report(conn, cluster_id, ORIGIN, created=T0)
        stray = add_report(conn, cluster_id, far, created=T0 + timedelta(days=1))
        result = clusters.recluster_open_reports(conn, eps_m=30, srid=KITA_CRS)

    assert result == clusters.ReclusterResult(
        components=2, moved_reports=1, merged_clusters=0, new_clusters=1
    )
    with engine.connect() as conn:
        assert cluster_of(conn, first) == cluster_id
        split = cluster_of(conn, stray)
        assert split != cluster_id
        kept, new = cluster_row(conn, cluster_id), cluster_row(conn, split)
        assert (kept["status"], kept["report_count"]) == ("in_progress", 1)
        assert (new["status"], new["report_count"]) == ("in_progress", 1)
        assert (kept["lon"], kept["lat"]) == pytest.approx(ORIGIN, abs=1e-9)
        assert (new["lon"], new["lat"]) == pytest.approx(far, abs=1e-9)
        assert events(conn, split) == [("in_progress", "system", f"split from #{cluster_id}")]


def test_recluster_leaves_closed_clusters_alone_and_is_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        resolved = file_report(conn, "road", ORIGIN, status="resolved", created=T0)
        rejected = file_report(conn, "road", east(5), status="rejected", created=T0)
        open_one = file_report(conn, "road", east(3), created=T0 + timedelta(days=3))
        conn.execute(
            text("UPDATE report_clusters SET report_count = 1 WHERE id IN (:a, :b)"),
            {"a": resolved, "b": rejected},
        )
        first = clusters.recluster_open_reports(conn, eps_m=30, srid=KITA_CRS)
        again = clusters.recluster_open_reports(conn, eps_m=30, srid=KITA_CRS)

    nothing = clusters.ReclusterResult(
        components=1, moved_reports=0, merged_clusters=0, new_clusters=0
    )
    assert first == again == nothing
    with engine.connect() as conn:
        assert cluster_row(conn, resolved)["status"] == "resolved"
        assert cluster_row(conn, rejected)["status"] == "rejected"
        assert cluster_row(conn, open_one)["status"] == "received"
        counts = conn.execute(
            text("SELECT cluster_id, count(*) FROM reports GROUP BY cluster_id")
        ).all()
        assert dict(counts) == {resolved: 1, rejected: 1, open_one: 1}
        assert conn.execute(text("SELECT count(*) FROM cluster_events")).scalar_one() == 0


def test_recluster_merges_and_splits_together(engine: Engine) -> None:
    """A cluster straddling two spots, each with its own newer cluster: the far part joins
    the newer cluster there rather than starting a new one."""
    far = east(500)
    with engine.begin() as conn:
        straddling = new_cluster(conn, "road", ORIGIN, created=T0)
        add_report(conn, straddling, ORIGIN, created=T0)
        stray = add_report(conn, straddling, far, created=T0 + timedelta(days=1))
        there = file_report(conn, "road", east(505), created=T0 + timedelta(days=2))
        result = clusters.recluster_open_reports(conn, eps_m=30, srid=KITA_CRS)

    assert result == clusters.ReclusterResult(
        components=2, moved_reports=1, merged_clusters=0, new_clusters=0
    )
    with engine.connect() as conn:
        assert cluster_of(conn, stray) == there
        assert cluster_row(conn, straddling)["report_count"] == 1
        assert cluster_row(conn, there)["report_count"] == 2
