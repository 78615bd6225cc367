"""A hazard layer's area is kept when the layer is loaded (the union of its zones, whole and in
pieces): an alert to the layer reaches exactly the residents the union of its zones holds,
a reloaded layer's area is its new zones', and the migration fills it for layers loaded
before it. Each registered spot's layers are kept too: an alert to whole layers reaches the
residents whose spot a zone of the layers holds after they register, after they move, after
a layer is reloaded with other zones, and after the migration that keeps them. Real PostGIS
with the shipped Kita-ku layers; the residents are synthetic."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.hazards import HazardKind
from service import alerts, bundled, resident_layers
from service.line.area_chat import save_area
from service.migrations import alembic_config, upgrade
from service.settings import AlertSettings, DataSettings
from tests.utils.database import in_transaction
from tests.utils.resident import add_registered_resident

DATA = DataSettings()
FLOOD = "flood_max_all_rivers"
LANDSLIDE = "landslide_plateau_533946"
TOPICS = ["disaster", "roads"]

# Synthetic residents: random spots in the ward, and spots on the zones' own corners (on the
# boundary: covered). Every fifth one in English, every seventh no longer following, topics
# in turn.
_RESIDENTS = text("""
    WITH spots AS (
        SELECT d.geom FROM service_area a, ST_Dump(ST_GeneratePoints(a.geom, 3000, 7)) d
        UNION ALL
        SELECT (ST_DumpPoints(z.geom)).geom FROM hazard_zones z
        UNION ALL
        SELECT (ST_DumpPoints(ST_Boundary(ST_Envelope(p.geom)))).geom
        FROM hazard_layer_area_parts p
    ), numbered AS (
        SELECT row_number() OVER () AS n, geom FROM spots
    ), users AS (
        INSERT INTO line_users (user_id, language, following)
        SELECT 'U' || md5(n::text), CASE WHEN n % 5 = 0 THEN 'en' ELSE 'ja' END, n % 7 <> 0
        FROM numbered
    )
    INSERT INTO resident_areas (user_id, geom, topics, consent_version)
    SELECT 'U' || md5(n::text), geom,
           CASE n % 3 WHEN 0 THEN ARRAY['disaster'] WHEN 1 THEN ARRAY['roads']
                      ELSE ARRAY['disaster', 'roads'] END,
           'synthetic'
    FROM numbered
""")

# What the preview counted before the areas were kept: the union of the layer's zones, made
# now, and every following resident inside it who chose the topic, by language.
_BY_UNION_NOW = text("""
    WITH area AS (
        SELECT ST_Union(z.geom) AS geom
        FROM hazard_zones z JOIN hazard_layers l ON l.id = z.layer_id
        WHERE l.name = ANY(:layers)
    )
    SELECT u.language, count(*) AS n
    FROM area, resident_areas r JOIN line_users u ON u.user_id = r.user_id
    WHERE u.following AND :topic = ANY(r.topics) AND ST_Covers(area.geom, r.geom)
    GROUP BY u.language ORDER BY u.language
