"""The demo shop's catalogue: products across retail categories with rendered studio photos.

At least 12 active products are created "today" in the shop's timezone, plus drafts and older products,
with vendors, tags and variants. Photos come from :mod:`devstore.studio` (procedural meshes rendered as white
background product shots): some products get 4 views (front, left, back, right), some one photo, some have
variants that share an image and one has a photo per variant. Rendering is deterministic and cached as PNG
files under ``cache_dir`` so a second seeding is fast.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from devstore.errors import DevstoreClientError, DevstoreError
from devstore.records import Shop
from devstore.state import Store

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path("var/devstore-cache")
RENDER_VERSION = "r2"  # part of cached photo names: bump when the studio renders differently
VENDORS = ("Northwind Goods", "Harbour & Co", "Atelier Mono", "Fieldhouse")


@dataclass(frozen=True)
class CatalogueEntry:
    kind: str
    seed: int
    status: str  # ACTIVE | DRAFT | ARCHIVED
    age_days: int  # 0 = created today (shop time)
    views: int  # photos of the product itself: 4 (front, left, back, right) or 1
    variant_options: tuple[str, ...] = ()  # one variant per value; they share the product's front photo
    option_name: str = "Size"
    per_variant_seeds: tuple[int, ...] = ()  # one photo per variant, rendered from these seeds
    price: str = "19.00"


CATALOGUE: tuple[CatalogueEntry, ...] = (
    # 14 active products created today
    CatalogueEntry("box", 1, "ACTIVE", 0, 4, price="6.49"),
    CatalogueEntry(
        "can",
        2,
        "ACTIVE",
        0,
        1,
        per_variant_seeds=(2, 102, 202),
        option_name="Flavour",
        variant_options=("Original", "Lime", "Cherry"),
        price="2.99",
    ),
    CatalogueEntry("bottle", 3, "ACTIVE", 0, 4, price="14.00"),
    CatalogueEntry("jar", 4, "ACTIVE", 0, 1, variant_options=("250 g", "500 g"), price="8.50"),
    CatalogueEntry("mug", 5, "ACTIVE", 0, 4, variant_options=("12 oz", "16 oz"), price="18.00"),
    CatalogueEntry("soft", 6, "ACTIVE", 0, 4, variant_options=("S", "M", "L"), price="24.00"),
    CatalogueEntry("pouch", 7, "ACTIVE", 0, 1, price="5.25"),
    CatalogueEntry("tube", 8, "ACTIVE", 0, 1, price="11.90"),
    CatalogueEntry("vase", 9, "ACTIVE", 0, 4, price="39.00"),
    CatalogueEntry("carton", 10, "ACTIVE", 0, 1, price="3.10"),
    CatalogueEntry("mug", 11, "ACTIVE", 0, 1, price="16.00"),
    CatalogueEntry("bottle", 12, "ACTIVE", 0, 1, variant_options=("500 ml", "1 l"), price="9.00"),
    CatalogueEntry("box", 13, "ACTIVE", 0, 1, price="12.75"),
    CatalogueEntry("jar", 14, "ACTIVE", 0, 4, price="7.40"),
    # drafts created today
    CatalogueEntry("can", 15, "DRAFT", 0, 1, price="2.49"),
    CatalogueEntry("soft", 16, "DRAFT", 0, 4, price="29.00"),
    # older products
    CatalogueEntry("mug", 17, "ACTIVE", 3, 4, price="21.00"),
    CatalogueEntry("box", 18, "ACTIVE", 9, 1, price="4.99"),
    CatalogueEntry("vase", 19, "ACTIVE", 30, 1, price="45.00"),
    CatalogueEntry("tube", 20, "ARCHIVED", 60, 1, price="6.00"),
    CatalogueEntry("pouch", 21, "DRAFT", 12, 1, price="4.25"),
)


class ProductSink(Protocol):
    def create(self, spec: dict[str, Any]) -> int: ...


@dataclass
class SeedResult:
    shop: str
    product_ids: list[int]
    today_active: int


def _photo(kind: str, seed: int, view: int, views: int, size: int, cache_dir: Path) -> bytes:
    path = cache_dir / f"{kind}-s{seed}-v{view}of{views}-{size}px-{RENDER_VERSION}.png"
    if path.exists():
        return path.read_bytes()
    from devstore.studio import make_product, render_views  # heavy: only when a photo is missing

    product = make_product(kind, seed=seed)
    images = render_views(product, n_views=views, size=size)
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = b""
    for index, image in enumerate(images):
        buf = io.BytesIO()
        image.save(buf, format="PNG", optimize=False)
        target = cache_dir / f"{kind}-s{seed}-v{index}of{views}-{size}px-{RENDER_VERSION}.png"
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(target)
        if index == view:
            out = buf.getvalue()
    return out


def _studio_info(kind: str, seed: int) -> tuple[str, str, str, tuple[str, ...]]:
    from devstore.studio import make_product

    p = make_product(kind, seed=seed)
    return p.name, p.category, p.description, tuple(p.tags)


VIEW_NAMES = ("front", "left", "back", "right")


def build_specs(
    *, now: datetime, iana_timezone: str, cache_dir: Path, photo_size: int
) -> list[dict[str, Any]]:
    """Product specs (the control API's JSON shape, images as bytes) for :data:`CATALOGUE`."""
    zone = ZoneInfo(iana_timezone)
    local_now = now.astimezone(zone)
    start_of_today = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    today_entries = [e for e in CATALOGUE if e.age_days == 0]
    span = (local_now - start_of_today).total_seconds()
    step = min(span / (len(today_entries) + 1), 20 * 60)
    specs = []
    today_index = 0
    for n, entry in enumerate(CATALOGUE):
        if entry.age_days == 0:
            # spread over the part of today that has passed, oldest first, never in the future
            created = local_now - timedelta(seconds=step * (len(today_entries) - today_index))
            today_index += 1
        else:
            created = (start_of_today - timedelta(days=entry.age_days)).replace(hour=10) + timedelta(
                minutes=n
            )
        name, category, description, tags = _studio_info(entry.kind, entry.seed)
        images: list[dict[str, Any]] = []
        views = entry.views
        for view in range(views):
            label = VIEW_NAMES[view] if views == 4 else "product photo"
            images.append(
                {
                    "data": _photo(entry.kind, entry.seed, view, views, photo_size, cache_dir),
                    "alt": f"{name}, {label}",
                    "filename": f"{entry.kind}-{entry.seed}-{VIEW_NAMES[view] if views == 4 else 'photo'}.png",
                    # variants without their own photo share the front image
                    "variants": list(range(len(entry.variant_options)))
                    if view == 0 and not entry.per_variant_seeds
                    else [],
                }
            )
        for index, seed in enumerate(entry.per_variant_seeds):
            if index == 0:
                images[0]["variants"] = [0]
                continue
            images.append(
                {
                    "data": _photo(entry.kind, seed, 0, 1, photo_size, cache_dir),
                    "alt": f"{name}, {entry.variant_options[index]}",
                    "filename": f"{entry.kind}-{seed}-photo.png",
                    "variants": [index],
                }
            )
        variants = [
            {
                "price": entry.price,
                "sku": f"{entry.kind[:3].upper()}-{entry.seed:03d}-{i + 1}",
                "options": {entry.option_name: value},
                "inventory_quantity": 10 + i * 5,
            }
            for i, value in enumerate(entry.variant_options)
        ] or [
            {
                "price": entry.price,
                "sku": f"{entry.kind[:3].upper()}-{entry.seed:03d}",
                "inventory_quantity": 12,
            }
        ]
        specs.append(
            {
                "title": name,
                "status": entry.status,
                "vendor": VENDORS[n % len(VENDORS)],
                "product_type": category,
                "tags": sorted({*tags, entry.kind, "demo"}),
                "body_html": f"<p>{description}</p>" if description else "",
                "created_at": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "variants": variants,
                "images": images,
            }
        )
    return specs


class _StoreSink:
    def __init__(self, store: Store, shop: Shop) -> None:
        self.store = store
        self.shop = shop

    def create(self, spec: dict[str, Any]) -> int:
        from devstore.product_json import create_product_from_json

        body = dict(spec)
        body["images"] = [
            {
                **{k: v for k, v in img.items() if k != "data"},
                "data_base64": base64.b64encode(img["data"]).decode(),
            }
            for img in spec["images"]
        ]
        return create_product_from_json(self.store, self.shop, body)


class _HttpSink:
    def __init__(self, base_url: str, shop: str, client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self.shop = shop
        self.client = client

    def create(self, spec: dict[str, Any]) -> int:
        body = dict(spec)
        body["images"] = [
            {
                **{k: v for k, v in img.items() if k != "data"},
                "data_base64": base64.b64encode(img["data"]).decode(),
            }
            for img in spec["images"]
        ]
        response = self.client.post(f"{self.base_url}/_devstore/shops/{self.shop}/products", json=body)
        if response.status_code >= 400:
            raise DevstoreClientError(response.status_code, response.text)
        return int(response.json()["product"]["id"])


def seed_demo_shop(
    target: Store | Any,
    *,
    shop: str = "demo.myshopify.com",
    iana_timezone: str = "America/New_York",
    cache_dir: Path | str = DEFAULT_CACHE_DIR,
    photo_size: int = 512,
    now: datetime | None = None,
) -> SeedResult:
    """Create the demo shop (if missing) and its catalogue.

    Parameters:
        target: a :class:`devstore.state.Store` (seeded directly), a ``DevstoreServer`` (anything with a
            ``base_url``) or a base URL string of a running devstore (seeded through the control API, which
            fires products/create webhooks to installed apps).
        shop: the shop domain; created with ``iana_timezone`` when it does not exist.
        cache_dir: where rendered photos are cached (default ``./var/devstore-cache``).
        photo_size: photo edge in pixels (tests use small sizes).
        now: the moment "today" is computed from (default: the store's clock, or the current time).
    """
    cache = Path(cache_dir)
    if photo_size < 16 or photo_size > 2048:
        raise DevstoreError(f"photo_size must be between 16 and 2048 pixels, got {photo_size}")
    if isinstance(target, Store):
        try:
            record = target.get_shop(shop)
        except DevstoreError:
            record = target.create_shop(shop, iana_timezone=iana_timezone, name="Nu3D Demo Store")
        sink: ProductSink = _StoreSink(target, record)
        moment = now or target.now()
        zone_name = record.iana_timezone
        client = None
    else:
        base_url = target if isinstance(target, str) else target.base_url
        client = httpx.Client(timeout=60.0)
        found = client.get(f"{base_url.rstrip('/')}/_devstore/shops/{shop}")
        if found.status_code == 404:
            created = client.post(
                f"{base_url.rstrip('/')}/_devstore/shops",
                json={"shop": shop, "iana_timezone": iana_timezone, "name": "Nu3D Demo Store"},
            )
            if created.status_code >= 400:
                raise DevstoreClientError(created.status_code, created.text)
            found = created
        elif found.status_code >= 400:
            raise DevstoreClientError(found.status_code, found.text)
        zone_name = found.json()["iana_timezone"]
        clock = client.get(f"{base_url.rstrip('/')}/_devstore/clock").json()["now"]
        moment = now or datetime.fromisoformat(clock)
        sink = _HttpSink(base_url, shop, client)
    try:
        specs = build_specs(now=moment, iana_timezone=zone_name, cache_dir=cache, photo_size=photo_size)
        ids = [sink.create(spec) for spec in specs]
    finally:
        if client is not None:
            client.close()
    today = sum(1 for e in CATALOGUE if e.age_days == 0 and e.status == "ACTIVE")
    logger.info("seeded %d demo products into %s (%d active today)", len(ids), shop, today)
    return SeedResult(shop=shop, product_ids=ids, today_active=today)
