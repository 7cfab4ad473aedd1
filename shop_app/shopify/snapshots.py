"""What we mirror of a Shopify product, read from a webhook (REST) or a scan (GraphQL) payload.

Both shapes become one ProductSnapshot, so sync applies the same rules to either; a payload that lacks
what we need raises SnapshotError.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

PRODUCT_GID = "gid://shopify/Product/"
IMAGE_GID = "gid://shopify/ProductImage/"
STATUSES = {"ACTIVE", "DRAFT", "ARCHIVED", "UNLISTED"}


class SnapshotError(ValueError):
    """A payload lacks what we need to mirror the product (logged; the delivery is acknowledged)."""


@dataclass(frozen=True)
class ImageSnapshot:
    gid: str
    url: str
    position: int = 0
    media_gid: str | None = None
    alt: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def content_version(self) -> str:
        return content_version(self.url)


@dataclass(frozen=True)
class ProductSnapshot:
    gid: str
    title: str
    handle: str
    status: str
    vendor: str | None = None
    product_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    images: tuple[ImageSnapshot, ...] = field(default_factory=tuple)
    # description (plain text), tags, variants: what GET /api/nu3d answers (see Product.details)
    details: dict[str, Any] = field(default_factory=dict)


def content_version(url: str) -> str:
    """Shopify bumps `?v=` when an image's bytes change; without one, the URL itself is the version."""
    version = parse_qs(urlsplit(url).query).get("v")
    if version and version[0]:
        return f"v:{version[0][:100]}"
    return "u:" + hashlib.sha256(url.encode()).hexdigest()[:40]


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def product_gid(legacy_id: Any) -> str:
    if isinstance(legacy_id, bool) or not isinstance(legacy_id, int | str) or not str(legacy_id).isdigit():
        raise SnapshotError(f"product id {legacy_id!r} is not numeric")
    return f"{PRODUCT_GID}{int(legacy_id)}"


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if isinstance(value, str | int) and value != "" else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def snapshot_from_webhook(payload: dict[str, Any]) -> ProductSnapshot:
    """Build a snapshot from a products/create|update payload (the REST Product resource, snake_case)."""
    gid = payload.get("admin_graphql_api_id")
    if not isinstance(gid, str) or not gid.startswith(PRODUCT_GID):
        gid = product_gid(payload.get("id"))
    status = str(payload.get("status") or "active").upper()
    if status not in STATUSES:
        raise SnapshotError(f"unknown product status {payload.get('status')!r}")
    media_by_src: dict[str, str] = {}
    for media in payload.get("media") or []:
        if isinstance(media, dict) and media.get("media_content_type") == "IMAGE":
            src = ((media.get("preview_image") or {}) or {}).get("src")
            if isinstance(src, str) and isinstance(media.get("admin_graphql_api_id"), str):
                media_by_src[_strip_query(src)] = media["admin_graphql_api_id"]
    images: list[ImageSnapshot] = []
    for raw in payload.get("images") or []:
        if not isinstance(raw, dict):
            continue
        src = raw.get("src")
        image_gid = raw.get("admin_graphql_api_id")
        if not isinstance(image_gid, str) and _int(raw.get("id")) is not None:
            image_gid = f"{IMAGE_GID}{raw['id']}"
        if (
            not isinstance(src, str)
            or not src.startswith(("http://", "https://"))
            or not isinstance(image_gid, str)
        ):
            logger.info("skipping an image without id or http(s) src on %s", gid)
            continue
        images.append(
            ImageSnapshot(
                gid=image_gid[:128],
                url=src[:2048],
                position=_int(raw.get("position")) or len(images) + 1,
                media_gid=media_by_src.get(_strip_query(src)),
                alt=_text(raw.get("alt"), 512),
                width=_int(raw.get("width")),
                height=_int(raw.get("height")),
            )
        )
    return ProductSnapshot(
        details=_webhook_details(payload),
        gid=gid,
        title=_text(payload.get("title"), 512) or "",
        handle=_text(payload.get("handle"), 512) or "",
        status=status,
        vendor=_text(payload.get("vendor"), 255),
        product_type=_text(payload.get("product_type"), 255),
        created_at=parse_time(payload.get("created_at")),
        updated_at=parse_time(payload.get("updated_at")),
        images=tuple(images),
    )


