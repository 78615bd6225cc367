"""Location answer benchmark: how fast a resident gets hazards and shelters for a point.

Runs against a private PostGIS with the shipped Kita-ku data. Figures are medians, and
ratios against a floor measured in the same run (the machine is shared and noisy):

- query floor: `SELECT 1` on the same pool; the location queries (area, hazards within
  50 m, nearest suitable sites); the hazard lookup against whole polygons instead of the
  ST_Subdivide pieces, to show what subdividing buys.
- HTTP floor: the webhook's verify request (signed, no events); a location event from the
  signed webhook to the reply recorded by the LINE stand-in (inbox, worker, queries, SDK).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.database import throwaway_database
from gis import nearby
from service import sandbox
from service.app import create_app
from service.line.handlers import location_answer
from service.sandbox import LinePlatformStandIn, WebhookSender, create_standin_app
from service.settings import AnswerSettings, DatabaseSettings, LineSettings, Settings
from tests.utils.servers import serve

# Kita-ku's bounding box; points are drawn inside it (some fall just outside the ward).
BBOX = (139.69, 35.73, 139.77, 35.80)
SECRET, TOKEN = "bench-secret", "bench-token"

_WHOLE_POLYGONS = text("""
    SELECT z.id FROM hazard_zones z
    WHERE ST_DWithin(z.geom::geography,
                     ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 50)
""")


def _points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3])) for _ in range(n)]


async def _timed(n: int, call: Callable[[float, float], Awaitable[object]]) -> list[float]:
    samples = []
    for lon, lat in _points(n):
        start = time.perf_counter()
        await call(lon, lat)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _row(name: str, samples: list[float], floor: float) -> str:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"  {name:<44} median {median:8.2f} ms  p95 {p95:8.2f} ms  {median / floor:7.1f}x floor"


async def _query_figures(url: str, n: int) -> list[str]:
    engine = create_async_engine(url)
    settings = AnswerSettings()
    async with engine.connect() as conn:

        async def floor(lon: float, lat: float) -> object:
            return await conn.execute(text("SELECT 1"))

        async def whole(lon: float, lat: float) -> object:
            return (await conn.execute(_WHOLE_POLYGONS, {"lon": lon, "lat": lat})).all()

        async def parts(lon: float, lat: float) -> object:
            return await nearby.hazards_at(conn, lon, lat, 50)

        await _timed(20, parts)  # warm the caches
        floor_ms = await _timed(n, floor)
        parts_ms = await _timed(n, parts)
        whole_ms = await _timed(max(n // 5, 20), whole)
    answer_ms = await _timed(n, lambda lon, lat: location_answer(engine, settings, lon, lat))
    await engine.dispose()
    base = statistics.median(floor_ms)
    return [
        f"query floor (SELECT 1): median {base:.3f} ms",
        _row("hazards within 50 m, subdivided pieces", parts_ms, base),
        _row("hazards within 50 m, whole polygons", whole_ms, base),
        _row("whole location answer (all queries)", answer_ms, base),
    ]


def _end_to_end_figures(url: str, n: int) -> list[str]:
    standin = LinePlatformStandIn(TOKEN)
    with serve(create_standin_app(standin)) as line_url:
        settings = Settings.from_env().model_copy(
            update={
                "database": DatabaseSettings(DATABASE_URL=url),
                "line": LineSettings(
                    LINE_CHANNEL_SECRET=SECRET,
                    LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
                    LINE_API_URL=line_url,
                    LINE_DATA_API_URL=line_url,
                ),
            }
        )
        with serve(create_app(settings)) as app_url:
            sender = WebhookSender(app_url + "/line/webhook", SECRET)
            user = "U" + "b" * 32
            floor_ms, path_ms = [], []
            for number, (lon, lat) in enumerate(_points(n)):
                start = time.perf_counter()
                sender.send([])
                floor_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                sender.send([sandbox.location_event(standin, user, lat, lon)])
                standin.wait_for_deliveries(number + 1, user)
                path_ms.append((time.perf_counter() - start) * 1000)
            sender.close()
    base = statistics.median(floor_ms)
    return [
        f"HTTP floor (signed verify request): median {base:.2f} ms",
        _row("location event -> reply at the stand-in", path_ms, base),
    ]


def run(n: int = 300) -> list[str]:
    """Run the benchmark on a throwaway cluster; returns the report lines."""
    with throwaway_database(with_bundled_data=True) as (url, _):
        lines = asyncio.run(_query_figures(url, n))
        return lines + _end_to_end_figures(url, max(n // 3, 30))
