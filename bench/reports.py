"""Report-flow load: residents filing complete reports (photo + category + location) at once.

Each simulated resident waits for the bot's answer before the next step, as a person does:
photo -> category -> location -> "no more photos" -> "no description" -> submit, six signed
webhooks per report, over HTTP, through the inbox workers, photo download and processing,
PostGIS duplicate lookup, and replies to the LINE stand-in. The floor is the rate of signed
verify requests (no events) from the same client threads in the same run.
"""

from __future__ import annotations

import io
import random
import statistics
import threading
import time

from PIL import Image

from bench.database import throwaway_database
from bench.location import SECRET, TOKEN
from bench.processes import civic_serve
from service import localdb, sandbox
from service.sandbox import LinePlatformStandIn, WebhookSender, create_standin_app
from tests.utils.servers import serve

# LINE recompresses photos sent from the chat to about this size.
PHOTO_SIZE = (1280, 960)
KITA = (139.72, 35.75, 139.75, 35.78)


def sample_photo(seed: int) -> bytes:
    """A photo-like JPEG (smooth areas and some texture), about 100–200 KB."""
    rng = random.Random(seed)
    sky = Image.linear_gradient("L").resize(PHOTO_SIZE).convert("RGB")
    texture = Image.effect_noise((PHOTO_SIZE[0], PHOTO_SIZE[1] // 2), 24).convert("RGB")
    sky.paste(texture, (0, PHOTO_SIZE[1] // 2))
    sky.paste((rng.randrange(256), 90, 90), (500, 400, 700, 600))
    out = io.BytesIO()
    sky.save(out, "JPEG", quality=85)
    return out.getvalue()


def _resident(
    standin: LinePlatformStandIn, url: str, user: str, reports: int, seed: int, out: list[float]
) -> None:
    rng = random.Random(seed)
    photo = sample_photo(seed)
    with WebhookSender(url, SECRET) as sender:
        seen = 0

        def step(event: dict[str, object]) -> None:
            nonlocal seen
            sender.send([event])
            seen += 1
            standin.wait_for_deliveries(seen, user, timeout=60)

        for n in range(reports):
            started = time.perf_counter()
            message_id = f"{seed:06d}{n:06d}"
            step(sandbox.image_event(standin, user, message_id, content=photo))
            step(sandbox.postback_event(standin, user, "report=category&code=road"))
            lon, lat = rng.uniform(KITA[0], KITA[2]), rng.uniform(KITA[1], KITA[3])
            step(sandbox.location_event(standin, user, lat, lon))
            step(sandbox.postback_event(standin, user, "report=photos_done"))
            step(sandbox.postback_event(standin, user, "report=no_description"))
            step(sandbox.postback_event(standin, user, "report=submit"))
            out.append(time.perf_counter() - started)


def _floor(url: str, threads: int, seconds: float) -> float:
    count = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        nonlocal count
        with WebhookSender(url, SECRET) as sender:
            while time.monotonic() < deadline:
                sender.send([])
                with lock:
                    count += 1

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count / seconds


def run(residents: int = 24, reports_each: int = 4, inbox_workers: int = 4) -> list[str]:
    """Run the load on a throwaway cluster; returns the report lines."""
    with throwaway_database(with_bundled_data=True) as (url, tmp):
        standin = LinePlatformStandIn(TOKEN)
        with serve(create_standin_app(standin)) as line_url:
            env = {
                "DATABASE_URL": url,
                "DATABASE_POOL_SIZE": str(inbox_workers + 4),
                "LINE_CHANNEL_SECRET": SECRET,
                "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                "LINE_API_URL": line_url,
                "LINE_DATA_API_URL": line_url,
                "INBOX_WORKERS": str(inbox_workers),
                "INBOX_POLL_SECONDS": "0.05",
                "PHOTO_DIR": str(tmp / "photos"),
                "REPORTS_PER_HOUR": "10000",
                "NO_PROXY": "127.0.0.1,localhost",
            }
            with civic_serve(env, localdb.free_port()) as (app_url, _):
                webhook = app_url + "/line/webhook"
                floor = _floor(webhook, residents, 3.0)
                durations: list[float] = []
                threads = [
                    threading.Thread(
                        target=_resident,
                        args=(standin, webhook, f"U{n:032x}", reports_each, n, durations),
                    )
                    for n in range(residents)
                ]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                elapsed = time.perf_counter() - started
    total = residents * reports_each
    rate = total / elapsed
    events = total * 6 / elapsed
    return [
        f"floor: signed verify requests, {residents} client threads: {floor:.0f} req/s",
        f"  {total} complete reports ({residents} residents at once, photo {PHOTO_SIZE[0]}x"
        f"{PHOTO_SIZE[1]}, {inbox_workers} inbox workers): {rate:.1f} reports/s "
        f"({events:.0f} events/s, {events / floor:.2f}x the floor's request rate)",
        f"  time for one resident to file a report: median "
        f"{statistics.median(durations):.2f} s (six steps, each awaiting the answer)",
        "  target: 100 complete reports/s on 2 cores",
    ]
