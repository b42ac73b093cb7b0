"""Settings, read once from ``ASYNCGATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_SCHEME = "sqlite://"
SQLITE_ENGINE_SCHEME = "sqlite+aiosqlite://"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASYNCGATE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///./var/asyncgate.db",
        description="sqlite:///path or postgresql+asyncpg://user:pass@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8080, description="Port `serve` listens on.")
    keep_alive_seconds: int = Field(
        default=75,
        gt=0,
        description="How long `serve` keeps an idle client connection open. Longer than the "
        "idle expiry of client pools and load balancers (5 s for httpx, 60 s for many balancers), "
        "so that the client, not the server, closes an idle connection: a server closing it "
        "first races the client's next request on it, which fails unsent.",
    )
    dev: bool = Field(
        default=False,
        description="Development mode: turns on every callout relaxation below (http://, "
        "private addresses, explicit ports) and sends the console's cookies over plain HTTP. "
        "Also set by `serve --dev`.",
    )
    error_statuses: Literal["zuora", "http"] = Field(
        default="zuora",
        description="`zuora`: a failed `/v1` REST call is answered as Zuora answers it, HTTP 200 "
        'with `"success": false` (401, 403, 413, 415, 429, 5xx, unknown paths and the CRUD, '
        "Actions and notification families keep their statuses). `http`: 400, 404 and 409 "
        "instead, for teams who prefer plain HTTP statuses.",
    )
    zuora_strict: bool = Field(
        default=False,
        description="Turn off every extension to Zuora's API: the async-request status "
        "resource (`/v1/async-requests/{id}`), the callout settings endpoints, `Location` and "
        "`Retry-After` on 202 accepts, and the fields Zuora does not send in callout history, "
        "so that tests prove an integration uses only what Zuora offers.",
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
        default="admin@example.com",
        description="Email of the administrator created on first start.",
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
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that Prometheus scrapes `GET /metrics` with; "
        "unset, the endpoint does not exist.",
    )
    db_pool_size: int = Field(default=10, description="Connections per process (PostgreSQL).")
    sqlite_busy_timeout: timedelta = Field(
        default=timedelta(seconds=30), description="How long SQLite waits for the write lock."
    )
    log_level: str = Field(default="info", description="Log level of the service.")

    serve_workers: bool = Field(
        default=True,
        description="Whether `serve` also executes async requests, in a worker process it "
        "supervises (turn off when separate `asyncgate worker` processes do it).",
    )
    serve_sender_process: bool = Field(
        default=False,
        description="Whether `serve` delivers callouts in a process of their own beside its "
        "worker process, which hands them over as its commits make them, so that execution "
        "and delivery each have a CPU: more callouts per second under a backlog, for more CPU "
        "per callout. Worth it with CPUs to spare beyond two.",
    )
    worker_concurrency: int = Field(
        default=1,
        ge=1,
        description="Claim loops per worker process. SQLite has one writer, so 1 is right there; "
        "raise it on PostgreSQL.",
    )
    worker_batch_size: int = Field(
        default=50, ge=1, description="Requests a worker claims and commits together."
    )
    worker_batch_wait: timedelta = Field(
        default=timedelta(milliseconds=20),
        description="How long a busy worker (its last claim found requests, but fewer than a "
        "batch) lets the next batch gather before it claims again. Larger batches cost less "
        "CPU and disk per request; a worker that was idle still starts a request at once. "
        "0 claims again at the next commit.",
    )
    worker_lease: timedelta = Field(
        default=timedelta(seconds=60),
        description="How long a claimed request, or a callout being sent, stays a worker's "
        "before others may reclaim it (extended while the worker lives).",
    )
    worker_poll_interval: timedelta = Field(
        default=timedelta(seconds=1),
        description="How often idle workers look for due requests they were not woken for.",
    )
    worker_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How far `asyncgate worker` lowers its own CPU priority (nice). On a "
        "machine short of CPU, accepts and other API calls are then served before execution.",
    )
    worker_io_class: Literal["idle", "best-effort"] = Field(
        default="idle",
        description="The disk I/O class of `asyncgate worker` (Linux). `idle`: on disks whose "
        "I/O scheduler honours classes (mq-deadline, bfq), the API's commits, the accepts' "
        "among them, are written before the worker's. `best-effort` shares the disk evenly, "
        "for a disk that other busy programs share.",
    )
    request_timeout: timedelta = Field(
        default=timedelta(seconds=120),
        description="Time limit of a synchronous request (a 504 beyond, as Zuora's 120 s) and "
        "of one execution of an async request (a transient failure beyond).",
    )
    request_retention: timedelta = Field(
        default=timedelta(days=7),
        ge=timedelta(0),
        description="How long a finished async request (its state and synchronous answer) "
        "stays readable after its accept; the workers then delete it, and its idempotency key "
        "may be used again. 0 keeps finished requests forever.",
    )
    idempotency_key_lifetime: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="How long the answer to a synchronous request with an `Idempotency-Key` is "
        "replayed (Zuora: 24 hours); the workers then delete it, and the key may be used again.",
    )
    retry_max_attempts: int = Field(
        default=5, ge=1, description="Executions of an async request before it fails for good."
    )
    retry_base_delay: timedelta = Field(
        default=timedelta(seconds=1),
        description="Delay before the first retry; doubles each attempt, with +-20% jitter.",
    )
    retry_max_delay: timedelta = Field(
        default=timedelta(minutes=5), description="Longest delay between two attempts."
    )

    tenant_concurrent_requests: int = Field(
        default=40,
        ge=0,
        description="Uncompleted synchronous /v1 requests a tenant may have at once across "
        "every process, in Zuora's Default pool (0: no limit).",
    )
    tenant_high_volume_concurrent_requests: int = Field(
        default=200,
        ge=0,
        description="The same for Zuora's high-volume transactions: creating an account, "
        "creating or previewing an order (0: no limit).",
    )
    tenant_concurrent_retry_after: timedelta = Field(
        default=timedelta(seconds=120),
        description="Retry-After of an answer refused for the concurrency limit.",
    )
    tenant_requests_per_minute: int = Field(
        default=50_000,
        ge=0,
        description="Synchronous /v1 requests per tenant per clock minute across every "
        "process, async executions included (0: no limit).",
    )
    tenant_requests_per_hour: int = Field(
        default=2_250_000, ge=0, description="The same per clock hour (0: no limit)."
    )
    tenant_requests_per_day: int = Field(
        default=27_000_000, ge=0, description="The same per UTC day (0: no limit)."
    )
    async_accepts_per_minute: int = Field(
        default=500_000,
        ge=0,
        description="Async requests (/v1/async/...) a tenant may submit per clock minute "
        "(0: no limit).",
    )
    token_requests_per_minute_per_client: int = Field(
        default=2_000,
        ge=0,
        description="POST /oauth/token requests per client_id per clock minute (0: no limit).",
    )
    token_requests_per_minute_per_ip: int = Field(
        default=100,
        ge=0,
        description="POST /oauth/token requests per client IP per clock minute (0: no limit).",
    )

    callout_allow_http: bool = Field(
        default=False, description="Callout URLs may use http:// (development; on with --dev)."
    )
    callout_allow_private_addresses: bool = Field(
        default=False,
        description="Callout hosts may resolve to loopback, private and other non-public "
        "addresses (development; on with --dev).",
    )
    callout_allow_ports: bool = Field(
        default=False,
        description="Callout URLs may name a port (development; on with --dev).",
    )
    callout_ca_bundle: FilePath | None = Field(
        default=None,
        description="PEM file of extra certificate authorities callout receivers are verified "
        "against, besides the system's (a local TLS receiver's test CA).",
    )
    callout_connect_timeout: timedelta = Field(
        default=timedelta(seconds=10),
        description="Time limit to resolve a callout host (also when a definition is saved) "
        "and connect to it.",
    )
    callout_timeout: timedelta = Field(
        default=timedelta(seconds=30),
        description="Time limit of one callout attempt, from connecting to the end of the answer.",
    )
    callout_default_max_attempts: int = Field(
        default=3,
        ge=1,
        le=5,
        description="Delivery attempts of a callout for tenants that did not choose (1 to 5).",
    )
    callout_default_min_interval_minutes: int = Field(
        default=30,
        ge=1,
        le=1440,
        description="Minutes between two attempts of a callout for tenants that did not choose "
        "(1 to 1440).",
    )
    callout_interval_unit: timedelta = Field(
        default=timedelta(minutes=1),
        description="How long one minute of a tenant's callout interval lasts: tests shorten it "
        "so retries need not wait for minutes.",
    )
    callout_concurrency: int = Field(
        default=100, ge=1, description="Callouts a worker process sends at once."
    )
    callout_concurrency_per_origin: int = Field(
        default=50,
        ge=1,
        description="Callouts a worker process sends at once to one receiver (scheme, host and "
        "port): a slow or hanging receiver holds at most this many of the sending slots. As "
        "many as a batch of requests makes, so that they go out together, not in waves.",
    )
    callout_poll_interval: timedelta = Field(
        default=timedelta(seconds=1),
        description="How often idle callout senders look for work they were not woken for.",
    )
    callout_signing_grace: timedelta = Field(
        default=timedelta(hours=24),
        description="How long a rotated-out signing secret keeps signing callouts beside the "
        "new one.",
    )

    console_secure_cookies: bool = Field(
        default=True,
        description="Whether the console's cookies are marked Secure (sent over HTTPS only). "
        "Turn off only to use the console over plain HTTP; `--dev` turns it off.",
    )
    console_session_idle_timeout: timedelta = Field(
        default=timedelta(minutes=30),
        description="A console session ends after this long without a request.",
    )
    console_session_lifetime: timedelta = Field(
        default=timedelta(hours=12),
        description="A console session ends this long after sign-in, however active.",
    )
    console_sign_in_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed console sign-ins of one user (five times as many from one client "
        "address) before further attempts are refused for the lockout period.",
    )
    console_sign_in_lockout: timedelta = Field(
        default=timedelta(minutes=15),
        description="The window failed console sign-ins are counted in, and how long a lockout "
        "lasts.",
    )

    @field_validator(
        "token_lifetime",
        "sqlite_busy_timeout",
        "worker_batch_wait",
        "worker_lease",
        "worker_poll_interval",
        "request_timeout",
        "request_retention",
        "idempotency_key_lifetime",
        "retry_base_delay",
        "retry_max_delay",
        "tenant_concurrent_retry_after",
        "callout_connect_timeout",
        "callout_timeout",
        "callout_interval_unit",
        "callout_poll_interval",
        "callout_signing_grace",
        "console_session_idle_timeout",
        "console_session_lifetime",
        "console_sign_in_lockout",
        mode="before",
    )
    @classmethod
    def _seconds_as_duration(cls, value: object) -> object:
        """Durations may be given as plain seconds (``30``) as well as ISO-8601 (``PT30S``)."""
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _no_other_sqlite_driver(cls, url: str) -> str:
        """``sqlite+aiosqlite:///path``, the form of earlier releases, still names the same
        database; another SQLite driver is refused, since it would not be the one that runs."""
        if url.startswith("sqlite+") and not url.startswith(SQLITE_ENGINE_SCHEME):
            raise ValueError(f"a SQLite database is {SQLITE_SCHEME}/path, not {url}")
        return url

    @property
    def engine_url(self) -> str:
        """The URL SQLAlchemy's engine is made with. On SQLite its aiosqlite dialect compiles
        the statements and asyncgate's own driver (``db/sqlite_on_loop.py``) runs them; the
        aiosqlite package runs none."""
        if self.database_url.startswith(SQLITE_SCHEME):
            return SQLITE_ENGINE_SCHEME + self.database_url.removeprefix(SQLITE_SCHEME)
        return self.database_url

    @property
    def console_cookies_secure(self) -> bool:
        return self.console_secure_cookies and not self.dev

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