def snapshot_from_graphql(product: dict[str, Any], media_nodes: list[dict[str, Any]]) -> ProductSnapshot:
    """Build a snapshot from ProductDetail's `product` and all pages of its media nodes."""
    images: list[ImageSnapshot] = []
    for node in media_nodes:
        image = node.get("image") if node.get("mediaContentType") == "IMAGE" else None
        if not isinstance(image, dict) or not image.get("id") or not image.get("url"):
            continue
        images.append(
            ImageSnapshot(
                gid=image_gid(str(image["id"])),
                url=str(image["url"])[:2048],
                position=len(images) + 1,
                media_gid=_text(node.get("id"), 128),
                alt=_text(image.get("altText") or node.get("alt"), 512),
                width=_int(image.get("width")),
                height=_int(image.get("height")),
            )
        )
    return ProductSnapshot(
        details=_graphql_details(product),
        gid=str(product["id"]),
        title=_text(product.get("title"), 512) or "",
        handle=_text(product.get("handle"), 512) or "",
        status=str(product.get("status") or "ACTIVE").upper(),
        vendor=_text(product.get("vendor"), 255),
        product_type=_text(product.get("productType"), 255),
        created_at=parse_time(product.get("createdAt")),
        updated_at=parse_time(product.get("updatedAt")),
        images=tuple(images),
    )


_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


def _plain_text(body_html: Any) -> str:
    """Product.description is body_html without markup (Shopify's own plain-text rendering)."""
    if not isinstance(body_html, str):
        return ""
    return html.unescape(_SPACES.sub(" ", _TAGS.sub(" ", body_html))).strip()


def _webhook_details(payload: dict[str, Any]) -> dict[str, Any]:
    tags = payload.get("tags")
    if isinstance(tags, str):
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    else:
        tag_list = [str(t) for t in tags or [] if isinstance(t, str | int)]
    variants = []
    for raw in payload.get("variants") or []:
        if not isinstance(raw, dict):
            continue
        vgid = raw.get("admin_graphql_api_id")
        if not isinstance(vgid, str) and _int(raw.get("id")) is not None:
            vgid = f"gid://shopify/ProductVariant/{raw['id']}"
        if not isinstance(vgid, str):
            continue
        quantity = _int(raw.get("inventory_quantity")) or 0
        image_id = _int(raw.get("image_id"))
        variants.append(
            {
                "gid": vgid,
                "title": _text(raw.get("title"), 255) or "",
                "sku": _text(raw.get("sku"), 255),
                "price": str(raw.get("price")) if raw.get("price") is not None else None,
                # REST has no availableForSale: Shopify sells a variant in stock or one that may oversell
                "available_for_sale": quantity > 0 or raw.get("inventory_policy") == "continue",
                "image_gids": [f"{IMAGE_GID}{image_id}"] if image_id is not None else [],
            }
        )
    return {"description": _plain_text(payload.get("body_html")), "tags": tag_list, "variants": variants}


def _graphql_details(product: dict[str, Any]) -> dict[str, Any]:
    variants = []
    for node in (product.get("variants") or {}).get("nodes") or []:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        media = [m.get("id") for m in ((node.get("media") or {}).get("nodes") or []) if isinstance(m, dict)]
        variants.append(
            {
                "gid": node["id"],
                "title": _text(node.get("title"), 255) or "",
                "sku": _text(node.get("sku"), 255),
                "price": str(node.get("price")) if node.get("price") is not None else None,
                "available_for_sale": bool(node.get("availableForSale")),
                "media_gids": [m for m in media if isinstance(m, str)],
            }
        )
    tags = [str(t) for t in product.get("tags") or [] if isinstance(t, str)]
    return {"description": str(product.get("description") or ""), "tags": tags, "variants": variants}


def image_gid(gid: str) -> str:
    """GraphQL names a product photo `gid://shopify/ImageSource/N` (MediaImage.image.id); webhooks name the same
    photo `gid://shopify/ProductImage/N`. We key images by the ProductImage form."""
    prefix = "gid://shopify/ImageSource/"
    if gid.startswith(prefix) and gid[len(prefix) :].isdigit():
        return IMAGE_GID + gid[len(prefix) :]
    return gid[:128]


def _strip_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