""")


async def _expected(
    conn: AsyncConnection, layers: list[str], topic: str, batch_size: int
) -> alerts.Reach:
    rows = await conn.execute(_BY_UNION_NOW, {"layers": layers, "topic": topic})
    return _reach([(row.language, row.n) for row in rows], batch_size)


def _as_loading_the_layers_does(conn: Connection) -> None:
    """Work out the layers of the residents inserted by hand, as loading a layer does."""
    for layer_id in conn.scalars(text("SELECT id FROM hazard_layers")).all():
        resident_layers.refresh_layer(conn, layer_id)


def _reach(rows: list[tuple[str, int]], batch_size: int) -> alerts.Reach:
    counts = dict(rows)
    languages = tuple((lang, counts[lang]) for lang in ("ja", "en") if counts.get(lang))
    batches = sum(-(-n // batch_size) for _, n in languages)
    return alerts.Reach(sum(n for _, n in languages), batches, languages)


def test_an_alert_to_a_whole_layer_reaches_the_residents_the_union_of_its_zones_holds(
    kita_url: str,
) -> None:
    settings = AlertSettings(ALERT_BATCH_SIZE=100)

    async def work(conn: AsyncConnection) -> None:
        await conn.execute(_RESIDENTS)
        await conn.run_sync(_as_loading_the_layers_does)
        cases = [[FLOOD], [LANDSLIDE], [FLOOD, LANDSLIDE]]
        for layers in cases:
            picked = [await alerts.area_from_hazard_layer(conn, name) for name in layers]
            area = alerts.union(picked, "zones")
            for topic in TOPICS:
                expected = await _expected(conn, layers, topic, settings.batch_size)
                assert expected.recipients > 0, (layers, topic)
                assert await alerts.preview(conn, settings, area, topic) == expected
                queued = await alerts.queue_alert(
                    conn, settings, area, topic, "test", created_by="test"
                )
                assert queued.reach == expected
                # The same residents as a drawn area of the same shape reaches.
                drawn = alerts.AlertArea("drawn", area.geometry)
                assert await alerts.preview(conn, settings, drawn, topic) == expected
        await conn.rollback()

    in_transaction(kita_url, work)


def _stored(engine: Engine, name: str) -> tuple[bool, float, int]:
    """Whether the layer's kept area is the union of its zones now (to rounding), its area
    and how many pieces it has."""
    with engine.connect() as conn:
        row = conn.execute(
            text("""
                SELECT bool_and(ST_Area(ST_SymDifference(a.geom, u.geom)) <= 1e-9 * ST_Area(u.geom))
                           AS same,
                       min(ST_Area(a.geom)) AS area,
                       (SELECT count(*) FROM hazard_layer_area_parts p
                        WHERE p.layer_id = min(a.layer_id)) AS pieces
                FROM hazard_layers l
                JOIN hazard_layer_areas a ON a.layer_id = l.id,
                LATERAL (SELECT ST_Multi(ST_Union(z.geom)) AS geom FROM hazard_zones z
                         WHERE z.layer_id = l.id) u
                WHERE l.name = :name
            """),
            {"name": name},
        ).one()
    return bool(row.same), float(row.area), int(row.pieces)


def test_a_reloaded_layer_keeps_the_area_of_its_new_zones(
    empty_engine: Engine, tmp_path: Path
) -> None:
    source = DATA.hazard_maps / f"{LANDSLIDE}.geojson"
    bundled.load_hazard_file(empty_engine, source, HazardKind.LANDSLIDE, name="tabata")
    same, whole_area, pieces = _stored(empty_engine, "tabata")
    assert same and pieces > 0

    document = json.loads(source.read_text(encoding="utf-8"))
    document["features"] = document["features"][:10]
    newer = tmp_path / "landslide-newer.geojson"
    newer.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    bundled.load_hazard_file(empty_engine, newer, HazardKind.LANDSLIDE, name="tabata")
    same, newer_area, newer_pieces = _stored(empty_engine, "tabata")
    assert same and 0 < newer_area < whole_area
    with empty_engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM hazard_layer_areas")).scalar_one()
        all_pieces = conn.execute(text("SELECT count(*) FROM hazard_layer_area_parts")).scalar_one()
    assert (kept, all_pieces) == (1, newer_pieces)


def test_the_migration_keeps_the_areas_of_layers_loaded_before_it(kita_url: str) -> None:
    # The shipped layers loaded, then the schema taken back to before the areas were kept.
    command.downgrade(alembic_config(kita_url), "0008")
    upgrade(kita_url)
    engine = create_engine(kita_url)
    try:
        for name in (FLOOD, LANDSLIDE):
            same, area, pieces = _stored(engine, name)
            assert same and area > 0 and pieces > 0
    finally:
        engine.dispose()


# Spots to register: random ones in the ward, every corner of the landslide zones (on their
# boundary: inside) and a sample of the flood zones' corners.
_SPOTS = text("""
    SELECT ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat FROM (
        SELECT d.geom, 0 AS n FROM service_area a, ST_Dump(ST_GeneratePoints(a.geom, 300, 3)) d
        UNION ALL
        SELECT (ST_DumpPoints(z.geom)).geom, 0 FROM hazard_zones z
        JOIN hazard_layers l ON l.id = z.layer_id WHERE l.name = :landslide
        UNION ALL
        SELECT p.geom, p.n FROM (
            SELECT (ST_DumpPoints(z.geom)).geom, row_number() OVER () AS n FROM hazard_zones z
            JOIN hazard_layers l ON l.id = z.layer_id WHERE l.name = :flood
        ) p WHERE p.n % 60 = 0
    ) s ORDER BY ST_X(s.geom), ST_Y(s.geom)
""")

# The spatial truth: every following resident who chose the topic and whose spot a zone of
# the layers intersects (the zones as loaded now), by language.
_BY_ZONES = text("""
    SELECT u.language, count(*) AS n
    FROM resident_areas r JOIN line_users u ON u.user_id = r.user_id
    WHERE u.following AND :topic = ANY(r.topics)
      AND EXISTS (SELECT 1 FROM hazard_zones z JOIN hazard_layers l ON l.id = z.layer_id
                  WHERE l.name = ANY(:layers) AND ST_Intersects(z.geom, r.geom))
    GROUP BY u.language
