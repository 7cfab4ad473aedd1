"""Typed settings: environment first, then `.env`, then the default. The only module that reads os.environ.

Every variable is prefixed `NU3D_` except the Shopify app credentials, which keep Shopify's own names
(`SHOPIFY_API_KEY`, `SHOPIFY_API_SECRET`) so they match the Shopify CLI's environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
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
    named = model.model_fields.get(field_name)
    if named is not None and isinstance(named.validation_alias, AliasChoices):
        return str(named.validation_alias.choices[0])
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
    # At least two full batches (25 files each), so a documented batch always fits an idle key.
    job_max_active_per_key: int = Field(default=50, ge=1)
    # "real", or a plug-in engine `package.module:factory` (shop_app.worker.engines; the tests plug one in).
    job_engine: str = Field(default="real", pattern=r"^(real|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")
    # Samples per pixel side of platform renders (2 = smooth edges; 1 is 4x cheaper on a CPU-only worker).
    platform_render_supersample: int = Field(default=2, ge=1, le=4)
    # Image URLs are fetched only from public addresses; these host[:port] entries are let through anyway
    # (e.g. the devstore's CDN on loopback). Comma-separated.
    fetch_allow_hosts: str = ""
    fetch_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    fetch_timeout_s: float = Field(default=20.0, gt=0)
    # Rate limits ("N/second|minute|hour"; "" switches a family off). Per IP on the seed routes, per key on /api/v1.
    rate_limit_store: str = "60/minute"
    rate_limit_api: str = "600/minute"
    rate_limit_text: str = "20/minute"  # per IP on the open text-to-image / text-to-3d routes (paid calls)
    rate_limit_image2model: str = "60/minute;1000/hour"  # per key on the Image2Model paths under /api/v1
    # SnapAsset (/api/jobs, /api/sse, /api/queue): every request, and job creation on top (per key, else IP).
    rate_limit_snapasset: str = "100/15 minutes"
    rate_limit_snapasset_jobs: str = "20/hour"
    sse_ping_s: float = Field(default=15.0, gt=0)
    # Webhooks older than this (X-Shopify-Triggered-At, or a product payload's signed updated_at) are refused
    # as replays: Shopify retries for 4 h and may delay a delivery up to a day.
    webhook_max_age_s: float = Field(default=24 * 3600.0, ge=60)
    # Stored files that no row references are removed by the scheduler once their last write is this old
    # (uploads are stored moments before their job row commits; the grace period keeps them safe).
    blob_sweep_grace_s: float = Field(default=3600.0, ge=0)
    # Addresses (IPs or CIDRs, comma-separated; "*" for any) whose X-Forwarded-For / X-Forwarded-Proto are
    # believed. Empty: none, so a client cannot pick its own address (per-IP rate limits, logs).
    trusted_proxies: str = ""
    # GET /api/nu3d is open in development and test (as seed 001 documents it); in production it needs an API
    # key unless this opens it explicitly.
    product_feed_public: bool = False

    # Bearer JWTs from the operator's identity provider (Clerk or any OIDC issuer): exactly one key source.
    jwt_jwks_url: str | None = None  # e.g. https://<clerk-frontend-api>/.well-known/jwks.json
    jwt_hs256_secret: SecretStr | None = None  # a shared HMAC secret instead (at least 32 bytes)
    jwt_issuer: str | None = None  # required `iss` when set
    jwt_audience: str | None = None  # required `aud` entry when set (Clerk session tokens carry none)
    jwt_authorized_parties: str = ""  # comma-separated allowed `azp` values (Clerk's origin check)
    jwt_algorithms: str = "RS256,ES256"  # accepted with a JWK Set
    jwt_leeway_s: float = Field(default=10.0, ge=0, le=300)
    jwt_jwks_cache_s: float = Field(default=300.0, gt=0)
    jwt_jwks_cooldown_s: float = Field(default=10.0, ge=0)  # least time between unknown-kid refetches
    jwt_jwks_timeout_s: float = Field(default=5.0, gt=0)

    # Text prompts become images through an OpenAI-compatible images API (POST {base}/images/generations).
    # Without a base URL, text-to-image and text-to-3D answer 501.
    image_api_base_url: str | None = None  # e.g. https://api.openai.com/v1
    image_api_key: SecretStr | None = None
    image_api_model: str = "dall-e-3"
    image_api_size: str = "1024x1024"
    image_api_response_format: str = (
        "b64_json"  # "" omits the field (gpt-image-* models always answer base64)
    )
    image_api_timeout_s: float = Field(default=120.0, gt=0)
    image_api_max_attempts: int = Field(default=3, ge=1, le=10)
    image_api_concurrency: int = Field(default=2, ge=1, le=64)  # previews drawn at once per web process

    # Where Hydrilla's generation-backend API is mounted ("" = the root, as its document has it).
    hydrilla_backend_prefix: str = ""

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

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        import ipaddress

        entries = [e.strip() for e in value.split(",") if e.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8,127.0.0.1)"
                ) from None
        return ",".join(entries)

    @field_validator(
        "jwt_jwks_url", "jwt_hs256_secret", "jwt_issuer", "jwt_audience", "image_api_base_url", "image_api_key",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `NU3D_JWT_JWKS_URL=` in an env file switches the feature off, like leaving it out.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwt_hs256_secret")
    @classmethod
    def _long_hmac_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes (RFC 7518 §3.2: an HS256 key as long as the hash)")
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_algorithms(cls, value: str) -> str:
        from shop_app.auth_jwt import ASYMMETRIC_ALGORITHMS

        names = [name.strip() for name in value.split(",") if name.strip()]
        bad = [name for name in names if name not in ASYMMETRIC_ALGORITHMS]
        if not names or bad:
            raise ValueError(
                f"expected a comma-separated subset of {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}"
            )
        return ",".join(names)

    @field_validator("hydrilla_backend_prefix")
    @classmethod
    def _mount_prefix(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and (
            not value.startswith("/")
            or "//" in value
            or not value[1:].replace("-", "").replace("_", "").replace("/", "").isalnum()
        ):
            raise ValueError('expected "" (the root) or a path such as /hydrilla')
        taken = (
            "/api",
            "/app",
            "/auth",
            "/files",
            "/health",
            "/static",
            "/store",
            "/webhooks",
            "/openapi.json",
            "/login",
            "/generate3d",
            "/generate3d_webhook",
        )
        if any(value == t or value.startswith(t + "/") for t in taken):
            raise ValueError(f"{value} is one of the app's own paths; pick another, such as /hydrilla")
        return value

    @field_validator("image_api_response_format")
    @classmethod
    def _response_format(cls, value: str) -> str:
        if value not in {"", "b64_json", "url"}:
            raise ValueError('expected b64_json, url or "" (omit)')
        return value

    @model_validator(mode="after")
    def _one_jwt_source(self) -> Settings:
        if self.jwt_jwks_url is not None and self.jwt_hs256_secret is not None:
            raise ValueError("set NU3D_JWT_JWKS_URL or NU3D_JWT_HS256_SECRET, not both")
        return self

    @property
    def jwt_algorithm_list(self) -> tuple[str, ...]:
        return tuple(self.jwt_algorithms.split(","))

    @property
    def jwt_authorized_party_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.jwt_authorized_parties.split(",") if p.strip())

    @field_validator("app_url", "shopify_admin_base", "jwt_jwks_url", "image_api_base_url")
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
