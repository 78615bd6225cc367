"""The `civic` command as an operator runs it: a process of its own, from the project folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def civic(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `civic ARGS…` on `database_url` (more variables in `env`); its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def civic_process(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`civic ARGS…` running in the background with exactly `env`, its output in `log`;
    stopped on exit (killed if it does not stop within 10 s)."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", *args],
            cwd=PROJECT_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
