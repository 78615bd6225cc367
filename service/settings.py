"""Configuration from the environment, one class per concern.

The variable names are a public contract (see README): keep them. A value of the wrong type
is refused when the settings are read (pydantic); the list settings (REPORT_CATEGORIES,
ALERT_TOPICS, ALERT_DEFAULT_TOPICS) are checked entry by entry by `Settings.check`, which
`create_app` and the `civic` command run before anything starts.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, DirectoryPath, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.vocabulary.languages import LANGUAGES

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
    # The channel's add-friend link (https://lin.ee/…): the public shelter page offers it to
    # find shelters near the resident's own location.
    friend_url: str | None = Field(default=None, alias="LINE_FRIEND_URL")

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
    # A worker process not heard from for this long is dead: its events are taken over at
    # once rather than when their lease runs out. It beats three times as often.
    heartbeat_seconds: float = Field(default=6.0, gt=0, alias="INBOX_HEARTBEAT_SECONDS")
    max_body_bytes: int = Field(default=1_000_000, alias="WEBHOOK_MAX_BODY_BYTES")


class DataSettings(BaseSettings):
    """The bundled data and where files are kept."""

    model_config = _ENV

    photo_dir: Path = Field(default=PROJECT_DIR / ".data" / "photos", alias="PHOTO_DIR")
    # Where photos are kept: a folder, or an S3-compatible bucket as s3://bucket/prefix (its
    # endpoint and credentials in ObjectStoreSettings). Unset: the folder PHOTO_DIR.
    photo_store: str | None = Field(default=None, alias="PHOTO_STORE")
    service_area: Path = Field(
        default=PROJECT_DIR / "hazard_maps" / "service_area.geojson", alias="SERVICE_AREA"
    )
    shelters: Path = Field(default=PROJECT_DIR / "shelters.geojson", alias="SHELTERS_FILE")
    hazard_maps: Path = Field(default=PROJECT_DIR / "hazard_maps", alias="HAZARD_MAPS_DIR")
    # A facility file that would retire more than this share of a city's rows of its list
    # is refused (`civic load facilities --allow-retire` loads it anyway).
    facility_retire_max_share: float = Field(
        default=0.2, ge=0, le=1, alias="FACILITY_RETIRE_MAX_SHARE"
    )

    @field_validator("photo_store")
    @classmethod
    def _a_folder_or_a_bucket(cls, value: str | None) -> str | None:
        if value and "://" in value and bucket_of(value) is None:
            raise ValueError(
                "write a folder, or s3://bucket/prefix (bucket: 3 to 63 lowercase letters, "
                "digits, dots and hyphens)"
            )
        return value or None

    @property
    def photo_location(self) -> str:
        """PHOTO_STORE, or the folder PHOTO_DIR."""
        return self.photo_store or str(self.photo_dir)


_BUCKET_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?")


def bucket_of(location: str) -> tuple[str, str] | None:
    """(bucket, prefix) of an s3://bucket/prefix location (the prefix without slashes at
    its ends, "" for none); None for anything else."""
    found = _BUCKET_URL.fullmatch(location)
    return None if found is None else (found.group(1), (found.group(2) or "").strip("/"))


class ObjectStoreSettings(BaseSettings):
    """An S3-compatible object store, for PHOTO_STORE=s3://…: the standard AWS variables.
    Unset ones are left to boto3's own chain (~/.aws, an instance's role)."""

    model_config = _ENV

    endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")
    access_key_id: str | None = Field(default=None, alias="AWS_ACCESS_KEY_ID")
    secret_access_key: SecretStr | None = Field(default=None, alias="AWS_SECRET_ACCESS_KEY")
    region: str | None = Field(default=None, alias="AWS_REGION")


class AnswerSettings(BaseSettings):
    """How the location answer is made."""

    model_config = _ENV

    nearest_sites: int = Field(default=5, alias="ANSWER_NEAREST_SITES")
    hazard_near_metres: float = Field(default=50.0, alias="ANSWER_HAZARD_NEAR_METRES")
    walking_metres_per_minute: float = Field(default=80.0, alias="ANSWER_WALKING_M_PER_MIN")
    hazard_map_url: str = Field(default="https://disaportal.gsi.go.jp/", alias="HAZARD_MAP_URL")
    nearest_facilities: int = Field(default=5, alias="ANSWER_NEAREST_FACILITIES")
    # The city's keyword table (CSV or YAML); the bundled one explains the bot itself.
    keyword_answers: Path = Field(
        default=PROJECT_DIR / "service" / "line" / "keywords.yaml", alias="KEYWORD_ANSWERS"
    )


SYMBOL_MAX = 2  # what fits in a map marker


class Category(BaseModel):
    """A report category or alert topic: a stable code, and the city's labels for the chat
    (at most 20 characters each): Japanese, English, and any other language of LANGUAGES
    the city gives (`labels`), shown through the vocabulary's `label`; a report category may
    carry a symbol of one or two characters for the crew map's markers."""

    code: str
    label_ja: str = Field(max_length=20)
    label_en: str = Field(max_length=20)
    symbol: str = Field(default="", max_length=SYMBOL_MAX)
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def texts(self) -> dict[str, str]:
        """Every label the city gave, by language code."""
        return {"ja": self.label_ja, "en": self.label_en, **self.labels}


