"""A private PostGIS cluster for `make run` and the tests.

PostgreSQL's `initdb` and `pg_ctl` refuse to run as root, so when we are root the cluster is
created and started as the `postgres` system user, in a directory that user owns. The server
listens on 127.0.0.1 only, on a free port, with its socket inside the data directory, and a
small watchdog stops it when the process that started it goes away.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

_SUPERUSER = "postgres"


class LocalDbError(RuntimeError):
    """The private cluster cannot be created or started; the message says what to install or fix."""


@dataclass(frozen=True)
class LocalCluster:
    """A running private cluster."""

    data_dir: Path
    port: int

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of a database in this cluster."""
        return f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq connection string of a database in this cluster."""
        return f"host=127.0.0.1 port={self.port} user={_SUPERUSER} dbname={dbname}"


def _installed_versions() -> list[int]:
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return []
    return sorted((int(p.name) for p in root.iterdir() if p.name.isdigit()), reverse=True)


def _has_postgis(version: int) -> bool:
    return Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists()


def find_bindir() -> Path:
    """The bin directory of the newest installed PostgreSQL that has PostGIS."""
    versions = _installed_versions()
    for version in versions:
        if _has_postgis(version):
            return Path(f"/usr/lib/postgresql/{version}/bin")
    if versions:
        raise LocalDbError(
            f"PostgreSQL {versions[0]} is installed but PostGIS is not: install "
            f"postgresql-{versions[0]}-postgis-3 (Debian/Ubuntu), or set DATABASE_URL."
        )
    raise LocalDbError(
        "PostgreSQL is not installed: install postgresql-15 and postgresql-15-postgis-3 "
        "(Debian/Ubuntu: apt-get install postgresql-15-postgis-3), or set DATABASE_URL."
    )


def _as_owner(cmd: list[str]) -> list[str]:
    # initdb/pg_ctl refuse root; run them as the postgres system user instead.
    if os.geteuid() == 0:
        return ["runuser", "-u", _SUPERUSER, "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> None:
    result = subprocess.run(_as_owner(cmd), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise LocalDbError(f"{Path(cmd[0]).name} failed: {result.stderr.strip() or result.stdout}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(data_dir, _SUPERUSER, _SUPERUSER)
        # The postgres user must be able to reach the directory through its parents.
        for parent in data_dir.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
    data_dir.chmod(0o700)


def _running_port(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    try:
        pid, port = int(lines[0]), int(lines[3])
    except (IndexError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return port


def _wait_ready(cluster: LocalCluster, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(cluster.conninfo(), connect_timeout=2):
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise LocalDbError(
                    f"the private PostgreSQL did not accept connections: {exc}"
                ) from exc
            time.sleep(0.2)


def _watch(owner_pid: int, bindir: Path, data_dir: Path) -> None:
    # A detached shell that stops the cluster once the process that owns it has gone, so a
    # killed test run or dev server never leaves a PostgreSQL behind.
    pg_ctl = " ".join(
        _as_owner([str(bindir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "stop"])
    )
    script = f"while kill -0 {owner_pid} 2>/dev/null; do sleep 1; done; {pg_ctl} >/dev/null 2>&1"
    subprocess.Popen(  # noqa: S603
        ["/bin/sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start(data_dir: Path, *, fast: bool = False, owner_pid: int | None = None) -> LocalCluster:
    """Create (first time) and start the cluster in `data_dir`, or reuse it if running.

    `fast` turns off fsync for throwaway test clusters. The cluster is stopped when
    `owner_pid` (default: this process) exits.
    """
    bindir = find_bindir()
    data_dir = data_dir.resolve()
    port = _running_port(data_dir)
    if port is not None:
        cluster = LocalCluster(data_dir, port)
        _wait_ready(cluster)
        return cluster
    _prepare_dir(data_dir)
    if not (data_dir / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                _SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                *(["--no-sync"] if fast else []),
            ]
        )
    port = free_port()
    # JIT compiling costs more than it saves on our short spatial queries (PostGIS functions
    # are costed high enough to trigger it): off, as in docker-compose.yml.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data_dir} -c jit=off"
    if fast:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        ]
    )
    _watch(owner_pid or os.getpid(), bindir, data_dir)
    cluster = LocalCluster(data_dir, port)
    _wait_ready(cluster)
    return cluster


def stop(cluster: LocalCluster) -> None:
    """Stop the cluster now (fast shutdown)."""
    _run([str(find_bindir() / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "stop"])


def ensure_database(cluster: LocalCluster, dbname: str, template: str | None = None) -> None:
    """Create `dbname` in the cluster unless it exists, optionally copying `template`."""
    with psycopg.connect(cluster.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists:
            return
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
        if template:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(query)
