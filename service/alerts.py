"""Area alerts: a message to the residents whose registered spot lies inside an area and who
chose the alert's topic, queued in the durable outbox as multicast batches of a notice
(service.notifications), rendered in the residents' languages when sent.

The area is a GeoJSON file (or an upload, or an area drawn on the crew page's map), loaded
hazard layers (the union of their zones, kept since the layer was loaded; the layers of each
registered spot are kept too) or a circle (a geodesic buffer). The alert row and its batches
are written in the caller's transaction: either the whole alert is queued or none of it, and
an alert that reaches nobody is refused. Who is still following and still wants the topic is
checked again when each batch is sent (by the LINE outbox).
`civic alert` and the crew page (service.crew.alerts) use this module.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Point, mapping
from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.crs import looks_like_japan
from gis.hazards import HazardKind
from gis.sources.errors import SourceError
from gis.sources.geojson import POLYGONAL, as_multipolygon, read_features
from service.notifications import AlertNotice, queue_batches
from service.settings import AlertSettings, Category
from service.tables import alerts
from service.vocabulary import LANGUAGES, Lang, language_of

# A circle wider than this is almost certainly a typo (metres for kilometres).
MAX_CIRCLE_METRES = 50_000.0
# An uploaded area file larger than this is not a hand-drawn area.
MAX_UPLOAD_BYTES = 5_000_000


class AlertError(ValueError):
    """An alert that cannot be sent as given: the message says what was wrong, and where."""


@dataclass(frozen=True)
class AlertArea:
    """Where an alert goes: a label for people, and the (multi)polygon in EPSG:4326.

    `layers` names the loaded hazard layers whose union `geometry` is, if it is one: the
    layers kept for each registered spot then find the residents inside.
    """

    label: str
    geometry: MultiPolygon
    layers: tuple[str, ...] = ()

    def geojson(self) -> str:
        """The area as a one-feature GeoJSON FeatureCollection (coordinates to about 10 cm),
        which `area_from_upload` reads back."""
        rounded = shapely.set_precision(self.geometry, 1e-6)
        feature = {
            "type": "Feature",
            "properties": {},
            "geometry": mapping(rounded),
        }
        return json.dumps({"type": "FeatureCollection", "features": [feature]})


@dataclass(frozen=True)
class Reach:
    """How many residents an alert reaches, in how many multicast batches, and how many of
    them get it in each language (in the order of LANGUAGES)."""

    recipients: int
    batches: int
    languages: tuple[tuple[Lang, int], ...] = ()

    def summary(self) -> str:
        """Like "3 residents in 2 batches"."""
        residents = "resident" if self.recipients == 1 else "residents"
        batches = "batch" if self.batches == 1 else "batches"
        return f"{self.recipients} {residents} in {self.batches} {batches}"


@dataclass(frozen=True)
class Queued:
    """An alert written to the outbox."""

    alert_id: int
    reach: Reach


def check_topic(settings: AlertSettings, code: str) -> Category:
    """The configured topic `code`; AlertError naming the known ones otherwise."""
    for topic in settings.topics:
        if topic.code == code:
            return topic
    known = ", ".join(topic.code for topic in settings.topics)
    raise AlertError(f"unknown topic {code!r}; expected one of {known} (ALERT_TOPICS)")


def check_text(message: str) -> str:
    """The alert text, stripped; AlertError when there is nothing to send."""
    stripped = message.strip()
    if not stripped:
        raise AlertError("the alert text is empty")
    return stripped


def area_from_file(path: str | os.PathLike[str], crs: str | None = None) -> AlertArea:
    """The polygons of a GeoJSON FeatureCollection, unioned and reprojected to EPSG:4326
    (from its `crs` member, or `crs`). AlertError names the file, feature and field."""
    try:
        features = read_features(path, crs, POLYGONAL)
    except SourceError as exc:
        raise AlertError(str(exc)) from exc
    except OSError as exc:
        raise AlertError(f"{path}: {exc.strerror or exc}") from exc
    union = shapely.union_all([feature.geometry for feature in features])
    return AlertArea(Path(path).name, as_multipolygon(union))


def area_from_upload(data: bytes, filename: str) -> AlertArea:
    """`area_from_file` for an uploaded file; errors name the upload."""
    name = Path(filename.replace("\\", "/")).name or "upload.geojson"
    if len(data) > MAX_UPLOAD_BYTES:
        raise AlertError(f"{name}: larger than {MAX_UPLOAD_BYTES // 1_000_000} MB")
    with tempfile.TemporaryDirectory(prefix="civic-alert-") as folder:
        # A fixed name on disk: the uploaded name is only ever shown, never used as a path.
        path = Path(folder) / "area.geojson"
        path.write_bytes(data)
        try:
            area = area_from_file(path)
        except AlertError as exc:
            raise AlertError(str(exc).replace(path.name, name, 1)) from exc
    return AlertArea(name, area.geometry)


def parse_circle(spec: str) -> tuple[float, float, float]:
    """Parse "LAT,LON,METRES" into (lat, lon, metres); AlertError when it is not three numbers."""
    parts = spec.split(",")
    try:
        lat, lon, metres = (float(part) for part in parts)
    except ValueError as exc:
        raise AlertError(
            f"circle {spec!r}: expected LAT,LON,METRES, e.g. 35.7528,139.7336,500"
        ) from exc
    return lat, lon, metres


_CIRCLE = text("""
    SELECT ST_AsBinary(ST_Buffer(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                                 :metres)::geometry)
