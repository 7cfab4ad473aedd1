"""Typed settings: environment first, then `.env`, then the default. The only module that reads os.environ.

Every variable is prefixed `NU3D_` except the Shopify app credentials, which keep Shopify's own names
(`SHOPIFY_API_KEY`, `SHOPIFY_API_SECRET`) so they match the Shopify CLI's environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHOPIFY_API_VERSION = "2026-10"
T = TypeVar("T", bound="DatabaseSettings")
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "REPLACE_ME"}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and is safe to print."""


def env_var_name(field_name: str, model: type[BaseSettings]) -> str:
    for field in model.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices) and field_name in field.validation_alias.choices:
            return field_name
    field = model.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        return str(field.validation_alias.choices[0])
    prefix = model.model_config.get("env_prefix", "")
    return f"{prefix}{field_name}".upper()


def _explain(err: ValidationError, model: type[BaseSettings]) -> ConfigError:
    problems = []
    for item in err.errors():
        name = env_var_name(str(item["loc"][0]), model) if item["loc"] else "settings"
        if item["type"] == "missing":
            problems.append(f"{name} is required but not set (environment or .env)")
        else:
            problems.append(f"{name} is invalid: {item['msg']}")
    return ConfigError("; ".join(problems))


def mask_url_password(url: str) -> str:
    """`scheme://user:***@host/...`: URLs may carry credentials, which must not reach logs or reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


_URL_FIELDS = frozenset({"database_url", "redis_url", "storage_url", "s3_endpoint_url"})


class DatabaseSettings(BaseSettings):
    """What the database commands (`nu3d db ...`) need: no secrets."""

    model_config = SettingsConfigDict(env_prefix="NU3D_", env_file=".env", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/nu3d.db"
    var_dir: Path = Path("./var")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if not value or not scheme:
            raise ValueError("expected a URL such as sqlite:///./var/nu3d.db or postgresql://user@host/db")
        if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
            # One driver for PostgreSQL everywhere: psycopg 3.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if scheme in {"sqlite", "sqlite+pysqlite"}:
            return value
        raise ValueError(f"unsupported database scheme {scheme!r}; use sqlite:/// or postgresql://")

    def __repr_args__(self):  # noqa: ANN204 - pydantic's signature
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                value = mask_url_password(value)
            yield name, value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class Settings(DatabaseSettings):
    """Everything a running process needs. Secrets are `SecretStr`: masked in reprs and logs."""

    # Public base URL of the app (what Shopify and browsers reach); also where signed file URLs point.
    app_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    secret_key: SecretStr  # signs file URLs, cookies and OAuth state
    token_encryption_key: SecretStr  # Fernet key that encrypts Shopify tokens at rest

    shopify_api_key: str = Field(validation_alias=AliasChoices("SHOPIFY_API_KEY", "NU3D_SHOPIFY_API_KEY"))
    shopify_api_secret: SecretStr = Field(
        validation_alias=AliasChoices("SHOPIFY_API_SECRET", "NU3D_SHOPIFY_API_SECRET")
    )
    shopify_scopes: str = "read_products,write_products,write_files"
    # Where the Admin API lives; None means the real https://{shop}. The devstore sets it to its loopback URL.
    shopify_admin_base: str | None = None

    storage_url: str = "./var/files"  # a directory, or s3://bucket/prefix
    s3_endpoint_url: str | None = None  # for S3-compatible stores (MinIO, moto, R2...)
    s3_region: str = "us-east-1"
    signed_url_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    redis_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False

    engine_device: str = "auto"  # auto | cpu | cuda | cuda:N

    # Generation jobs (issue 6). A lease outlives several missed heartbeats before the reaper takes it back.
    job_lease_s: float = Field(default=60.0, gt=0)
    job_heartbeat_s: float = Field(default=10.0, gt=0, le=10)
    job_cancel_grace_s: float = Field(default=10.0, ge=0)
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    job_retry_base_s: float = Field(default=5.0, ge=0)  # backoff = min(cap, base * 2**attempt) * U(0.5, 1)
    job_retry_cap_s: float = Field(default=300.0, ge=0)
    job_max_active_per_key: int = Field(default=20, ge=1)
    job_engine: Literal["real", "fake"] = "real"  # "fake": a trivial engine for queue tests and benchmarks
    # Image URLs are fetched only from public addresses; these host[:port] entries are let through anyway
    # (e.g. the devstore's CDN on loopback). Comma-separated.
    fetch_allow_hosts: str = ""
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    # Rate limits ("N/second|minute|hour"; "" switches a family off). Per IP on the seed routes, per key on /api/v1.
    rate_limit_store: str = "60/minute"
    rate_limit_api: str = "600/minute"
    sse_ping_s: float = Field(default=15.0, gt=0)
    # Webhooks older than this (X-Shopify-Triggered-At, or a product payload's signed updated_at) are refused
    # as replays: Shopify retries for 4 h and may delay a delivery up to a day.
    webhook_max_age_s: float = Field(default=24 * 3600.0, ge=60)

    @field_validator("secret_key", "shopify_api_secret", "token_encryption_key")
    @classmethod
    def _no_placeholder(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value().strip() in PLACEHOLDER_SECRETS:
            raise ValueError("is empty or a placeholder; set a real secret")
        return value

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr) -> SecretStr:
        from cryptography.fernet import Fernet

        try:
            Fernet(value.get_secret_value().encode())
        except Exception:
            raise ValueError(
                "must be a Fernet key (32 url-safe base64 bytes); make one with "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
        return value

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, value: str) -> str:
        if value.startswith("s3://"):
            bucket = urlsplit(value).netloc
            if not bucket:
                raise ValueError("s3:// URL needs a bucket, e.g. s3://my-bucket/nu3d")
        elif "://" in value and not value.startswith("file://"):
            raise ValueError("expected a directory path, file://path or s3://bucket/prefix")
        return value

    @field_validator("app_url", "shopify_admin_base")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("expected an http(s):// URL")
        return value.rstrip("/")


def load_settings(environ: dict[str, str] | None = None, *, env_file: str | None = ".env") -> Settings:
    """Build Settings, turning validation errors into one ConfigError that names each variable.

    Tests pass `environ` explicitly instead of touching os.environ.
    """
    return _load(Settings, environ, env_file)


def load_database_settings(
    environ: dict[str, str] | None = None, *, env_file: str | None = ".env"
) -> DatabaseSettings:
    return _load(DatabaseSettings, environ, env_file)


def _load(model: type[T], environ: dict[str, str] | None, env_file: str | None) -> T:
    try:
        if environ is None:
            return model(_env_file=env_file)  # type: ignore[call-arg]
        # An explicit mapping: read it instead of os.environ (and no .env), for tests and tools.
        values = {}
        for name in model.model_fields:
            key = env_var_name(name, model)
            alt = f"NU3D_{name}".upper()
            if key in environ:
                values[name] = environ[key]
            elif alt in environ:
                values[name] = environ[alt]
        return model.model_validate(values)
    except ValidationError as err:
        raise _explain(err, model) from None
