"""A setting the service cannot run with stops it at start, with one line naming the variable
and the entry: `civic serve` and `civic dev` exit with status 2 and no traceback, and
`create_app` refuses it too. Nothing here needs a database: the check comes first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import AlertSettings, ReportSettings, Settings, SettingsError
from tests.utils.app import make_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Never reached: the settings are checked before anything opens.
NO_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:9/none"
CHECKED = (
    "REPORT_CATEGORIES",
    "ALERT_TOPICS",
    "ALERT_DEFAULT_TOPICS",
    "CREW_SESSION_HOURS",
    "PHOTO_STORE",
    "FORWARDED_ALLOW_IPS",
)
TOO_LONG = "道路の穴・段差・ひび割れ・陥没・その他の損傷"  # 22 characters


def _civic(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CHECKED}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=PROJECT_DIR,
        env={**clean, "DATABASE_URL": NO_DATABASE, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("REPORT_CATEGORIES", "road=道路|Road;streetlight", "the entry 'streetlight' has no '='"),
        ("CREW_SESSION_HOURS", "twelve", "Input should be a valid number"),
        ("PHOTO_STORE", "gs://photos/kita", "write a folder, or s3://bucket/prefix"),
        ("FORWARDED_ALLOW_IPS", "127.0.0.1,proxy.local", "'proxy.local' is no address"),
    ],
)
def test_civic_serve_refuses_a_bad_setting_in_one_line(
    variable: str, value: str, expected: str
) -> None:
    done = _civic("serve", "--sandbox", env={variable: value})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {variable}: ")
    assert expected in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("REPORT_CATEGORIES", "road=道路|Road;streetlight", "the entry 'streetlight' has no '='"),
        ("REPORT_CATEGORIES", "=道路|Road", "the entry '=道路|Road' has an empty code"),
        ("REPORT_CATEGORIES", "road=道路", "the entry 'road=道路' has an empty English label"),
        ("REPORT_CATEGORIES", "road=|Road", "the entry 'road=|Road' has an empty Japanese label"),
        (
            "REPORT_CATEGORIES",
            f"road={TOO_LONG}|Road",
            f"the entry 'road={TOO_LONG}|Road' has a label of 22 characters: at most 20",
        ),
        (
            "REPORT_CATEGORIES",
            "road=道路|Road;road=歩道|Sidewalk",
            "the entry 'road=歩道|Sidewalk' repeats the code 'road'",
        ),
        ("REPORT_CATEGORIES", " ; ", "no category"),
        ("ALERT_TOPICS", "disaster=防災|Disasters;events", "the entry 'events' has no '='"),
        ("ALERT_TOPICS", "disaster=防災|Disasters;disaster=災害|Disaster", "repeats the code"),
        ("ALERT_DEFAULT_TOPICS", "disaster,weather", "'weather' is not a topic of ALERT_TOPICS"),
    ],
)
def test_every_entry_of_a_list_setting_is_checked(variable: str, value: str, expected: str) -> None:
    settings = Settings.from_env()
    # Read from the environment, as at start-up: the variable's name is the field's alias.
    environment = {variable: value}
    if variable == "REPORT_CATEGORIES":
        checked = settings.model_copy(
            update={"reports": ReportSettings.model_validate(environment)}
        )
    else:
        checked = settings.model_copy(update={"alerts": AlertSettings.model_validate(environment)})
    with pytest.raises(SettingsError) as refused:
        checked.check()
    assert str(refused.value).startswith(f"{variable}: ")
    assert expected in str(refused.value)


def test_civic_dev_refuses_before_starting_anything() -> None:
    # The default ALERT_DEFAULT_TOPICS (disaster) is not among the city's topics.
    refused = _civic("dev", env={"ALERT_TOPICS": "roads=道路|Roads"})
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: ALERT_DEFAULT_TOPICS: 'disaster' is not a topic of ALERT_TOPICS (roads)"
    )
    assert "migrating" not in refused.stdout


def test_no_topic_at_all_is_allowed() -> None:
    AlertSettings(ALERT_TOPICS="", ALERT_DEFAULT_TOPICS="").check()


def test_create_app_refuses_the_settings_too() -> None:
    settings: Settings = make_settings(
        NO_DATABASE,
        "http://127.0.0.1:9",
        reports=ReportSettings(REPORT_CATEGORIES="road=道路|Road;road=歩道|Sidewalk"),
    )
    with pytest.raises(SettingsError, match=r"^REPORT_CATEGORIES: the entry 'road=歩道\|Sidewalk'"):
        create_app(settings)
