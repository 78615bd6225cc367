"""Surge bench: a disaster's burst of locations (and reports) against production's processes.

`civic serve` (webhook only, INBOX_WORKERS=0) and N `civic worker` processes run against a
private PostGIS holding the shipped Kita-ku data plus a SYNTHETIC national data set
(bench.national: 115,000 sites around synthetic cities, flood zones of thousands of
vertices, subdivided). The LINE stand-in runs in a process of its own
(bench.standin_process) and reports each reply as it is sent. This process plays the
residents: concurrent clients post signed webhooks over HTTP, one event each, from
followers with LINE-format user IDs, and wait for the answer.

For each number of worker processes it prints, in one run (the machine is shared: ratios
to the floor measured in the same run are the figures that travel):

- floor: signed webhook requests with no event, same number of clients, req/s;
- location events answered/s, closed loop (each client sends its next location once its
  answer arrived), for at least 60 s by default, and the ratio to the floor;
- latency from the webhook being sent to the reply being sent at the stand-in, p50/p99,
  at saturation and in an open-loop run (Poisson arrivals) at half the measured rate;
- lost and doubled answers: every accepted event must be answered exactly once (by reply,
  or by push when the reply token is refused);
- the report flow: residents filing complete reports (photo from the stand-in's content
  API, category, location, no more photos, no description, submit), events/s and
  complete reports/s, with the ratio to the floor;
- CPU per answered event in the serve, worker, PostgreSQL, stand-in and client processes.

`python -m bench.surge --workers 1,2,4 --seconds 60` runs it alone; `make bench` runs it
with the defaults below.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.database import throwaway_database
from bench.location import SECRET, TOKEN
from bench.national import NationalData, load_national
from bench.processes import civic_serve, civic_workers
from bench.reports import sample_photo
from bench.standin_process import Answer, StandInProcess
from service import localdb, sandbox
from service.sandbox import webhook_body
from service.sandbox.webhooks import sign

WORKER_LOOPS = 4
ANSWER_TIMEOUT = 30.0
# Followers registered ahead (a resident who follows the account has a line_users row).
FOLLOWERS = 100_000
REPORTERS_FROM = 1_000_000

_FOLLOWERS = text("""
    INSERT INTO line_users (user_id, language, following)
    SELECT 'U' || md5('resident' || g), 'ja', true
    FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS g