""")


async def area_from_circle(
    conn: AsyncConnection, lat: float, lon: float, metres: float
) -> AlertArea:
    """A circle of `metres` (geodesic) around lat, lon."""
    where = f"circle around {lat},{lon}"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise AlertError(f"{where}: latitude must be within ±90 and longitude within ±180")
    if not looks_like_japan(Point(lon, lat)):
        raise AlertError(f"{where}: the centre is outside Japan (latitude and longitude swapped?)")
    if not 0 < metres <= MAX_CIRCLE_METRES:
        raise AlertError(
            f"{where}: the radius must be more than 0 and at most {MAX_CIRCLE_METRES:g} m"
        )
    wkb = await conn.scalar(_CIRCLE, {"lat": lat, "lon": lon, "metres": metres})
    label = f"circle {metres:g} m around {lat:.6f},{lon:.6f}"
    return AlertArea(label, as_multipolygon(shapely.from_wkb(bytes(wkb))))


_LAYER = text("""
    SELECT ST_AsBinary(a.geom) AS geom
    FROM hazard_layers l LEFT JOIN hazard_layer_areas a ON a.layer_id = l.id
    WHERE l.name = :name
""")
_LAYERS = text("SELECT name, kind, feature_count FROM hazard_layers ORDER BY name")


@dataclass(frozen=True)
class HazardLayer:
    """A loaded hazard layer: its name (the file's), its kind and how many zones it has."""

    name: str
    kind: HazardKind
    zones: int


async def hazard_layers(conn: AsyncConnection) -> list[HazardLayer]:
    """The loaded hazard layers, by name."""
    return [
        HazardLayer(row.name, HazardKind(row.kind), row.feature_count)
        for row in await conn.execute(_LAYERS)
    ]


async def hazard_layer_names(conn: AsyncConnection) -> list[str]:
    """The names of the loaded hazard layers."""
    return [layer.name for layer in await hazard_layers(conn)]


async def area_from_hazard_layer(conn: AsyncConnection, name: str) -> AlertArea:
    """The union of every zone of the loaded hazard layer `name` (as stored when it was
    loaded)."""
    row = (await conn.execute(_LAYER, {"name": name})).first()
    if row is None:
        known = ", ".join(await hazard_layer_names(conn)) or "none"
        raise AlertError(f"no hazard layer named {name!r}; loaded layers: {known}")
    if row.geom is None:
        raise AlertError(f"hazard layer {name!r} has no zones")
    geometry = as_multipolygon(shapely.from_wkb(bytes(row.geom)))
    return AlertArea(f"hazard layer {name}", geometry, (name,))


def union(areas: Sequence[AlertArea], label: str) -> AlertArea:
    """One area covering all of `areas` (several hazard layers, say), named `label`."""
    if not areas:
        raise AlertError("choose an area")
    if len(areas) == 1:
        return replace(areas[0], label=label)
    geometry = as_multipolygon(shapely.union_all([a.geometry for a in areas]))
    # Layers still stand for the whole only if every part is one.
    layers = () if not all(a.layers for a in areas) else tuple(n for a in areas for n in a.layers)
    return AlertArea(label, geometry, layers)


# Only residents who still follow the account, registered a spot inside the area (consent
# given: the row exists only then) and chose the topic. The area is read once, in its own
# SELECT: once psycopg prepares the statement (its sixth run on a connection), the generic
# plan would otherwise parse the WKB again for every resident (seconds for a large area).
_IN_GEOMETRY = """
    SELECT r.user_id, u.language FROM resident_areas r
    JOIN line_users u ON u.user_id = r.user_id
    WHERE u.following AND :topic = ANY(r.topics)
      AND ST_Covers((SELECT ST_GeomFromWKB(:area, 4326)), r.geom)
"""
# The same for hazard layers, through the layers worked out for each registered spot when it
# was stored or the layer loaded (service.resident_layers): the array's index finds them, and
# the users join by their key in one hash join. The users are kept apart (OFFSET 0): once the
# statement is prepared, the generic plan cannot tell a flood layer's tens of thousands of
# residents from a handful, and would look each one up in the users' index (2x slower).
_IN_LAYERS = """
    SELECT r.user_id, u.language FROM resident_areas r
    JOIN (SELECT user_id, language FROM line_users WHERE following OFFSET 0) u
      ON u.user_id = r.user_id
    WHERE :topic = ANY(r.topics)
      AND r.hazard_layer_ids && ARRAY(SELECT l.id FROM hazard_layers l WHERE l.name = ANY(:layers))
"""
# Both built from this module's constants only: the values are bound parameters.
_SOURCES = {"area": _IN_GEOMETRY, "layers": _IN_LAYERS}
# Grouped by language in the database: a handful of rows, not one per resident. Users in
# byte order (their IDs are ASCII), as Python sorts them when two languages are merged.
_RECIPIENTS = {
    source: text(
        'SELECT s.language, array_agg(s.user_id ORDER BY s.user_id COLLATE "C") AS users '  # noqa: S608
        f"FROM ({sql}) s GROUP BY s.language"
    )
    for source, sql in _SOURCES.items()
}
_LANGUAGE_COUNTS = {
    source: text(f"SELECT s.language, count(*) AS n FROM ({sql}) s GROUP BY s.language")  # noqa: S608
    for source, sql in _SOURCES.items()
}


def _where(area: AlertArea, topic: str) -> tuple[str, dict[str, object]]:
    """Which query finds the residents in `area`, and its parameters."""
    if area.layers:
        return "layers", {"topic": topic, "layers": list(area.layers)}
    return "area", {"topic": topic, "area": area.geometry.wkb}


async def _recipients(conn: AsyncConnection, area: AlertArea, topic: str) -> dict[Lang, list[str]]:
    """Recipients by their language now (one batch per language, as a rule), languages in
    the order of LANGUAGES, each language's recipients in user order."""
    source, params = _where(area, topic)
    by_lang: dict[Lang, list[str]] = {}
    for row in await conn.execute(_RECIPIENTS[source], params):
        lang = language_of(row.language)
        # Languages on record answered in one language (en, en-GB) share its batches.
        by_lang[lang] = sorted([*by_lang[lang], *row.users]) if lang in by_lang else row.users
    return {
        code: by_lang[code] for code in (language.code for language in LANGUAGES) if code in by_lang
    }


async def _counts(conn: AsyncConnection, area: AlertArea, topic: str) -> dict[Lang, int]:
    """How many recipients there are in each language now (counted in the database)."""
    source, params = _where(area, topic)
    counts: dict[Lang, int] = {}
    for row in await conn.execute(_LANGUAGE_COUNTS[source], params):
        lang = language_of(row.language)
        counts[lang] = counts.get(lang, 0) + row.n
    return counts


def _batches(by_lang: dict[Lang, list[str]], size: int) -> list[tuple[Lang, list[str]]]:
    return [
        (lang, users[start : start + size])
        for lang, users in by_lang.items()
        for start in range(0, len(users), size)
    ]


def _reach(counts: dict[Lang, int], size: int) -> Reach:
    """The reach of recipients counted by language, in batches of at most `size` (as
    `_batches` cuts them)."""
    languages = tuple(
        (language.code, counts[language.code])
        for language in LANGUAGES
        if counts.get(language.code)
    )
    batches = sum(-(-n // size) for _, n in languages)
    return Reach(sum(n for _, n in languages), batches, languages)


async def preview(
    conn: AsyncConnection, settings: AlertSettings, area: AlertArea, topic: str
) -> Reach:
    """How many residents an alert of `topic` to `area` would reach now."""
    check_topic(settings, topic)
    return _reach(await _counts(conn, area, topic), settings.batch_size)


async def queue_alert(
    conn: AsyncConnection,
    settings: AlertSettings,
    area: AlertArea,
    topic: str,
    message: str,
    *,
    created_by: str,
) -> Queued:
    """Record the alert and queue its multicast batches (at most ALERT_BATCH_SIZE residents
    each) in `conn`'s transaction. Wake the outbox after the commit.

    AlertError, with nothing recorded, when the area holds no resident who wants the topic:
    an alert that reaches nobody is a wrong area or topic, not a message sent.
    """
    check_topic(settings, topic)
    message = check_text(message)
    by_lang = await _recipients(conn, area, topic)
    batches = _batches(by_lang, settings.batch_size)
    reach = _reach({lang: len(users) for lang, users in by_lang.items()}, settings.batch_size)
    if not reach.recipients:
        raise AlertError(
            f"{area.label}: no resident who registered a spot there wants topic {topic!r}; "
            "nothing was sent"
        )
    alert_id = await conn.scalar(
        insert(alerts)
        .values(
            topic=topic,
            text=message,
            area_label=area.label,
            geom=func.ST_Multi(func.ST_GeomFromWKB(area.geometry.wkb, 4326)),
            recipient_count=reach.recipients,
            batch_count=reach.batches,
            created_by=created_by,
        )
        .returning(alerts.c.id)
    )
    await queue_batches(
        conn,
        AlertNotice(topic, message),
        batches,
        alert_id=int(alert_id),
        reason=f"alert {alert_id}: {topic}",
    )
    return Queued(int(alert_id), reach)


@dataclass(frozen=True)
class SentAlert:
    """A past alert and how far its batches got."""

    id: int
    topic: str
    text: str
    area_label: str
    recipient_count: int
    batch_count: int
    created_by: str
    created_at: datetime
    done_batches: int
    failed_batches: int


_RECENT = text("""
    SELECT a.id, a.topic, a.text, a.area_label, a.recipient_count, a.batch_count,
           a.created_by, a.created_at,
           count(o.id) FILTER (WHERE o.status IN ('sent', 'skipped')) AS done_batches,
           count(o.id) FILTER (WHERE o.status = 'failed') AS failed_batches
    FROM alerts a LEFT JOIN line_outbox o ON o.alert_id = a.id
    GROUP BY a.id
    ORDER BY a.id DESC
    LIMIT :limit
""")


async def recent_alerts(conn: AsyncConnection, limit: int = 50) -> list[SentAlert]:
    """The latest alerts, newest first."""
    rows = await conn.execute(_RECENT, {"limit": limit})
    return [SentAlert(**row._asdict()) for row in rows]