class SettingsError(ValueError):
    """A setting the service cannot run with; the message names the variable and the entry."""


LABEL_MAX = 20  # LINE's limit on a quick reply's label
# Languages a label may be given in after the Japanese and the English ("zh-Hans:中文").
_MORE_LANGUAGES = [each.code for each in LANGUAGES if each.code not in ("ja", "en")]


def _more_labels(parts: list[str]) -> tuple[dict[str, str], str | None]:
    """The labels after the Japanese and English ones ("zh-Hans:道路坑洼"), by language code;
    or the problem with them."""
    found: dict[str, str] = {}
    for part in parts:
        code, colon, text = (piece.strip() for piece in part.partition(":"))
        known = next((c for c in _MORE_LANGUAGES if c.lower() == code.lower()), None)
        if not colon or known is None:
            return {}, (
                f"has the label {part!r}: after 日本語|English, write language:label with a "
                f"language of {', '.join(_MORE_LANGUAGES)}"
            )
        if not text:
            return {}, f"has an empty {known} label"
        if known in found:
            return {}, f"gives the {known} label twice"
        found[known] = text
    return found, None


def parse_labelled(spec: str, variable: str) -> list[Category]:
    """Parse "code=日本語|English;code=…" into labelled codes, in order; each entry may add
    the crew map's symbol and labels in other languages:
    "code=日本語|English|穴|zh-Hans:中文|ko:한국어". Raises SettingsError naming `variable` and
    the entry for an entry without "=", an empty code or label, a label over 20 characters, a
    symbol over 2, an unknown language, or a code given twice."""
    found: list[Category] = []
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        code, equals, labels = (part.strip() for part in item.partition("="))
        label_ja, label_en, *more = (*(part.strip() for part in labels.split("|")), "", "")
        # The one part after 日本語|English without "language:" is the marker's symbol.
        symbols = [part for part in more if part and ":" not in part]
        symbol = symbols[0] if symbols else ""
        others, problem = _more_labels([part for part in more if part and part not in symbols[:1]])
        form = "write code=日本語|English (or code=日本語|English|symbol), entries separated by ;"
        every = [label_ja, label_en, *others.values()]
        if not equals:
            problem = f"has no '=': {form}"
        elif not code:
            problem = f"has an empty code: {form}"
        elif not label_ja or not label_en:
            problem = f"has an empty {'Japanese' if not label_ja else 'English'} label: {form}"
        elif problem is None and len(longest := max(every, key=len)) > LABEL_MAX:
            problem = f"has a label of {len(longest)} characters: at most {LABEL_MAX} fit LINE"
        elif len(symbol) > SYMBOL_MAX:
            problem = f"has a symbol of {len(symbol)} characters: at most {SYMBOL_MAX} fit a marker"
        elif problem is None and any(c.code == code for c in found):
            problem = f"repeats the code {code!r}: each code once"
        if problem:
            raise SettingsError(f"{variable}: the entry {item!r} {problem}")
        found.append(
            Category(code=code, label_ja=label_ja, label_en=label_en, symbol=symbol, labels=others)
        )
    return found


