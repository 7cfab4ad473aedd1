"""The devstore's records: shops, products, variants, media, app installs, tokens, staged uploads.

Plain dataclasses with the constants and time helpers they share; :class:`devstore.state.Store` owns and
mutates them under its lock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from devstore.errors import DevstoreError

SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]\.myshopify\.com$")
PRODUCT_STATUSES = ("ACTIVE", "ARCHIVED", "DRAFT", "UNLISTED")
# GraphQL Admin API limits by plan (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, read 2026-12):
# restore rates Standard 100, Advanced 200, Plus 1000, enterprise 2000 points/s, per app and shop. The page no
# longer states the bucket size; we use 20 s of restore (Standard 2,000 as live responses report). Basic,
# Shopify and development stores are on the Standard tier.
STANDARD_LIMIT = (2000.0, 100.0)
PLAN_RATE_LIMITS: dict[str, tuple[float, float]] = {
    "basic": STANDARD_LIMIT,
    "professional": STANDARD_LIMIT,
    "partner_test": STANDARD_LIMIT,
    "unlimited": (4000.0, 200.0),
    "shopify_plus": (20000.0, 1000.0),
    "enterprise": (40000.0, 2000.0),
}
PLANS = {
    "basic": "Basic",
    "professional": "Shopify",
    "unlimited": "Advanced",
    "shopify_plus": "Shopify Plus",
    "enterprise": "Shopify for enterprise",
    "partner_test": "Developer Preview",
}
# Product events the webhook dispatcher listens to.
EventListener = Callable[[str, "Shop", dict[str, Any]], None]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_iso(dt: datetime | None) -> str | None:
    """Shopify's GraphQL DateTime form: UTC, second precision, ``Z`` suffix."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(value: str) -> datetime:
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def handleize(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "product"


def normalize_shop_domain(shop: str) -> str:
    """Accept ``name`` or ``name.myshopify.com``; raise :class:`DevstoreError` for anything else."""
    domain = shop.strip().lower()
    if "." not in domain:
        domain = f"{domain}.myshopify.com"
    if not SHOP_DOMAIN_RE.match(domain):
        raise DevstoreError(
            f"invalid shop domain {shop!r}: expected NAME.myshopify.com with NAME of at least 2 characters "
            "from a-z, 0-9 and '-'"
        )
    return domain


@dataclass
class Blob:
    """Bytes the CDN serves (product images, processed 3D models)."""

    key: str
    content_type: str
    data: bytes
    version: int = 1


@dataclass
class Media:
    """A file in the shop: MediaImage (IMAGE) or Model3d (MODEL_3D)."""

    id: int
    content_type: str  # IMAGE | MODEL_3D
    created_at: datetime
    alt: str = ""
    filename: str = ""
    blob_key: str | None = None
    mime_type: str = ""
    file_size: int = 0
    width: int | None = None
    height: int | None = None
    image_id: int | None = None  # the Image object's own id (MediaImage.image.id)
    # Processing (MODEL_3D): the final status and errors apply once processing_done_at has passed.
    final_status: str = "READY"
    processing_started_at: datetime | None = None
    processing_done_at: datetime | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    updated_at: datetime | None = None
    preview_key: str | None = None  # MODEL_3D: rendered thumbnail, shown once READY

    def preview_media(self) -> Media | None:
        """The thumbnail of a 3D model as an image record (for Image fields and webhook payloads)."""
        if self.preview_key is None:
            return None
        return Media(
            id=self.id,
            content_type="IMAGE",
            created_at=self.created_at,
            alt=self.alt,
            filename="preview.png",
            blob_key=self.preview_key,
            mime_type="image/png",
            width=256,
            height=256,
            image_id=self.id,
            updated_at=self.updated_at,
        )

    def status(self, now: datetime) -> str:
        """UPLOADED → PROCESSING → READY or FAILED, derived from the clock so no timer thread is needed."""
        if self.processing_started_at is None or self.processing_done_at is None:
            return self.final_status
        if now < self.processing_started_at:
            return "UPLOADED"
        if now < self.processing_done_at:
            return "PROCESSING"
        return self.final_status

    def current_errors(self, now: datetime) -> list[dict[str, str]]:
        return self.errors if self.status(now) == "FAILED" else []


@dataclass
class Variant:
    id: int
    title: str
    price: str = "0.00"
    compare_at_price: str | None = None
    sku: str | None = None
    barcode: str | None = None
    position: int = 1
    options: list[tuple[str, str]] = field(default_factory=list)  # (name, value)
    media_ids: list[int] = field(default_factory=list)
    inventory_quantity: int = 0
    inventory_item_id: int = 0
    taxable: bool = True
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Product:
    id: int
    title: str
    handle: str
    status: str = "ACTIVE"
    body_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    published_at: datetime | None = None
    variants: list[Variant] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)
    option_names: list[str] = field(default_factory=list)


