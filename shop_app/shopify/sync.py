"""Mirror Shopify products into our tables and queue generation for image content not seen before.

Webhooks (REST-shaped payloads) and the scheduler's scan (GraphQL) both end here, through ProductSnapshot,
so the rules are the same: a delivery older than what we hold is ignored, a deleted product stays deleted,
and a generation is queued once per image content version (`content_version`, from Shopify's `?v=`).
All functions take the shop and only touch that shop's rows; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlmodel import Session, select

from shop_app.jobs import commands
from shop_app.jobs.owners import ShopOwner
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import ACTIVE, QUEUED, Job
from shop_app.models.shopify import Product, ProductImage
from shop_app.shopify import model_cache

logger = logging.getLogger(__name__)

FAMILY = "shop"  # the job family of the embedded app's own generations
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


@dataclass
class SyncResult:
    product: Product | None
    outcome: str  # "created" | "updated" | "stale" | "deleted_product"
    queued_job_ids: list[str] = field(default_factory=list)
    dropped_job_ids: list[str] = field(default_factory=list)


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


def get_product(*, session: Session, shop: Shop, gid: str) -> Product | None:
    return session.exec(select(Product).where(Product.shop_id == shop.id, Product.gid == gid)).first()


def upsert_product(*, session: Session, shop: Shop, snapshot: ProductSnapshot) -> SyncResult:
    """Mirror one product of `shop` and queue generation for new image content (flushes, never commits)."""
    now = utcnow()
    product = get_product(session=session, shop=shop, gid=snapshot.gid)
    if product is not None and product.deleted_at is not None:
        # Shopify never reuses product ids: anything about a deleted product is a late delivery.
        return SyncResult(product, "deleted_product")
    if (
        product is not None
        and snapshot.updated_at is not None
        and product.shopify_updated_at is not None
        and snapshot.updated_at < product.shopify_updated_at
    ):
        return SyncResult(product, "stale")
    outcome = "updated"
    if product is None:
        product = Product(shop_id=shop.id, gid=snapshot.gid, created_at=now)  # type: ignore[arg-type]
        outcome = "created"
    product.title = snapshot.title
    product.handle = snapshot.handle
    product.status = snapshot.status
    product.vendor = snapshot.vendor
    product.product_type = snapshot.product_type
    if snapshot.details:
        product.details = snapshot.details
    product.shopify_created_at = snapshot.created_at or product.shopify_created_at
    product.shopify_updated_at = snapshot.updated_at or product.shopify_updated_at
    product.updated_at = now
    session.add(product)
    session.flush()
    # the product (title, variants, photos) may differ from its cached GET /api/nu3d answer
    model_cache.invalidate(session=session, shop=shop, product_id=product.id)
    result = SyncResult(product, outcome)

    existing = {
        image.gid: image
        for image in session.exec(
            select(ProductImage).where(ProductImage.shop_id == shop.id, ProductImage.product_id == product.id)
        ).all()
    }
    seen: set[str] = set()
    kept: set[int] = set()  # python ids of the rows that are still on the product
    for snap in snapshot.images:
        if snap.gid in seen:
            continue
        seen.add(snap.gid)
        image = existing.get(snap.gid)
        if image is None and snap.media_gid:
            image = next((i for i in existing.values() if i.media_gid == snap.media_gid), None)
        if image is None:
            other = session.exec(
                select(ProductImage).where(ProductImage.shop_id == shop.id, ProductImage.gid == snap.gid)
            ).first()
            if other is not None:
                logger.warning("image %s moved from product %s to %s", snap.gid, other.product_id, product.id)
                image = other
            else:
                image = ProductImage(
                    shop_id=shop.id,  # type: ignore[arg-type]  # stored rows: ids are set
                    product_id=product.id,  # type: ignore[arg-type]
                    gid=snap.gid,
                    url=snap.url,
                    content_version=snap.content_version,
                    created_at=now,
                )
        image.product_id = product.id  # type: ignore[assignment]
        image.gid = snap.gid
        image.url = snap.url
        image.content_version = snap.content_version
        image.position = snap.position
        image.media_gid = snap.media_gid or image.media_gid
        image.alt = snap.alt
        image.width = snap.width
        image.height = snap.height
        image.removed_at = None
        image.updated_at = now
        session.add(image)
        kept.add(id(image))
    for image in existing.values():
        if id(image) not in kept and image.removed_at is None:
            image.removed_at = now
            image.updated_at = now
            session.add(image)
            result.dropped_job_ids += _drop_pending(session, shop, image)
    session.flush()
    if product.status == "ACTIVE":
        result.queued_job_ids = queue_new_content(session=session, shop=shop, product=product)
    return result


VIEW_ORDER = ("front", "left", "back", "right")  # the engine's view order: counter-clockwise from above
_WORDS = re.compile(r"[a-z]+")


def view_label(alt: str | None, url: str | None) -> str | None:
    """The view a photo shows ("front", "left", "back", "right") when its alt text or file name says so.

    Only the last comma-separated part of the alt text counts ("Back to school mug, front" is a front view),
    then the file name ("mug-left.png"); a text naming two different views names none.
    """
    texts = []
    if alt:
        texts.append(alt.rsplit(",", 1)[-1])
    if url:
        texts.append(urlsplit(url).path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    for text in texts:
        named = {word for word in _WORDS.findall(text.lower()) if word in VIEW_ORDER}
        if len(named) == 1:
            return named.pop()
    return None


def plan_groups(images: Sequence[ProductImage]) -> list[list[ProductImage]]:
    """Split a product's current photos into generations: the labelled views of the object make ONE group
    in the engine's order (front, then left, back, right as long as each is present; the engine reads N
    photos as the first N views), every other photo is a group of its own. Ordered by first position."""
    ordered = sorted(images, key=lambda i: (i.position, i.id or 0))
    by_view: dict[str, ProductImage] = {}
    for image in ordered:
        label = view_label(image.alt, image.url)
        if label is not None and label not in by_view:
            by_view[label] = image
    views: list[ProductImage] = []
    for name in VIEW_ORDER:
        if name not in by_view:
            break
        views.append(by_view[name])
    if len(views) < 2:
        views = []
    in_group = {id(i) for i in views}
    groups: list[list[ProductImage]] = [[i] for i in ordered if id(i) not in in_group]
    if views:
        groups.append(views)
    return sorted(groups, key=lambda g: min(i.position for i in g))


def current_images(*, session: Session, shop: Shop, product_id: int) -> list[ProductImage]:
    return list(
        session.exec(
            select(ProductImage)
            .where(
                ProductImage.shop_id == shop.id,
                ProductImage.product_id == product_id,
                ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
            )
            .order_by(ProductImage.position)  # type: ignore[arg-type]
        ).all()
    )


def group_of(*, session: Session, shop: Shop, image: ProductImage) -> list[ProductImage]:
    """The photos generated together with `image` (itself alone for a removed or unlabelled photo);
    the first one is the group's lead, which carries the group's approval."""
    if image.removed_at is not None:
        return [image]
    for group in plan_groups(current_images(session=session, shop=shop, product_id=image.product_id)):
        if any(member.id == image.id for member in group):
            return group
    return [image]


def _group_is_current(session: Session, shop: Shop, group: list[ProductImage]) -> bool:
    job_ids = {image.job_id for image in group}
    if len(job_ids) != 1 or None in job_ids:
        return False
    if any(image.job_version != image.content_version for image in group):
        return False
    job = session.exec(select(Job).where(Job.id == group[0].job_id, Job.shop_id == shop.id)).first()
    # a photo added to or removed from the group changes what the model should be made of
    return job is not None and len((job.inputs or {}).get("image_urls") or []) == len(group)


def queue_group(
    *,
    session: Session,
    shop: Shop,
    product: Product,
    group: list[ProductImage],
    priority: int = 0,
    user_id: str | None = None,
    merchant: bool = False,
    params: dict[str, Any] | None = None,
) -> Job:
    """Queue one generation for `group` (its photos in view order) and point every photo of it at the job.
    Pending generations of the photos are dropped; a merchant's request also cancels a running one."""
    for image in group:
        if merchant and image.job_id:
            old = session.exec(select(Job).where(Job.id == image.job_id, Job.shop_id == shop.id)).first()
            if old is not None and old.status in ACTIVE:
                commands.cancel(session, old)
        else:
            _drop_pending(session, shop, image)
    if len(group) == 1:
        key = f"shopify-image:{group[0].gid}:{group[0].content_version}"
    else:
        digest = hashlib.sha256("\n".join(f"{i.gid}:{i.content_version}" for i in group).encode()).hexdigest()
        key = f"shopify-views:{group[0].gid}:{digest[:40]}"
    assert shop.id is not None  # noqa: S101 - a stored shop
    job = submit(
        session,
        SubmitRequest(
            family=FAMILY,
            owner=ShopOwner(shop_id=shop.id),
            images=Images.from_urls([image.url for image in group]),
            idempotency_key=None if merchant else key[:255],
            labels=Labels(
                name=(product.title or product.handle or product.gid)[:255],
                user_id=user_id,
                image_gid=group[0].gid,
            ),
            priority=priority,
            params=params or {},
        ),
    )
    now = utcnow()
    model_cache.invalidate(session=session, shop=shop, product_id=product.id)
    for image in group:
        image.job_id = job.id
        image.job_version = image.content_version
        image.enqueued_at = now
        session.add(image)
    session.flush()
    return job


