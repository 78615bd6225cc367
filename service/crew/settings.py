"""Settings of crew logins and sessions (environment variables CREW_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CrewSettings(BaseSettings):
    """Crew sessions and login throttling."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True)

    # Browsers send a Secure cookie over HTTPS only: `civic dev` (plain HTTP on 127.0.0.1)
    # turns it off, everything else keeps it.
    cookie_secure: bool = Field(default=True, alias="CREW_COOKIE_SECURE")
    session_hours: float = Field(default=12.0, gt=0, alias="CREW_SESSION_HOURS")
    login_max_failures: int = Field(default=5, ge=1, alias="CREW_LOGIN_MAX_FAILURES")
    login_window_seconds: int = Field(default=900, ge=1, alias="CREW_LOGIN_WINDOW_SECONDS")
