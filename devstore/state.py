"""In-memory state of every shop the devstore serves, with an optional JSON snapshot.

All mutation goes through :class:`Store` methods, which hold one re-entrant lock, so the HTTP handlers,
the webhook thread and tests that seed state directly can share one instance.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devstore.errors import DevstoreError, NotFound

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


class Store:
    """Every shop, token and file the devstore knows, behind one lock."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.shops: dict[str, Shop] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.staged: dict[str, StagedUpload] = {}
        self.faults: dict[str, int] = {}  # target -> how many of the next requests fail (control API)
        self.bulk_operations: dict[int, Any] = {}  # devstore.bulk.BulkOperation by id (not in snapshots)
        self.blobs: dict[str, Blob] = {}
        self.apps: dict[str, AppRegistration] = {}
        # token exchange migrations: old token -> (answer, retryable until)
        self.migrations: dict[str, tuple[dict[str, Any], datetime]] = {}
        self.base_url: str = "http://127.0.0.1:8700"
        # signs staged-upload targets, standing in for the storage bucket's signing key
        self.staged_secret: bytes = secrets.token_bytes(32)
        self._next_id = 7_000_000_000_000
        # bumped by every mutation; keys the per-query sort cache (call bump() after editing records directly)
        self.version = 0
        self.query_cache: dict[tuple[Any, ...], Any] = {}
        self._listeners: list[EventListener] = []

    # ---- ids, clock, events -------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def next_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def bump(self) -> None:
        """Record that state changed (invalidates cached sort orders)."""
        with self.lock:
            self.version += 1
            self.query_cache.clear()

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def emit(self, topic: str, shop: Shop, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(topic, shop, payload)

    def set_fault(self, target: str, count: int) -> None:
        with self.lock:
            self.faults[target] = count

    def take_fault(self, target: str) -> bool:
        """True (and one fewer left) when the next request of `target` should fail."""
        with self.lock:
            left = self.faults.get(target, 0)
            if left > 0:
                self.faults[target] = left - 1
            return left > 0

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.bulk_operations.clear()
            self.shops.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.auth_codes.clear()
            self.staged.clear()
            self.blobs.clear()
            self.apps.clear()
            self.migrations.clear()
            self.bump()

    # ---- shops ---------------------------------------------------------------------------------
    def create_shop(
        self,
        shop: str,
        *,
        name: str | None = None,
        iana_timezone: str = "America/New_York",
        plan: str = "partner_test",
        currency: str = "USD",
        email: str | None = None,
    ) -> Shop:
        domain = normalize_shop_domain(shop)
        try:
            ZoneInfo(iana_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DevstoreError(f"unknown IANA timezone {iana_timezone!r}") from exc
        handle = domain.split(".", 1)[0]
        with self.lock:
            if domain in self.shops:
                raise DevstoreError(f"shop {domain} already exists", status_code=409)
            record = Shop(
                id=self.next_id(),
                domain=domain,
                name=name or handle.replace("-", " ").title(),
                email=email or f"owner@{handle}.example",
                iana_timezone=iana_timezone,
                plan=plan,
                currency=currency,
                created_at=self.now(),
            )
            self.shops[domain] = record
            return record

    def get_shop(self, shop: str) -> Shop:
        try:
            domain = normalize_shop_domain(shop)
        except DevstoreError as exc:
            raise NotFound(str(exc)) from exc
        with self.lock:
            found = self.shops.get(domain)
        if found is None:
            raise NotFound(f"shop {domain} does not exist in this devstore")
        return found

    # ---- apps ------------------------------------------------------------------------------------
    def register_app(
        self,
        client_id: str,
        client_secret: str,
        app_url: str,
        scopes: list[str],
        subscriptions: list[dict[str, Any]] | None = None,
    ) -> AppRegistration:
        if not client_id or not client_secret:
            raise DevstoreError("client_id and client_secret are required")
        if not app_url.startswith(("http://", "https://")):
            raise DevstoreError(f"app_url must be an absolute http(s) URL, got {app_url!r}")
        for sub in subscriptions or []:
            topics = set(sub.get("topics", [])) | set(sub.get("compliance_topics", []))
            unknown = topics - SUPPORTED_TOPICS - COMPLIANCE_TOPICS
            if unknown:
                raise DevstoreError(
                    f"unsupported webhook topics {sorted(unknown)}; supported: "
                    f"{sorted(SUPPORTED_TOPICS | COMPLIANCE_TOPICS)}"
                )
            if not sub.get("uri"):
                raise DevstoreError("every webhook subscription needs a uri")
        with self.lock:
            reg = AppRegistration(client_id, client_secret, app_url.rstrip("/"), list(scopes))
            if subscriptions is not None:
                reg.subscriptions = [dict(s) for s in subscriptions]
            self.apps[client_id] = reg
            return reg

    def install_app(self, shop: Shop, client_id: str, *, scopes: list[str] | None = None) -> AppInstall:
        """Shopify managed installation: the app is installed with its declared scopes, without calling it."""
        with self.lock:
            reg = self.apps.get(client_id)
            if reg is None:
                raise NotFound(f"app {client_id!r} is not registered in this devstore")
            install = AppInstall(
                client_id=reg.client_id,
                client_secret=reg.client_secret,
                app_url=reg.app_url,
                scopes=list(scopes if scopes is not None else reg.scopes),
                subscriptions=[dict(s) for s in reg.subscriptions],
                installed_at=self.now(),
                api_version=reg.api_version,
            )
            shop.installs[client_id] = install
            return install

    def uninstall_app(self, shop: Shop, client_id: str) -> AppInstall:
        with self.lock:
            install = shop.installs.pop(client_id, None)
            if install is None:
                raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
            for token in [
                t for t in self.access_tokens.values() if t.shop == shop.domain and t.client_id == client_id
            ]:
                del self.access_tokens[token.token]
            for token in [
                t for t in self.refresh_tokens.values() if t.shop == shop.domain and t.client_id == client_id
            ]:
                del self.refresh_tokens[token.token]
        self.emit("app/uninstalled", shop, {"install": install})
        return install

    def update_scopes(self, shop: Shop, client_id: str, scopes: list[str]) -> AppInstall:
        with self.lock:
            install = shop.installs.get(client_id)
            if install is None:
                raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
            previous = install.scopes
            install.scopes = list(scopes)
            for token in self.access_tokens.values():
                if token.shop == shop.domain and token.client_id == client_id:
                    token.scopes = list(scopes)
        self.emit(
            "app/scopes_update", shop, {"client_id": client_id, "previous": previous, "current": scopes}
        )
        return install

    def media_url(self, media: Media, *, width: int | None = None, height: int | None = None) -> str:
        """The CDN URL of a file: stable path, ``?v=`` version, optional ``width``/``height`` transform."""
        blob = self.blobs.get(media.blob_key or "")
        # ?v= carries a stable timestamp-like version, as Shopify's CDN URLs do
        v = int(media.created_at.timestamp()) * 10 + (blob.version if blob else 1)
        url = f"{self.base_url}/cdn/shop/files/{media.blob_key}/{quote(media.filename or 'file')}?v={v}"
        if width:
            url += f"&width={width}"
        if height:
            url += f"&height={height}"
        return url

    # ---- blobs -----------------------------------------------------------------------------------
    def put_blob(self, data: bytes, content_type: str, *, key: str | None = None) -> Blob:
        with self.lock:
            key = key or secrets.token_hex(12)
            old = self.blobs.get(key)
            blob = Blob(
                key=key, content_type=content_type, data=data, version=(old.version + 1) if old else 1
            )
            self.blobs[key] = blob
            return blob

    # ---- products --------------------------------------------------------------------------------
    def create_product(
        self,
        shop: Shop,
        *,
        title: str,
        status: str = "ACTIVE",
        body_html: str = "",
        vendor: str = "",
        product_type: str = "",
        tags: list[str] | None = None,
        handle: str | None = None,
        created_at: datetime | None = None,
        variants: list[dict[str, Any]] | None = None,
        emit: bool = True,
    ) -> Product:
        if not title or not title.strip():
            raise DevstoreError("title can't be blank")
        status = status.upper()
        if status not in PRODUCT_STATUSES:
            raise DevstoreError(f"status must be one of {', '.join(PRODUCT_STATUSES)}, got {status!r}")
        with self.lock:
            now = self.now()
            created = (created_at or now).astimezone(UTC).replace(microsecond=0)
            base_handle = handle or handleize(title)
            taken = {p.handle for p in shop.products.values()}
            unique, n = base_handle, 1
            while unique in taken:
                n += 1
                unique = f"{base_handle}-{n}"
            product = Product(
                id=self.next_id(),
                title=title.strip(),
                handle=unique,
                status=status,
                body_html=body_html,
                vendor=vendor,
                product_type=product_type,
                tags=sorted({t.strip() for t in (tags or []) if t.strip()}),
                created_at=created,
                updated_at=created,
                published_at=created if status == "ACTIVE" else None,
            )
            self._set_variants(product, variants or [{}])
            shop.products[product.id] = product
            self.bump()
        if emit:
            self.emit("products/create", shop, {"product_id": product.id})
        return product

    def _set_variants(self, product: Product, specs: list[dict[str, Any]]) -> None:
        option_names: list[str] = []
        variants: list[Variant] = []
        for position, spec in enumerate(specs, start=1):
            options = [(str(k), str(v)) for k, v in (spec.get("options") or {}).items()]
            for name, _ in options:
                if name not in option_names:
                    option_names.append(name)
            title = " / ".join(v for _, v in options) if options else "Default Title"
            price = spec.get("price", "0.00")
            try:
                price = f"{float(price):.2f}"
            except (TypeError, ValueError) as exc:
                raise DevstoreError(f"variant price must be a decimal string, got {price!r}") from exc
            compare = spec.get("compare_at_price")
            variants.append(
                Variant(
                    id=self.next_id(),
                    title=title,
                    price=price,
                    compare_at_price=f"{float(compare):.2f}" if compare not in (None, "") else None,
                    sku=spec.get("sku"),
                    barcode=spec.get("barcode"),
                    position=position,
                    options=options or [("Title", "Default Title")],
                    inventory_quantity=int(spec.get("inventory_quantity", 0)),
                    inventory_item_id=self.next_id(),
                    created_at=product.created_at,
                    updated_at=product.updated_at,
                )
            )
        product.variants = variants
        product.option_names = option_names or ["Title"]

    def create_collection(self, shop: Shop, *, title: str, product_ids: list[int]) -> Collection:
        if not title or not title.strip():
            raise DevstoreError("title can't be blank")
        with self.lock:
            missing = [pid for pid in product_ids if pid not in shop.products]
            if missing:
                raise DevstoreError(f"products {missing} do not exist in {shop.domain}")
            collection = Collection(
                id=self.next_id(), title=title.strip(), handle=handleize(title), product_ids=list(product_ids)
            )
            shop.collections[collection.id] = collection
            self.bump()
        return collection

    def get_product(self, shop: Shop, product_id: int) -> Product:
        with self.lock:
            product = shop.products.get(product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist in {shop.domain}")
        return product

    def update_product(
        self, shop: Shop, product_id: int, changes: dict[str, Any], *, emit: bool = True
    ) -> Product:
        allowed = {"title", "status", "body_html", "vendor", "product_type", "tags", "handle", "variants"}
        unknown = set(changes) - allowed
        if unknown:
            raise DevstoreError(f"unknown product fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self.lock:
            product = self.get_product(shop, product_id)
            if "title" in changes:
                if not str(changes["title"]).strip():
                    raise DevstoreError("title can't be blank")
                product.title = str(changes["title"]).strip()
            if "status" in changes:
                status = str(changes["status"]).upper()
                if status not in PRODUCT_STATUSES:
                    raise DevstoreError(
                        f"status must be one of {', '.join(PRODUCT_STATUSES)}, got {status!r}"
                    )
                if status == "ACTIVE" and product.published_at is None:
                    product.published_at = self.now()
                product.status = status
            for name in ("body_html", "vendor", "product_type", "handle"):
                if name in changes:
                    setattr(product, name, str(changes[name]))
            if "tags" in changes:
                tags = changes["tags"]
                if isinstance(tags, str):
                    tags = tags.split(",")
                product.tags = sorted({t.strip() for t in tags if t.strip()})
            if "variants" in changes:
                self._set_variants(product, changes["variants"])
            self.touch(product)
        if emit:
            self.emit("products/update", shop, {"product_id": product.id})
        return product

    def touch(self, product: Product) -> None:
        # updated_at must move strictly forward so `updated_at:>` reconciliation queries see every change.
        now = self.now()
        product.updated_at = now if now > product.updated_at else product.updated_at + timedelta(seconds=1)
        self.bump()

    def delete_product(self, shop: Shop, product_id: int, *, emit: bool = True) -> None:
        with self.lock:
            product = self.get_product(shop, product_id)
            del shop.products[product_id]
            self.bump()
            for media_id in product.media_ids:
                media = shop.media.get(media_id)
                if media and product_id in media.product_ids:
                    media.product_ids.remove(product_id)
        if emit:
            self.emit("products/delete", shop, {"id": product_id})

    # ---- media -----------------------------------------------------------------------------------
    def add_image(
        self,
        shop: Shop,
        data: bytes,
        *,
        alt: str = "",
        filename: str = "image.png",
        product: Product | None = None,
        variant_ids: list[int] | None = None,
    ) -> Media:
        """Store an image file and attach it (last) to ``product``; the image is READY at once."""
        from devstore.cdn import image_info  # local import: Pillow is only needed when images are added

        content_type, width, height = image_info(data)
        with self.lock:
            blob = self.put_blob(data, content_type)
            media = Media(
                id=self.next_id(),
                content_type="IMAGE",
                created_at=self.now(),
                alt=alt,
                filename=filename,
                blob_key=blob.key,
                mime_type=content_type,
                file_size=len(data),
                width=width,
                height=height,
                image_id=self.next_id(),
                updated_at=self.now(),
            )
            shop.media[media.id] = media
            if product is not None:
                self.attach_media(product, media)
                for variant in product.variants:
                    if variant_ids and variant.id in variant_ids:
                        variant.media_ids = [media.id]
            return media

    def attach_media(self, product: Product, media: Media) -> None:
        with self.lock:
            if media.id not in product.media_ids:
                product.media_ids.append(media.id)
            if product.id not in media.product_ids:
                media.product_ids.append(product.id)
            self.bump()

    def detach_media(self, shop: Shop, media: Media, product_id: int) -> None:
        with self.lock:
            product = shop.products.get(product_id)
            if product is not None:
                if media.id in product.media_ids:
                    product.media_ids.remove(media.id)
                for variant in product.variants:
                    if media.id in variant.media_ids:
                        variant.media_ids.remove(media.id)
                self.touch(product)
            if product_id in media.product_ids:
                media.product_ids.remove(product_id)
            self.bump()

    def delete_media(self, shop: Shop, media_id: int) -> None:
        with self.lock:
            media = shop.media.get(media_id)
            if media is None:
                raise NotFound(f"file {media_id} does not exist in {shop.domain}")
            for product_id in list(media.product_ids):
                self.detach_media(shop, media, product_id)
            del shop.media[media_id]

    def find_media(self, media_id: int) -> tuple[Shop, Media] | None:
        with self.lock:
            for shop in self.shops.values():
                if media_id in shop.media:
                    return shop, shop.media[media_id]
        return None

    # ---- snapshot ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": 1,
                "next_id": self._next_id,
                "shops": [_encode(s) for s in self.shops.values()],
                "apps": [_encode(a) for a in self.apps.values()],
                "access_tokens": [_encode(t) for t in self.access_tokens.values()],
                "refresh_tokens": [_encode(t) for t in self.refresh_tokens.values()],
                "blobs": [
                    {
                        "key": b.key,
                        "content_type": b.content_type,
                        "version": b.version,
                        "data": base64.b64encode(b.data).decode(),
                    }
                    for b in self.blobs.values()
                ],
            }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json()))
        tmp.replace(path)

    def load(self, path: Path) -> None:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DevstoreError(f"cannot read devstore snapshot {path}: {exc}") from exc
        if raw.get("version") != 1:
            raise DevstoreError(f"snapshot {path} has unsupported version {raw.get('version')!r}")
        with self.lock:
            self.reset()
            self._next_id = int(raw["next_id"])
            for s in raw["shops"]:
                shop = _decode_shop(s)
                self.shops[shop.domain] = shop
            for a in raw.get("apps", []):
                self.apps[a["client_id"]] = AppRegistration(**a)
            for t in raw["access_tokens"]:
                self.access_tokens[t["token"]] = AccessToken(**_dates(t, "expires_at"))
            for t in raw["refresh_tokens"]:
                self.refresh_tokens[t["token"]] = RefreshToken(**_dates(t, "expires_at"))
            for b in raw["blobs"]:
                self.blobs[b["key"]] = Blob(
                    b["key"], b["content_type"], base64.b64decode(b["data"]), b["version"]
                )


def _encode(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    return obj


_DATE_FIELDS = (
    "created_at",
    "updated_at",
    "published_at",
    "installed_at",
    "expires_at",
    "processing_started_at",
    "processing_done_at",
)


def _dates(d: dict[str, Any], *names: str) -> dict[str, Any]:
    out = dict(d)
    for name in names or _DATE_FIELDS:
        if out.get(name):
            out[name] = datetime.fromisoformat(out[name])
    return out


def _decode_shop(s: dict[str, Any]) -> Shop:
    s = _dates(s)
    products = {}
    for p in s.pop("products").values():
        p = _dates(p)
        variants = []
        for v in p.pop("variants"):
            v = _dates(v)
            v["options"] = [tuple(o) for o in v["options"]]
            variants.append(Variant(**v))
        products[p["id"]] = Product(variants=variants, **p)
    media = {m["id"]: Media(**_dates(m)) for m in s.pop("media").values()}
    installs = {i["client_id"]: AppInstall(**_dates(i)) for i in s.pop("installs").values()}
    collections = {c["id"]: Collection(**_dates(c)) for c in (s.pop("collections", None) or {}).values()}
    return Shop(products=products, media=media, installs=installs, collections=collections, **s)