""")


def user_id(number: int) -> str:
    """The LINE-format user ID (U + 32 hex) of synthetic resident `number`."""
    return "U" + hashlib.md5(f"resident{number}".encode()).hexdigest()  # noqa: S324


@dataclass
class Options:
    """What to run."""

    workers: list[int] = field(default_factory=lambda: [2])
    seconds: float = 60.0
    clients: int = 16
    floor_seconds: float = 10.0
    half_seconds: float = 20.0
    report_seconds: float = 20.0
    reporters: int = 8
    poll_seconds: float = 0.02
    photo_processes: int | None = None
    profile_dir: Path | None = None


class Answers:
    """What the stand-in reports, and futures for the answers the clients wait on."""

    def __init__(self, standin: StandInProcess) -> None:
        self.records: list[Answer] = []
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[float]]] = {}
        self._lock = threading.Lock()
        self._pipe = standin.answers
        threading.Thread(target=self._read, daemon=True, name="answers").start()

    def expect(self, *keys: str) -> asyncio.Future[float]:
        """A future for the time the answer to the event with this reply token (or this
        user, for a push) was sent."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        with self._lock:
            for key in keys:
                self._waiting[key] = (loop, future)
        return future

    def forget(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._waiting.pop(key, None)

    def _read(self) -> None:
        while True:
            try:
                record: Answer = self._pipe.recv()
            except (EOFError, OSError):
                return
            with self._lock:
                self.records.append(record)
                waiting = self._waiting.pop(record[1], None) if record[2] == 200 else None
            if waiting is not None:
                loop, future = waiting
                loop.call_soon_threadsafe(_resolve, future, record[3])


def _resolve(future: asyncio.Future[float], at: float) -> None:
    if not future.done():
        future.set_result(at)


@dataclass
class Sent:
    """An event the webhook accepted: its reply token, user and when it was sent."""

    token: str
    user: str
    at: float


class Residents:
    """The client side: signed webhooks over HTTP, reply tokens from the stand-in."""

    def __init__(self, app_url: str, standin: StandInProcess, answers: Answers) -> None:
        self.webhook = app_url + "/line/webhook"
        self.standin_url = standin.url
        self.answers = answers
        self.sent: list[Sent] = []
        self.next_user = 0
        self.client = httpx.AsyncClient(
            trust_env=False, timeout=30, limits=httpx.Limits(max_connections=256)
        )

    async def post(self, events: list[dict[str, Any]]) -> httpx.Response:
        body = webhook_body(events)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": sign(SECRET, body),
        }
        return await self.client.post(self.webhook, content=body, headers=headers)

    async def tokens(self, users: list[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(users), 5000):
            response = await self.client.post(
                self.standin_url + "/_bench/tokens", json={"users": users[start : start + 5000]}
            )
            found += response.json()["tokens"]
        return found

    async def send_and_wait(self, event: dict[str, Any], token: str, user: str) -> float | None:
        """Post one event and wait for its answer; the seconds from sending to the answer
        being sent, or None if the webhook refused it or no answer came in time."""
        answered = self.answers.expect(token, user)
        at = time.time()
        response = await self.post([event])
        if response.status_code != 200:
            self.answers.forget(token, user)
            return None
        self.sent.append(Sent(token, user, at))
        try:
            return await asyncio.wait_for(answered, ANSWER_TIMEOUT) - at
        except TimeoutError:
            self.answers.forget(token, user)
            return None

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class Phase:
    """Counts and latencies of one timed phase."""

    answered: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def percentiles(self) -> str:
        if len(self.latencies) < 2:
            return "p50 - p99 -"
        p50 = statistics.median(self.latencies) * 1000
        p99 = statistics.quantiles(self.latencies, n=100)[98] * 1000
        return f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"


class CpuMeter:
    """CPU seconds used by the service's processes, PostgreSQL's and this one."""

    def __init__(self, groups: dict[str, list[int]], postmaster: int) -> None:
        self._groups = groups
        self._postmaster = postmaster

    def sample(self) -> dict[str, float]:
        found = {name: sum(_cpu(pid) for pid in pids) for name, pids in self._groups.items()}
        parents = {pid: _ppid(pid) for pid in _all_pids()}
        # The workers' photo processes (PHOTO_PROCESSES), those already gone included.
        workers = self._groups["workers"]
        found["photo processes"] = sum(
            _cpu(pid) for pid, parent in parents.items() if parent in workers
        ) + sum(_cpu(pid, children=True) - _cpu(pid) for pid in workers)
        # The postmaster's children (backends, checkpointer, ...) and those already gone.
        backends = [pid for pid, parent in parents.items() if parent == self._postmaster]
        found["postgresql"] = _cpu(self._postmaster, children=True) + sum(map(_cpu, backends))
        found["bench clients"] = _cpu(os.getpid())
        return found

    @staticmethod
    def per_event(before: dict[str, float], after: dict[str, float], events: int) -> str:
        parts = [
            f"{name} {(after[name] - before[name]) / max(events, 1) * 1000:.1f}" for name in before
        ]
        return "CPU ms per answered event: " + ", ".join(parts)


def _stat(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return raw[raw.rindex(")") + 2 :].split()


def _cpu(pid: int, *, children: bool = False) -> float:
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _ppid(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


async def _floor(residents: Residents, clients: int, seconds: float) -> float:
    count = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal count
        while time.monotonic() < deadline:
            if (await residents.post([])).status_code == 200:
                count += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return count / seconds


def _location(user: str, token: str, point: tuple[float, float]) -> dict[str, Any]:
    lon, lat = point
    return sandbox.location_event(token, user, lat, lon)


async def _planned(
    residents: Residents, count: int, points: Sequence[tuple[float, float]]
) -> list[tuple[tuple[float, float], str, str]]:
    """Where `count` distinct followers will send their location from, with the reply
    tokens issued ahead (the events themselves are made when sent: LINE's timestamp is the
    time the resident sends)."""
    first = residents.next_user
    residents.next_user += count
    users = [user_id((first + n) % FOLLOWERS) for n in range(count)]
    tokens = await residents.tokens(users)
    return [
        (points[(first + n) % len(points)], token, user)
        for n, (user, token) in enumerate(zip(users, tokens, strict=True))
    ]


async def _closed_loop(
    residents: Residents,
    clients: int,
    seconds: float,
    floor: float,
    points: Sequence[tuple[float, float]],
) -> Phase:
    # No more events can be answered than requests with no event are accepted.
    events = iter(await _planned(residents, int(floor * seconds * 1.2) + clients, points))
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            point, token, user = next(events)
            took = await residents.send_and_wait(_location(user, token, point), token, user)
            if took is not None:
                latencies.append(took)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Phase(len(latencies), time.monotonic() - started, latencies)


async def _open_loop(
    residents: Residents, rate: float, seconds: float, points: Sequence[tuple[float, float]]
) -> Phase:
    events = await _planned(residents, int(rate * seconds * 1.5) + 10, points)
    rng = random.Random(5)
    latencies: list[float] = []
    tasks = []

    async def one(point: tuple[float, float], token: str, user: str) -> None:
        took = await residents.send_and_wait(_location(user, token, point), token, user)
        if took is not None:
            latencies.append(took)

    started = time.monotonic()
    due = started
    for point, token, user in events:
        due += rng.expovariate(rate)
        if due > started + seconds:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(point, token, user)))
    await asyncio.gather(*tasks)
    return Phase(len(latencies), seconds, latencies)


async def _reports(residents: Residents, reporters: int, seconds: float) -> tuple[Phase, int]:
    """Residents filing complete reports, each step awaiting its answer."""
    steps = 0
    complete = 0
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    rng = random.Random(3)
    area = [(139.72 + rng.random() * 0.03, 35.75 + rng.random() * 0.03) for _ in range(1000)]

    async def reporter(number: int) -> None:
        nonlocal steps, complete
        user = user_id(REPORTERS_FROM + number)
        photo = sample_photo(number)
        filed = 0
        while time.monotonic() < deadline:
            message_id = f"{number:06d}{filed:08d}"
            await residents.client.post(
                f"{residents.standin_url}/_bench/content/{message_id}", content=photo
            )
            lon, lat = area[(number * 97 + filed) % len(area)]
            tokens = await residents.tokens([user] * 6)
            events = [
                sandbox.image_event(tokens[0], user, message_id),
                sandbox.postback_event(tokens[1], user, "report=category&code=road"),
                sandbox.location_event(tokens[2], user, lat, lon),
                sandbox.postback_event(tokens[3], user, "report=photos_done"),
                sandbox.postback_event(tokens[4], user, "report=no_description"),
                sandbox.postback_event(tokens[5], user, "report=submit"),
            ]
            for event, token in zip(events, tokens, strict=True):
                took = await residents.send_and_wait(event, token, user)
                if took is None:
                    return
                steps += 1
                latencies.append(took)
            complete += 1
            filed += 1

    started = time.monotonic()
    await asyncio.gather(*(reporter(n) for n in range(reporters)))
    return Phase(steps, time.monotonic() - started, latencies), complete


def _exactly_once(sent: list[Sent], records: list[Answer]) -> tuple[int, int]:
    """(lost, doubled): accepted events with no answer, and with more than one attempt."""
    replies = Counter(key for kind, key, _, _ in records if kind == "reply")
    answered = Counter(key for kind, key, status, _ in records if status == 200)
    pushes = Counter(key for kind, key, _, _ in records if kind == "push")
    lost = sum(1 for s in sent if answered[s.token] + answered[s.user] == 0)
    doubled = sum(1 for s in sent if replies[s.token] + pushes[s.user] > 1)
    return lost, doubled


async def _measure(
    app_url: str,
    standin: StandInProcess,
    answers: Answers,
    meter: CpuMeter,
    options: Options,
    data: NationalData,
) -> list[str]:
    residents = Residents(app_url, standin, answers)
    points = data.resident_points
    try:
        await _planned(residents, 200, points)  # warm the connections
        first_floor = await _floor(residents, options.clients, options.floor_seconds)
        warm = await _closed_loop(residents, options.clients, 3, first_floor, points)
        del warm  # the caches and pools are warm now
        residents.sent.clear()
        before = meter.sample()
        burst = await _closed_loop(residents, options.clients, options.seconds, first_floor, points)
        cpu_burst = CpuMeter.per_event(before, meter.sample(), burst.answered)
        # Measured again after the burst: other load on a shared machine comes and goes.
        second_floor = await _floor(residents, options.clients, options.floor_seconds)
        floor = (first_floor + second_floor) / 2
        half = await _open_loop(residents, burst.rate / 2, options.half_seconds, points)
        before = meter.sample()
        report, complete = await _reports(residents, options.reporters, options.report_seconds)
        cpu_report = CpuMeter.per_event(before, meter.sample(), report.answered)
        await asyncio.sleep(2)  # any late or doubled answer
        lost, doubled = _exactly_once(residents.sent, list(answers.records))
    finally:
        await residents.aclose()
    return [
        f"  floor: signed webhook requests with no event, {options.clients} clients: "
        f"{floor:.0f} req/s (mean of {first_floor:.0f} before and {second_floor:.0f} after "
        f"the burst, {options.floor_seconds:.0f} s each)",
        f"  location events answered: {burst.rate:.1f}/s over {burst.seconds:.0f} s "
        f"({options.clients} clients, closed loop) = {burst.rate / floor:.2f}x the floor; "
        f"{burst.percentiles()}",
        f"    {cpu_burst}",
        f"  at half that rate ({burst.rate / 2:.1f}/s offered, open loop, "
        f"{options.half_seconds:.0f} s, {half.answered} events): {half.percentiles()}",
        f"  report flow ({options.reporters} residents, six events a report, photo "
        f"{len(sample_photo(0)) // 1000} KB): {report.rate:.1f} events/s = "
        f"{report.rate / floor:.2f}x the floor, {complete / report.seconds:.2f} complete "
        f"reports/s; per step {report.percentiles()}",
        f"    {cpu_report}",
        f"  accepted events {len(residents.sent)}: lost {lost}, doubled {doubled}",
    ]


def _env(url: str, line_url: str, tmp: Path, options: Options, pool: int) -> dict[str, str]:
    env = {
        "DATABASE_URL": url,
        "DATABASE_POOL_SIZE": str(pool),
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_URL": line_url,
        "LINE_DATA_API_URL": line_url,
        "INBOX_POLL_SECONDS": str(options.poll_seconds),
        "PHOTO_DIR": str(tmp / "photos"),
        "REPORTS_PER_HOUR": "100000",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if options.photo_processes is not None:
        env["PHOTO_PROCESSES"] = str(options.photo_processes)
    return env


def run(options: Options | None = None) -> list[str]:
    """Load the national data set, then measure each number of worker processes."""
    options = options or Options()
    lines = []
    with throwaway_database(with_bundled_data=True) as (url, tmp):
        engine = create_engine(url)
        started = time.monotonic()
        with engine.begin() as conn:
            data = load_national(conn)
            conn.execute(_FOLLOWERS, {"first": 0, "last": FOLLOWERS - 1})
            conn.execute(_FOLLOWERS, {"first": REPORTERS_FROM, "last": REPORTERS_FROM + 999})
        # Vacuumed now rather than by autovacuum in the middle of a timed phase.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("CHECKPOINT"))
        engine.dispose()
        lines.append(
            f"SYNTHETIC national data: {data.sites} sites around {len(data.cities)} cities, "
            f"{data.zones} flood zones ({data.zone_vertices} vertices, {data.pieces} pieces "
            f"after ST_Subdivide), {FOLLOWERS} followers; loaded in "
            f"{time.monotonic() - started:.0f} s"
        )
        postmaster = int((tmp / "pg" / "postmaster.pid").read_text().split()[0])
        standin = StandInProcess(TOKEN)
        try:
            answers = Answers(standin)
            for processes in options.workers:
                serve_env = _env(url, standin.url, tmp, options, 8) | {"INBOX_WORKERS": "0"}
                worker_env = _env(url, standin.url, tmp, options, WORKER_LOOPS + 2)
                with (
                    civic_serve(serve_env, localdb.free_port()) as (app_url, serve_pid),
                    civic_workers(
                        worker_env, processes, WORKER_LOOPS, options.profile_dir
                    ) as worker_pids,
                ):
                    groups = {
                        "serve": [serve_pid],
                        "workers": worker_pids,
                        "stand-in": [standin.pid],
                    }
                    meter = CpuMeter(groups, postmaster)
                    lines.append(
                        f"{processes} worker process(es) x {WORKER_LOOPS} loops, "
                        f"load {os.getloadavg()[0]:.1f} before:"
                    )
                    lines += asyncio.run(_measure(app_url, standin, answers, meter, options, data))
        finally:
            standin.stop()
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.surge`: the options, then the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Options()
    parser.add_argument("--workers", default="2", help="worker process counts, e.g. 1,2,4")
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--floor-seconds", type=float, default=defaults.floor_seconds)
    parser.add_argument("--half-seconds", type=float, default=defaults.half_seconds)
    parser.add_argument("--report-seconds", type=float, default=defaults.report_seconds)
    parser.add_argument("--reporters", type=int, default=defaults.reporters)
    parser.add_argument("--poll-seconds", type=float, default=defaults.poll_seconds)
    parser.add_argument("--photo-processes", type=int, default=None, help="PHOTO_PROCESSES")
    parser.add_argument("--profile-dir", type=Path, help="profile the workers (cProfile) here")
    args = parser.parse_args(argv)
    options = Options(
        workers=[int(n) for n in args.workers.split(",")],
        seconds=args.seconds,
        clients=args.clients,
        floor_seconds=args.floor_seconds,
        half_seconds=args.half_seconds,
        report_seconds=args.report_seconds,
        reporters=args.reporters,
        poll_seconds=args.poll_seconds,
        photo_processes=args.photo_processes,
        profile_dir=args.profile_dir,
    )
    for line in run(options):
        print(line)


if __name__ == "__main__":
    main()
