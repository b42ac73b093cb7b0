"""Settings, read once from ``ASYNCGATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASYNCGATE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/asyncgate.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8080, description="Port `serve` listens on.")
    dev: bool = Field(
        default=False,
        description="Development mode: relaxes callout URL rules. Also set by `serve --dev`.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key for secrets stored encrypted. When unset, one is generated and kept "
        "in `<data dir>/secret.key`.",
    )
    data_dir: Path = Field(
        default=Path("./var"), description="Folder for the generated secret key and local files."
    )
    bootstrap_client_id: str | None = Field(
        default=None,
        description="OAuth client ID created with tenant `default` on first start "
        "(a 36-character UUID; generated and printed once when unset).",
    )
    bootstrap_client_secret: SecretStr | None = Field(
        default=None,
        description="Secret of the bootstrap client (at most 42 characters; generated when unset).",
    )
    bootstrap_admin_email: str = Field(
        default="admin@example.com", description="Email of the administrator created on first start."
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the bootstrap administrator (generated and printed when unset).",
    )
    token_lifetime: timedelta = Field(
        default=timedelta(hours=1), description="Lifetime of OAuth bearer tokens."
    )
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        description="Largest request body accepted, after gzip inflation (413 beyond).",
    )
    db_pool_size: int = Field(default=10, description="Connections per process (PostgreSQL).")
    sqlite_busy_timeout: timedelta = Field(
        default=timedelta(seconds=30), description="How long SQLite waits for the write lock."
    )
    log_level: str = Field(default="info", description="Log level of the service.")

    @field_validator("token_lifetime", "sqlite_busy_timeout", mode="before")
    @classmethod
    def _seconds_as_duration(cls, value: object) -> object:
        """Durations may be given as plain seconds (``30``) as well as ISO-8601 (``PT30S``)."""
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
