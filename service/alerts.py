"""Area alerts: a message to the residents whose registered spot lies inside an area and who
chose the alert's topic, queued in the durable outbox as multicast batches of a notice
(service.notifications), rendered in the residents' languages when sent.

The area is a GeoJSON file (or an upload), a loaded hazard layer (the union of its zones) or
a circle (a geodesic buffer). The alert row and its batches are written in the caller's
transaction: either the whole alert is queued or none of it. Who is still following and
still wants the topic is checked again when each batch is sent (by the LINE outbox).
`civic alert` and the crew page (service.crew.alerts) use this module.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Point, mapping
from sqlalchemy import func, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gis.crs import looks_like_japan
from gis.sources.errors import SourceError
from gis.sources.geojson import POLYGONAL, as_multipolygon, read_features
from service.notifications import AlertNotice, queue_batches
from service.settings import AlertSettings, Category
from service.tables import alerts
from service.vocabulary import Lang, language_of

# A circle wider than this is almost certainly a typo (metres for kilometres).
MAX_CIRCLE_METRES = 50_000.0
# An uploaded area file larger than this is not a hand-drawn area.
MAX_UPLOAD_BYTES = 5_000_000


class AlertError(ValueError):
    """An alert that cannot be sent as given: the message says what was wrong, and where."""


@dataclass(frozen=True)
class AlertArea:
    """Where an alert goes: a label for people, and the (multi)polygon in EPSG:4326."""

    label: str
    geometry: MultiPolygon

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
    """How many residents an alert reaches, in how many multicast batches."""

    recipients: int
    batches: int

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
    SELECT count(z.id) AS zones, ST_AsBinary(ST_Multi(ST_Union(z.geom))) AS geom
    FROM hazard_layers l LEFT JOIN hazard_zones z ON z.layer_id = l.id
    WHERE l.name = :name
    GROUP BY l.id
""")
_LAYER_NAMES = text("SELECT name FROM hazard_layers ORDER BY name")


async def hazard_layer_names(conn: AsyncConnection) -> list[str]:
    """The names of the loaded hazard layers."""
    return [row.name for row in await conn.execute(_LAYER_NAMES)]


async def area_from_hazard_layer(conn: AsyncConnection, name: str) -> AlertArea:
    """The union of every zone of the loaded hazard layer `name`."""
    row = (await conn.execute(_LAYER, {"name": name})).first()
    if row is None:
        known = ", ".join(await hazard_layer_names(conn)) or "none"
        raise AlertError(f"no hazard layer named {name!r}; loaded layers: {known}")
    if not row.zones:
        raise AlertError(f"hazard layer {name!r} has no zones")
    return AlertArea(f"hazard layer {name}", as_multipolygon(shapely.from_wkb(bytes(row.geom))))


# Only residents who still follow the account, registered a spot inside the area (consent
# given: the row exists only then) and chose the topic.
_RECIPIENTS = text("""
    SELECT r.user_id, u.language FROM resident_areas r
    JOIN line_users u ON u.user_id = r.user_id
    WHERE u.following AND :topic = ANY(r.topics)
      AND ST_Covers(ST_GeomFromWKB(:area, 4326), r.geom)
    ORDER BY r.user_id
""")


async def _recipients(conn: AsyncConnection, area: AlertArea, topic: str) -> dict[Lang, list[str]]:
    """Recipients by their language now (one batch per language, as a rule)."""
    rows = await conn.execute(_RECIPIENTS, {"topic": topic, "area": area.geometry.wkb})
    by_lang: dict[Lang, list[str]] = {}
    for row in rows:
        by_lang.setdefault(language_of(row.language), []).append(row.user_id)
    return by_lang


def _batches(by_lang: dict[Lang, list[str]], size: int) -> list[tuple[Lang, list[str]]]:
    return [
        (lang, users[start : start + size])
        for lang, users in by_lang.items()
        for start in range(0, len(users), size)
    ]


def _reach(batches: Sequence[tuple[Lang, list[str]]]) -> Reach:
    return Reach(sum(len(users) for _, users in batches), len(batches))


async def preview(
    conn: AsyncConnection, settings: AlertSettings, area: AlertArea, topic: str
) -> Reach:
    """How many residents an alert of `topic` to `area` would reach now."""
    check_topic(settings, topic)
    return _reach(_batches(await _recipients(conn, area, topic), settings.batch_size))


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
    each) in `conn`'s transaction. Wake the outbox after the commit."""
    check_topic(settings, topic)
    message = check_text(message)
    batches = _batches(await _recipients(conn, area, topic), settings.batch_size)
    reach = _reach(batches)
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
