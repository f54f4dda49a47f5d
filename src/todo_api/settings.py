"""The one settings class: environment variables, then an optional `.env`, then defaults.

Secrets are `SecretStr` so they never show in a repr or a log. The database URL is kept raw
here and normalised by the composition root, which owns the adapter. A model validator
refuses what must not start, so a `Settings` that exists is one the app may start with.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from todo_core.mail import SmtpTls

_PLACEHOLDER_SECRETS = {"change-me", "changeme", "secret", "your-secret-key-here", "jwt-secret"}
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """A setting stops the start; the message names it and never holds its value (pydantic
    reports it inside a ValidationError)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        env_ignore_empty=True,
        # A refusal names the setting, never its value: without this, pydantic prints the
        # whole input (secrets and the database password included) beside a model check.
        hide_input_in_errors=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    log_level: str | None = None  # default: INFO in development, WARNING in production
    log_format: Literal["text", "json"] | None = None  # default: json in production, else text
    access_log: bool = True  # one line per request (logger todo.access), whatever LOG_LEVEL
    # Prometheus metrics at /metrics; off unless asked. With METRICS_TOKEN set, scrapes must
    # send `Authorization: Bearer <token>`.
    metrics_enabled: bool = False
    metrics_token: SecretStr | None = None

    database_url: SecretStr | None = None
    migration_database_url: SecretStr | None = None  # default: DATABASE_URL's direct endpoint
    # The seeds' 15 sessions (5 + 10), all kept: overflow sessions close on return, which
    # opened ~100 PostgreSQL sessions per 10 s at 8 clients (see todo_core.postgres.engine).
    db_pool_size: int = Field(default=15, ge=1, le=100)
    db_max_overflow: int = Field(default=0, ge=0, le=100)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    db_pool_recycle: int = Field(default=3600, ge=-1)
    db_pool_pre_ping: bool = True
    db_ping_after_idle: float = Field(default=30.0, ge=0)  # seconds; 0: ping every checkout
    db_connect_timeout: int = Field(default=10, ge=1)
    db_statement_timeout_ms: int = Field(default=30_000, ge=0)
    db_lock_timeout_ms: int = Field(default=2_000, ge=1)  # a row-lock wait then answers 503
    db_pooled: bool | None = None  # None: detect Neon's `-pooler` host
    db_connect_attempts: int | None = Field(default=None, ge=1)  # default: 5 prod, 1 dev
    db_echo: bool = False

    jwt_secret: SecretStr | None = None
    password_hash_rounds: int = Field(default=12, ge=4, le=16)  # bcrypt cost factor
    # Access tokens are short-lived: revocation (logout, password change) is otherwise only as
    # quick as their expiry; refresh tokens keep a session going.
    jwt_expire_minutes: int = Field(default=15, ge=1, le=7 * 24 * 60)
    refresh_token_expire_days: int = Field(default=30, ge=1, le=365)  # since the last refresh
    password_reset_expire_minutes: int = Field(default=60, ge=5, le=24 * 60)
    email_verification_expire_hours: int = Field(default=48, ge=1, le=30 * 24)
    jwt_issuer: str = "todo"
    # An external identity provider's JWKS, e.g. Better Auth's https://app.example/api/auth/jwks
    jwks_url: str | None = None
    jwks_issuer: str | None = None  # default: the origin of JWKS_URL (Better Auth's default)
    jwks_audience: str | None = None  # default: the origin of JWKS_URL (Better Auth's default)
    jwks_cache_seconds: float = Field(default=300, gt=0)  # how long a fetched JWKS is used
    # A token with an unknown `kid` refetches the JWKS at most this often (key rotation)
    jwks_min_refetch_seconds: float = Field(default=5, ge=0)
    jwks_timeout_seconds: float = Field(default=5, gt=0)

    # Where clients reach this API (the base of links in emails, and of the MCP endpoint's
    # protected-resource metadata).
    public_url: str = "http://127.0.0.1:8000"
    # Account emails. Without SMTP_HOST, development writes them (links included) to the log;
    # production drops them with a warning at start.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: SmtpTls = SmtpTls.STARTTLS
    smtp_timeout: float = Field(default=10.0, gt=0)
    email_from: str = "todo <no-reply@localhost>"

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Addresses whose X-Forwarded-For/-Proto are believed (uvicorn's FORWARDED_ALLOW_IPS):
    # comma-separated IPs or CIDR networks, `*` for any (only when nothing else can reach the
    # app, as behind Render's or Fly's proxy). Everyone else's headers are ignored.
    forwarded_allow_ips: str = "127.0.0.1"
    # Failed logins allowed per minute, per account and per client address, counted in
    # PostgreSQL for the whole deployment (see todo_api.throttle); one address may try several
    # accounts, hence more.
    login_attempts_per_minute: int = Field(default=10, ge=1)
    login_attempts_per_minute_per_address: int = Field(default=50, ge=1)
    # Sync: how long a write's Idempotency-Key answers its retries, how long deleted tasks
    # stay in the change feed as tombstones (older cursors get 410), and how often expired
    # keys and tombstones are purged (in the background, in small batches).
    idempotency_key_hours: int = Field(default=24, ge=24, le=24 * 365)
    tombstone_retention_days: int = Field(default=30, ge=1, le=3650)
    purge_interval_seconds: int = Field(default=600, ge=1)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # CORS_ORIGINS=https://a.example,https://b.example
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("JWKS_URL must be an http(s) URL")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (self.log_format is None and self.is_production)

    @model_validator(mode="after")
    def _refuse_an_unsafe_start(self) -> Self:
        """Weak secrets in production, wildcard CORS with credentials."""
        if self.is_production:
            _check_secret(self.jwt_secret)
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise SettingsError("CORS_ORIGINS may not contain '*' when credentials are allowed")
        if 0 < self.db_statement_timeout_ms <= self.db_lock_timeout_ms:
            raise SettingsError("DB_LOCK_TIMEOUT_MS must be below DB_STATEMENT_TIMEOUT_MS")
        return self


def _check_secret(secret: SecretStr | None) -> None:
    value = secret.get_secret_value() if secret else ""
    if not value:
        raise SettingsError("JWT_SECRET is not set; production needs one of 32+ random characters")
    if len(value) < MIN_SECRET_LENGTH or value.lower() in _PLACEHOLDER_SECRETS:
        raise SettingsError("JWT_SECRET is too weak; use at least 32 random characters")
    if len(set(value)) < 8:
        raise SettingsError("JWT_SECRET is too weak: it repeats too few characters")
