"""The sandbox (the LINE stand-in and the chat page) is tooling: an app with LINE credentials
neither imports nor mounts it; an app without them does both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Builds an app in a fresh interpreter and reports which sandbox modules got imported and
# which paths the app serves. create_app opens no connection: the URL is never used.
_PROBE = """
import json, sys
from fastapi.routing import iter_route_contexts
from service.app import create_app
from service.settings import DatabaseSettings, Settings
settings = Settings.from_env().model_copy(
    update={"database": DatabaseSettings(DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:9/none")}
)
app = create_app(settings)
loaded = sorted(m for m in sys.modules if m.split(".")[:2] == ["service", "sandbox"])
paths = sorted(route.path or "" for route in iter_route_contexts(app.routes))
print(json.dumps({"loaded": loaded, "paths": paths}))
"""


def _probe(line_env: dict[str, str]) -> dict[str, list[str]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN")
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=PROJECT_DIR,
        env={**env, **line_env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, list[str]] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_an_app_with_line_credentials_never_imports_the_sandbox() -> None:
    found = _probe({"LINE_CHANNEL_SECRET": "secret", "LINE_CHANNEL_ACCESS_TOKEN": "token"})
    assert found["loaded"] == []
    assert not [path for path in found["paths"] if path.startswith("/sandbox")]
    assert "/line/webhook" in found["paths"]


def test_an_app_without_line_credentials_imports_and_mounts_the_sandbox() -> None:
    found = _probe({})
    assert "service.sandbox.chat" in found["loaded"]
    assert "service.sandbox.standin" in found["loaded"]
    assert {"/sandbox", "/sandbox/say", "/sandbox/line"} <= set(found["paths"])
