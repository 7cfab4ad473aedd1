"""Foundation tables: shops (with encrypted Shopify tokens) and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shop_app.models.base import UTCDateTime, created_at_field, optional_time_field, utcnow


# A Shopify shop that installed (or once installed) the app. Tokens are Fernet-encrypted at rest.
class Shop(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(max_length=255, unique=True, index=True)  # name.myshopify.com
    name: str | None = Field(default=None, max_length=255)
    iana_timezone: str | None = Field(default=None, max_length=64)
    scopes: str = Field(default="", max_length=1024)
    access_token_enc: str | None = Field(default=None, max_length=4096)
    access_token_expires_at: datetime | None = optional_time_field()
    refresh_token_enc: str | None = Field(default=None, max_length=4096)
    refresh_token_expires_at: datetime | None = optional_time_field()
    needs_reauth: bool = Field(default=False)
    installed_at: datetime | None = optional_time_field()
    uninstalled_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# An API key for the job APIs. Only a SHA-256 of the key is stored; the key is shown once at creation.
class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    prefix: str = Field(max_length=16, index=True)  # first characters, to recognise a key in listings
    key_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(default="jobs", max_length=255)  # space-separated: jobs, admin
    shop_id: int | None = Field(default=None, foreign_key="shop.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = optional_time_field()
    revoked_at: datetime | None = optional_time_field()
    expires_at: datetime | None = optional_time_field()  # None: never expires
