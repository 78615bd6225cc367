"""Configuration from the environment, one class per concern.

The variable names are a public contract (see README): keep them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent

# A well-known secret and token for sandbox mode: the stand-in is local and sends nothing
# anywhere, so these protect nothing and need not be secret.
SANDBOX_CHANNEL_SECRET = "sandbox-channel-secret"  # noqa: S105
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105
SANDBOX_PATH = "/sandbox/line"

_ENV = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True)


class DatabaseSettings(BaseSettings):
    """Where PostGIS is. Unset: a private cluster under `.data/postgres`."""

    model_config = _ENV

    url: str | None = Field(default=None, alias="DATABASE_URL")
    pool_size: int = Field(default=5, alias="DATABASE_POOL_SIZE")
    local_dir: Path = Field(default=PROJECT_DIR / ".data" / "postgres", alias="LOCAL_DB_DIR")


class LineSettings(BaseSettings):
    """The LINE channel. Without credentials the service runs against the local stand-in."""

    model_config = _ENV

    channel_secret: str | None = Field(default=None, alias="LINE_CHANNEL_SECRET")
    channel_access_token: str | None = Field(default=None, alias="LINE_CHANNEL_ACCESS_TOKEN")
    api_url: str = Field(default="https://api.line.me", alias="LINE_API_URL")
    data_api_url: str = Field(default="https://api-data.line.me", alias="LINE_DATA_API_URL")
    request_timeout: float = Field(default=10.0, alias="LINE_REQUEST_TIMEOUT")
    max_attempts: int = Field(default=5, alias="LINE_MAX_ATTEMPTS")
    # LINE accepts a reply token for one minute; past this age we push instead.
    reply_token_max_age: float = Field(default=50.0, alias="LINE_REPLY_TOKEN_MAX_AGE")

    @property
    def sandbox(self) -> bool:
        """True when no channel credentials are configured."""
        return not (self.channel_secret and self.channel_access_token)

    @property
    def secret(self) -> str:
        """The channel secret that signs webhooks (the sandbox one in sandbox mode)."""
        return self.channel_secret or SANDBOX_CHANNEL_SECRET

    @property
    def access_token(self) -> str:
        """The channel access token (the sandbox one in sandbox mode)."""
        return self.channel_access_token or SANDBOX_ACCESS_TOKEN


class InboxSettings(BaseSettings):
    """The durable webhook inbox and its workers."""

    model_config = _ENV

    workers: int = Field(default=2, alias="INBOX_WORKERS")
    max_attempts: int = Field(default=5, alias="INBOX_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(default=2.0, alias="INBOX_RETRY_BASE_SECONDS")
    poll_seconds: float = Field(default=1.0, alias="INBOX_POLL_SECONDS")
    lease_seconds: float = Field(default=120.0, alias="INBOX_LEASE_SECONDS")
    max_body_bytes: int = Field(default=1_000_000, alias="WEBHOOK_MAX_BODY_BYTES")


class DataSettings(BaseSettings):
    """The bundled data and where files are kept."""

    model_config = _ENV

    photo_dir: Path = Field(default=PROJECT_DIR / ".data" / "photos", alias="PHOTO_DIR")
    service_area: Path = Field(
        default=PROJECT_DIR / "hazard_maps" / "service_area.geojson", alias="SERVICE_AREA"
    )
    shelters: Path = Field(default=PROJECT_DIR / "shelters.geojson", alias="SHELTERS_FILE")
    hazard_maps: Path = Field(default=PROJECT_DIR / "hazard_maps", alias="HAZARD_MAPS_DIR")


class AnswerSettings(BaseSettings):
    """How the location answer is made."""

    model_config = _ENV

    nearest_sites: int = Field(default=5, alias="ANSWER_NEAREST_SITES")
    hazard_near_metres: float = Field(default=50.0, alias="ANSWER_HAZARD_NEAR_METRES")
    walking_metres_per_minute: float = Field(default=80.0, alias="ANSWER_WALKING_M_PER_MIN")
    hazard_map_url: str = Field(default="https://disaportal.gsi.go.jp/", alias="HAZARD_MAP_URL")


class ServerSettings(BaseSettings):
    """Where the app listens."""

    model_config = _ENV

    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, alias="PORT")

    @property
    def base_url(self) -> str:
        """The app's own URL, as seen from this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"


class Settings(BaseModel):
    """Everything the app needs, one part per concern."""

    database: DatabaseSettings
    line: LineSettings
    inbox: InboxSettings
    data: DataSettings
    answer: AnswerSettings
    server: ServerSettings

    @classmethod
    def from_env(cls) -> Settings:
        """Read every part from the environment."""
        return cls(
            database=DatabaseSettings(),
            line=LineSettings(),
            inbox=InboxSettings(),
            data=DataSettings(),
            answer=AnswerSettings(),
            server=ServerSettings(),
        )

    @property
    def line_api_url(self) -> str:
        """Base URL of the Messaging API: the in-app stand-in in sandbox mode."""
        if self.line.sandbox:
            return self.server.base_url + SANDBOX_PATH
        return self.line.api_url.rstrip("/")

    @property
    def line_data_api_url(self) -> str:
        """Base URL of the content API: the in-app stand-in in sandbox mode."""
        if self.line.sandbox:
            return self.server.base_url + SANDBOX_PATH
        return self.line.data_api_url.rstrip("/")