DEFAULT_CATEGORIES = (
    "road=道路の穴・段差|Road damage|穴|ja-x-easy:みちの あな・だんさ|zh-Hans:道路坑洼・不平|"
    "zh-Hant:道路坑洞・不平|ko:도로 파손・단차|vi:Đường hư hỏng;"
    "streetlight=街路灯|Streetlight|灯|ja-x-easy:みちの あかり|zh-Hans:路灯|zh-Hant:路燈|"
    "ko:가로등|vi:Đèn đường;"
    "mirror_sign=カーブミラー・標識|Mirror or sign|標|ja-x-easy:みちの かがみ・ひょうしき|"
    "zh-Hans:道路反光镜・标志|zh-Hant:道路反射鏡・標誌|ko:도로반사경・표지판|vi:Gương, biển báo;"
    "park=公園の遊具・設備|Park equipment|園|ja-x-easy:こうえんの あそびどうぐ|zh-Hans:公园设施|"
    "zh-Hant:公園設施|ko:공원 놀이기구・시설|vi:Thiết bị công viên;"
    "graffiti=落書き|Graffiti|書|ja-x-easy:らくがき|zh-Hans:涂鸦|zh-Hant:塗鴉|ko:낙서|vi:Vẽ bậy;"
    "dumping=不法投棄|Illegal dumping|棄|ja-x-easy:かってに すてた ごみ|zh-Hans:非法丢弃垃圾|"
    "zh-Hant:非法棄置垃圾|ko:불법 투기|vi:Vứt rác trái phép;"
    "other=その他|Other|他|ja-x-easy:そのほか|zh-Hans:其他|zh-Hant:其他|ko:기타|vi:Khác"
)


class ReportSettings(BaseSettings):
    """Defect reports: categories, duplicates, limits, retention."""

    model_config = _ENV

    # "code=日本語|English;code=…": the city's own list.
    categories_spec: str = Field(default=DEFAULT_CATEGORIES, alias="REPORT_CATEGORIES")
    duplicate_metres: float = Field(default=30.0, alias="REPORT_DUPLICATE_METRES")
    per_hour: int = Field(default=5, alias="REPORTS_PER_HOUR")
    draft_minutes: float = Field(default=30.0, alias="REPORT_DRAFT_MINUTES")
    max_photos: int = Field(default=4, alias="REPORT_MAX_PHOTOS")
    photo_max_bytes: int = Field(default=10_000_000, alias="PHOTO_MAX_BYTES")
    # Processes that decode and re-encode photos beside each worker's event loop (one per
    # core); 0 does it in a thread of the worker.
    photo_processes: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=0, alias="PHOTO_PROCESSES"
    )
    description_max: int = Field(default=500, alias="REPORT_DESCRIPTION_MAX")
    retention_days: int = Field(default=365, alias="REPORT_RETENTION_DAYS")
    # A metric CRS for clustering (JGD2011 plane rectangular zone of the city; IX = Tokyo).
    metric_srid: int = Field(default=6677, alias="METRIC_SRID")

    @cached_property
    def categories(self) -> list[Category]:
        """The configured categories, in menu order (parsed once: asked for on every event)."""
        return parse_labelled(self.categories_spec, "REPORT_CATEGORIES")

    def check(self) -> None:
        """Refuse a REPORT_CATEGORIES the service cannot run with (SettingsError)."""
        if not self.categories:
            raise SettingsError("REPORT_CATEGORIES: no category (residents could not report)")

    def category(self, code: str) -> Category | None:
        """The category with this code, if configured."""
        return next((c for c in self.categories if c.code == code), None)


class OutboxSettings(BaseSettings):
    """The durable outbox of pushes to residents."""

    model_config = _ENV

    workers: int = Field(default=1, alias="OUTBOX_WORKERS")
    max_attempts: int = Field(default=8, alias="OUTBOX_MAX_ATTEMPTS")
    retry_base_seconds: float = Field(default=5.0, alias="OUTBOX_RETRY_BASE_SECONDS")
    poll_seconds: float = Field(default=1.0, alias="OUTBOX_POLL_SECONDS")
    lease_seconds: float = Field(default=60.0, alias="OUTBOX_LEASE_SECONDS")


