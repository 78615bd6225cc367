"""`civic serve` and `civic worker` in processes of their own, as in production, for benches."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx


def _civic(
    args: list[str], env: dict[str, str], module: str = "service"
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", module, *args],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def _stopped_on_exit(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def civic_serve(env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """`civic serve` on 127.0.0.1:`port`; yields its URL and pid once healthy."""
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with _stopped_on_exit(_civic(args, env)) as process:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("civic serve did not start")
            time.sleep(0.2)
        yield url, process.pid


@contextmanager
def civic_workers(
    env: dict[str, str], processes: int, count: int, profile_dir: Path | None = None
) -> Iterator[list[int]]:
    """`processes` `civic worker --count COUNT` processes; yields their pids. With
    `profile_dir`, each runs under cProfile (bench.profiled_worker) and writes
    worker-N.prof there when stopped."""
    with ExitStack() as stack:
        started = []
        for number in range(processes):
            if profile_dir is None:
                process = _civic(["worker", "--count", str(count)], env)
            else:
                out = str(profile_dir / f"worker-{number}.prof")
                process = _civic([out, "--count", str(count)], env, "bench.profiled_worker")
            started.append(stack.enter_context(_stopped_on_exit(process)))
        yield [process.pid for process in started]