# Relative URIs are resolved against the app URL, as in shopify.app.toml. This default mirrors the
# subscriptions in shopify-facts.md §4.
DEFAULT_SUBSCRIPTIONS: list[dict[str, Any]] = [
    {"topics": ["app/uninstalled"], "uri": "/webhooks/app/uninstalled"},
    {"topics": ["app/scopes_update"], "uri": "/webhooks/app/scopes_update"},
    {"topics": ["products/create", "products/update"], "uri": "/webhooks/products"},
    {"topics": ["products/delete"], "uri": "/webhooks/products/delete"},
    {
        "compliance_topics": ["customers/data_request", "customers/redact", "shop/redact"],
        "uri": "/webhooks/compliance",
    },
]
SUPPORTED_TOPICS = frozenset(
    "app/uninstalled app/scopes_update products/create products/update products/delete bulk_operations/finish".split()
)
FAULT_TARGETS = frozenset({"staged_upload"})
COMPLIANCE_TOPICS = frozenset(["customers/data_request", "customers/redact", "shop/redact"])


@dataclass
class AppRegistration:
    """An app as the Partner dashboard knows it: credentials, URL, scopes and TOML webhook subscriptions."""

    client_id: str
    client_secret: str
    app_url: str
    scopes: list[str]
    subscriptions: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(s) for s in DEFAULT_SUBSCRIPTIONS]
    )
    api_version: str = "2026-10"


@dataclass
class AppInstall:
    """An app installed on a shop: its credentials, app URL and webhook subscriptions."""

    client_id: str
    client_secret: str
    app_url: str
    scopes: list[str]
    subscriptions: list[
        dict[str, Any]
    ]  # {"topics": [...], "uri": "..."}; compliance under "compliance_topics"
    installed_at: datetime = field(default_factory=utcnow)
    api_version: str = "2026-10"


@dataclass
class Collection:
    """A manual collection: its products in the merchant's order."""

    id: int
    title: str
    handle: str
    product_ids: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class Shop:
    id: int
    domain: str
    name: str
    email: str
    iana_timezone: str
    plan: str
    currency: str = "USD"
    created_at: datetime = field(default_factory=utcnow)
    products: dict[int, Product] = field(default_factory=dict)
    media: dict[int, Media] = field(default_factory=dict)
    installs: dict[str, AppInstall] = field(default_factory=dict)
    collections: dict[int, Collection] = field(default_factory=dict)
    # (bucket size, restore rate) set for this shop through the control API; None: its plan's
    rate_limit: tuple[float, float] | None = None

    @property
    def api_rate_limit(self) -> tuple[float, float]:
        if self.rate_limit is not None:
            return (float(self.rate_limit[0]), float(self.rate_limit[1]))
        return PLAN_RATE_LIMITS.get(self.plan, STANDARD_LIMIT)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.iana_timezone)

    @property
    def plan_display_name(self) -> str:
        return PLANS.get(self.plan, self.plan)


@dataclass
class AccessToken:
    token: str
    shop: str
    client_id: str
    scopes: list[str]
    expires_at: datetime | None
    online: bool = False
    user_id: int | None = None
    refresh_token: str | None = None


@dataclass
class RefreshToken:
    token: str
    shop: str
    client_id: str
    scopes: list[str]
    expires_at: datetime
    # Set once this token has been exchanged: the pair it produced. The old token stays retryable (returning
    # that same pair) until the replacement refresh token is itself used, as Shopify documents (2026-08-28).
    replaced_by: str | None = None
    used: bool = False


@dataclass
class AuthCode:
    code: str
    shop: str
    client_id: str
    scopes: list[str]
    expires_at: datetime
    online: bool = False


@dataclass
class StagedUpload:
    key: str
    shop: str
    resource: str
    filename: str
    mime_type: str
    file_size: int | None
    http_method: str
    created_at: datetime
    expires_at: datetime
    data: bytes | None = None