class CrewSettings(BaseSettings):
    """Crew logins: sessions and login throttling."""

    model_config = _ENV

    # Browsers send a Secure cookie over HTTPS only: `civic dev` (plain HTTP on 127.0.0.1)
    # turns it off, everything else keeps it.
    cookie_secure: bool = Field(default=True, alias="CREW_COOKIE_SECURE")
    session_hours: float = Field(default=12.0, gt=0, alias="CREW_SESSION_HOURS")
    # Failed logins for one name from one address (a typo, a guesser at one place).
    login_max_failures: int = Field(default=5, ge=1, alias="CREW_LOGIN_MAX_FAILURES")
    login_window_seconds: int = Field(default=900, ge=1, alias="CREW_LOGIN_WINDOW_SECONDS")
    # Failed logins for one name from everywhere, which stop attempts only from addresses
    # the account has not signed in from lately: a guesser spread over many addresses is
    # slowed down without locking out the office.
    login_name_max_failures: int = Field(default=50, ge=1, alias="CREW_LOGIN_NAME_MAX_FAILURES")
    login_name_window_seconds: int = Field(
        default=3600, ge=1, alias="CREW_LOGIN_NAME_WINDOW_SECONDS"
    )


DEFAULT_TOPICS = (
    "disaster=防災・災害|Disasters|ja-x-easy:さいがい|zh-Hans:防灾・灾害|zh-Hant:防災・災害|"
    "ko:방재・재해|vi:Thiên tai;"
    "roads=道路・公園|Roads and parks|ja-x-easy:みち・こうえん|zh-Hans:道路・公园|"
    "zh-Hant:道路・公園|ko:도로・공원|vi:Đường và công viên;"
    "events=イベント|Events|ja-x-easy:イベント|zh-Hans:活动|zh-Hant:活動|ko:행사|vi:Sự kiện"
)


class AlertSettings(BaseSettings):
    """Area alerts: the topics residents choose from, and the multicast batches."""

    model_config = _ENV

    # "code=日本語|English;…", like REPORT_CATEGORIES.
    topics_spec: str = Field(default=DEFAULT_TOPICS, alias="ALERT_TOPICS")
    # Topics a resident gets when registering an area, until they change them.
    default_topics: str = Field(default="disaster", alias="ALERT_DEFAULT_TOPICS")
    # LINE's multicast takes at most 500 user IDs.
    batch_size: int = Field(default=500, ge=1, le=500, alias="ALERT_BATCH_SIZE")

    @cached_property
    def topics(self) -> list[Category]:
        """The configured topics, in menu order."""
        return parse_labelled(self.topics_spec, "ALERT_TOPICS")

    def check(self) -> None:
        """Refuse a bad ALERT_TOPICS, or an ALERT_DEFAULT_TOPICS entry that is not one of its
        topics (SettingsError). No topic at all is allowed: alerts are then off."""
        known = [topic.code for topic in self.topics]
        for code in filter(None, (part.strip() for part in self.default_topics.split(","))):
            if code not in known:
                raise SettingsError(
                    f"ALERT_DEFAULT_TOPICS: {code!r} is not a topic of ALERT_TOPICS "
                    f"({', '.join(known) or 'none configured'})"
                )


class Open311Settings(BaseSettings):
    """The Open311 GeoReport v2 endpoint."""

    model_config = _ENV

    jurisdiction_id: str = Field(default="city.kita.tokyo.jp", alias="OPEN311_JURISDICTION_ID")
    contact: str = Field(default="", alias="OPEN311_CONTACT")
    # The spec's defaults: at most 1000 requests and 90 days per query.
    max_requests: int = Field(default=1000, alias="OPEN311_MAX_REQUESTS")
    max_days: int = Field(default=90, alias="OPEN311_MAX_DAYS")
    # Filings per API key per hour: a runaway partner system must not flood the crews.
    per_key_hour: int = Field(default=1000, ge=1, alias="OPEN311_REQUESTS_PER_HOUR")


class OpsSettings(BaseSettings):
    """Logs, metrics and readiness."""

    model_config = _ENV

    log_format: str = Field(default="text", pattern="^(text|json)$", alias="LOG_FORMAT")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # When set, /metrics needs `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(default=None, alias="METRICS_TOKEN")
    # /readyz fails when the oldest due inbox event has waited longer than this.
    ready_max_inbox_lag_seconds: float = Field(default=60.0, alias="READY_MAX_INBOX_LAG_SECONDS")


# GSI's tiles (地理院タイル): the pale map by default, the standard map and the seamless
# photos (which show road surfaces) to switch to. GSI asks for the credit 「地理院タイル」
# linked to its list of tiles, visible whenever the tiles are.
GSI_TILES = "https://cyberjapandata.gsi.go.jp/xyz"
GSI_ATTRIBUTION = "地理院タイル https://maps.gsi.go.jp/development/ichiran.html"


