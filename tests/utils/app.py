"""The app as the tests run it: settings that talk to the LINE stand-in, and the served app."""

from __future__ import annotations

from dataclasses import dataclass

from service.settings import (
    DatabaseSettings,
    InboxSettings,
    LineSettings,
    MapSettings,
    OutboxSettings,
    Settings,
)

TEST_SECRET = "test-channel-secret"
TEST_TOKEN = "test-access-token"


def make_settings(database_url: str, line_api_url: str, **overrides: object) -> Settings:
    """Settings of an app that talks to the stand-in as if it were LINE (not sandbox mode),
    with quick polling and retries and no base map (no test reaches the internet: the base
    map's tests serve tiles themselves); `overrides` replace whole parts (e.g. reports=…)."""
    return Settings.from_env().model_copy(
        update={
            "database": DatabaseSettings(DATABASE_URL=database_url),
            "line": LineSettings(
                LINE_CHANNEL_SECRET=TEST_SECRET,
                LINE_CHANNEL_ACCESS_TOKEN=TEST_TOKEN,
                LINE_API_URL=line_api_url,
                LINE_DATA_API_URL=line_api_url,
                LINE_REQUEST_TIMEOUT=5,
            ),
            "inbox": InboxSettings(INBOX_POLL_SECONDS=0.2, INBOX_RETRY_BASE_SECONDS=0.1),
            "outbox": OutboxSettings(OUTBOX_POLL_SECONDS=0.2, OUTBOX_RETRY_BASE_SECONDS=0.1),
            "maps": MapSettings(BASEMAP_URL="none"),
            **overrides,
        }
    )


@dataclass
class RunningApp:
    """An app served over HTTP, and what the tests need to talk to it."""

    url: str
    settings: Settings

    @property
    def webhook_url(self) -> str:
        return self.url + "/line/webhook"

    @property
    def database_url(self) -> str:
        """The URL of the app's database (each test has its own)."""
        return self.settings.database.url or ""