""")


async def _spots(conn: AsyncConnection) -> list[tuple[float, float]]:
    """The spots to register, as (lat, lon)."""
    rows = await conn.execute(_SPOTS, {"landslide": LANDSLIDE, "flood": FLOOD})
    return [(row.lat, row.lon) for row in rows]


def _topics(n: int) -> list[str]:
    return [TOPICS[0]] if n % 3 == 0 else [TOPICS[1]] if n % 3 == 1 else TOPICS


def _register_residents(url: str) -> int:
    """Residents registered as the chat registers them, one on each spot (every fifth in
    English, every seventh no longer following, topics in turn). Returns how many."""

    async def work(conn: AsyncConnection) -> int:
        spots = await _spots(conn)
        for n, spot in enumerate(spots):
            language = "en" if n % 5 == 0 else "ja"
            await add_registered_resident(
                conn, f"U{n:05d}", spot, _topics(n), language=language, following=n % 7 != 0
            )
        return len(spots)

    return in_transaction(url, work)


def _assert_alerts_reach_the_zones_residents(url: str) -> int:
    """Preview and queue an alert to each layer and both, for each topic: each reaches the
    residents the zones hold now, by language. Returns how many were reached in all."""
    settings = AlertSettings(ALERT_BATCH_SIZE=50)

    async def work(conn: AsyncConnection) -> int:
        reached = 0
        for layers in ([FLOOD], [LANDSLIDE], [FLOOD, LANDSLIDE]):
            picked = [await alerts.area_from_hazard_layer(conn, name) for name in layers]
            area = alerts.union(picked, "zones")
            for topic in TOPICS:
                rows = await conn.execute(_BY_ZONES, {"layers": layers, "topic": topic})
                expected = _reach([(row.language, row.n) for row in rows], settings.batch_size)
                assert await alerts.preview(conn, settings, area, topic) == expected, layers
                if expected.recipients:
                    queued = await alerts.queue_alert(
                        conn, settings, area, topic, "test", created_by="test"
                    )
                    assert queued.reach == expected, layers
                reached += expected.recipients
        await conn.rollback()
        return reached

    return in_transaction(url, work)


def test_an_alert_to_whole_layers_reaches_residents_as_they_register_and_move(
    kita_url: str,
) -> None:
    registered = _register_residents(kita_url)
    assert _assert_alerts_reach_the_zones_residents(kita_url) > 0

    async def move(conn: AsyncConnection) -> None:
        # Everyone moves to the spot of the resident a third of the way along: many leave a
        # layer, many come into one.
        spots = await _spots(conn)
        for n in range(registered):
            lat, lon = spots[(n + registered // 3) % registered]
            await save_area(conn, f"U{n:05d}", lon, lat, [])  # their topics are kept

    in_transaction(kita_url, move)
    assert _assert_alerts_reach_the_zones_residents(kita_url) > 0


def test_a_layer_reloaded_with_other_zones_reaches_the_residents_its_new_zones_hold(
    kita_url: str, tmp_path: Path
) -> None:
    _register_residents(kita_url)
    source = DATA.hazard_maps / f"{LANDSLIDE}.geojson"
    document = json.loads(source.read_text(encoding="utf-8"))
    document["features"] = document["features"][::3]
    fewer = tmp_path / "landslide-fewer.geojson"
    fewer.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    engine = create_engine(kita_url)
    try:
        before = _assert_alerts_reach_the_zones_residents(kita_url)
        bundled.load_hazard_file(engine, fewer, HazardKind.LANDSLIDE, name=LANDSLIDE)
        fewer_reached = _assert_alerts_reach_the_zones_residents(kita_url)
        assert 0 < fewer_reached < before
        # And back to every zone: the residents who left the layer are in it again.
        bundled.load_hazard_file(engine, source, HazardKind.LANDSLIDE, name=LANDSLIDE)
        assert _assert_alerts_reach_the_zones_residents(kita_url) == before
    finally:
        engine.dispose()


def test_the_migration_works_out_the_layers_of_spots_registered_before_it(kita_url: str) -> None:
    # The shipped layers loaded and residents registered before the layers of spots were kept.
    command.downgrade(alembic_config(kita_url), "0010")

    async def register_before(conn: AsyncConnection) -> None:
        for n, (lat, lon) in enumerate(await _spots(conn)):
            await conn.execute(
                text("INSERT INTO line_users (user_id, language, following) VALUES (:u, :l, :f)"),
                {"u": f"U{n:05d}", "l": "en" if n % 5 == 0 else "ja", "f": n % 7 != 0},
            )
            await conn.execute(
                text("""
                    INSERT INTO resident_areas (user_id, geom, topics, consent_version)
                    VALUES (:u, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :t, 'before')
                """),
                {"u": f"U{n:05d}", "lon": lon, "lat": lat, "t": _topics(n)},
            )

    in_transaction(kita_url, register_before)
    upgrade(kita_url)
    assert _assert_alerts_reach_the_zones_residents(kita_url) > 0