class MapSettings(BaseSettings):
    """The crew maps' base map: GSI's tiles unless a city names its own (or `none`)."""

    model_config = _ENV

    # An XYZ template ("https://tiles.example.lg.jp/{z}/{x}/{y}.png"), or "none". Unset: GSI.
    basemap_url: str | None = Field(default=None, alias="BASEMAP_URL")
    # The credit the tiles' terms ask for, as text, optionally ending with the terms' URL
    # (the credit then links to it).
    basemap_attribution: str = Field(default="", alias="BASEMAP_ATTRIBUTION")

    @field_validator("basemap_url")
    @classmethod
    def _a_tile_template(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() in ("", "none"):
            return None if value is None else "none"
        value = value.strip()
        if not re.fullmatch(r"https?://[^\s/?#]+/\S*", value) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            raise ValueError(
                "not an XYZ tile template: write one like "
                "https://tiles.example.lg.jp/{z}/{x}/{y}.png, or none"
            )
        return value

    def check(self) -> None:
        """Refuse a city's own tiles without their credit (SettingsError)."""
        if self.basemap_url not in (None, "none") and not self.basemap_attribution.strip():
            raise SettingsError(
                "BASEMAP_ATTRIBUTION: the tiles of BASEMAP_URL need the credit their terms "
                "ask for (text, optionally followed by the terms' URL)"
            )


class PageSettings(BaseSettings):
    """The web pages: a city's own templates."""

    model_config = _ENV

    # A folder of Jinja templates that win over the bundled ones of the same name.
    template_dir: DirectoryPath | None = Field(default=None, alias="TEMPLATE_DIR")


class ServerSettings(BaseSettings):
    """Where the app listens."""

    model_config = _ENV

    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, alias="PORT")
    # The path prefix a reverse proxy serves the app under and strips ("/civic"): links,
    # redirects and cookies then carry it.
    root_path: str = Field(default="", alias="ROOT_PATH")
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or networks,
    # comma-separated, or "*". Empty: none, the connecting address is the client's.
    forwarded_allow_ips: str = Field(default="", alias="FORWARDED_ALLOW_IPS")
    # Larger request bodies get 413 before they are read (the webhook and photo uploads
    # have limits of their own).
    max_body_bytes: int = Field(default=1_000_000, ge=1, alias="REQUEST_MAX_BODY_BYTES")

    @field_validator("root_path")
    @classmethod
    def _a_path_prefix(cls, value: str) -> str:
        if value and not re.fullmatch(r"(/[^/\s?#]+)+", value):
            raise ValueError("not a path prefix: leave it empty, or write one like /civic")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for entry in filter(None, (part.strip() for part in value.split(","))):
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry!r} is no address or network: write e.g. 127.0.0.1,10.0.0.0/8"
                    ) from None
        return value

    @property
    def trusted_proxies(self) -> list[str]:
        """The entries of FORWARDED_ALLOW_IPS."""
        return [part.strip() for part in self.forwarded_allow_ips.split(",") if part.strip()]

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
    objects: ObjectStoreSettings
    answer: AnswerSettings
    reports: ReportSettings
    outbox: OutboxSettings
    crew: CrewSettings
    alerts: AlertSettings
    open311: Open311Settings
    ops: OpsSettings
    pages: PageSettings
    server: ServerSettings
    maps: MapSettings

    @classmethod
    def from_env(cls) -> Settings:
        """Read every part from the environment."""
        return cls(
            database=DatabaseSettings(),
            line=LineSettings(),
            inbox=InboxSettings(),
            data=DataSettings(),
            objects=ObjectStoreSettings(),
            answer=AnswerSettings(),
            reports=ReportSettings(),
            outbox=OutboxSettings(),
            crew=CrewSettings(),
            alerts=AlertSettings(),
            open311=Open311Settings(),
            ops=OpsSettings(),
            pages=PageSettings(),
            server=ServerSettings(),
            maps=MapSettings(),
        )

    def check(self) -> None:
        """Refuse list settings the service cannot run with: SettingsError naming the variable
        and the entry (the other settings were checked when read)."""
        self.reports.check()
        self.alerts.check()
        self.maps.check()

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