def queue_new_content(*, session: Session, shop: Shop, product: Product) -> list[str]:
    """Queue one generation per photo group whose content (or membership) has no job yet; returns the new
    job ids. A changed photo of a multi-view group re-queues the whole group."""
    queued = []
    images = current_images(session=session, shop=shop, product_id=product.id)  # type: ignore[arg-type]
    for group in plan_groups(images):
        if _group_is_current(session, shop, group):
            continue
        job = queue_group(session=session, shop=shop, product=product, group=group)
        queued.append(job.id)
        logger.info(
            "queued generation %s for %s of %s",
            job.id,
            ", ".join(f"{i.gid} ({i.content_version})" for i in group),
            shop.domain,
        )
    session.flush()
    return queued


def _drop_pending(session: Session, shop: Shop, image: ProductImage) -> list[str]:
    """Cancel the image's generation if it has not started (a started one finishes; its result is kept)."""
    if not image.job_id:
        return []
    job = session.exec(select(Job).where(Job.id == image.job_id, Job.shop_id == shop.id)).first()
    if job is None or job.status != QUEUED:
        return []
    commands.cancel(session, job)
    logger.info("dropped queued generation %s of %s", job.id, image.gid)
    return [job.id]


def mark_product_deleted(*, session: Session, shop: Shop, gid: str) -> SyncResult:
    """products/delete: keep the rows (and any finished models) but stop its work, queued or running (a model
    made for a deleted product would be discarded anyway), and drop its cached GET /api/nu3d answer."""
    product = get_product(session=session, shop=shop, gid=gid)
    if product is None:
        return SyncResult(None, "unknown_product")
    if product.deleted_at is not None:
        return SyncResult(product, "already_deleted")
    now = utcnow()
    product.deleted_at = now
    product.updated_at = now
    session.add(product)
    result = SyncResult(product, "deleted")
    model_cache.invalidate(session=session, shop=shop, product_id=product.id)
    for image in session.exec(
        select(ProductImage).where(ProductImage.shop_id == shop.id, ProductImage.product_id == product.id)
    ).all():
        result.dropped_job_ids += _drop_pending(session, shop, image)
        job = session.get(Job, image.job_id) if image.job_id else None
        if job is not None and job.shop_id == shop.id and job.status in ACTIVE:
            commands.cancel(session, job)  # running: the worker stops at its next stage and keeps nothing
            result.dropped_job_ids.append(job.id)
    session.flush()
    return result
