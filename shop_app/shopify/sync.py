"""Mirror Shopify products into our tables and queue generation for image content not seen before.

Webhooks (REST-shaped payloads) and the scheduler's scan (GraphQL) both end here, through ProductSnapshot,
so the rules are the same: a delivery older than what we hold is ignored, a deleted product stays deleted,
and a generation is queued once per image content version (`content_version`, from Shopify's `?v=`).
All functions take the shop and only touch that shop's rows; the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import Session, select

from shop_app.jobs import commands
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import ACTIVE, Job
from shop_app.models.shopify import Product, ProductImage
from shop_app.shopify import model_cache, shop_settings
from shop_app.shopify.generation_queue import drop_pending, queue_new_content
from shop_app.shopify.photo_groups import view_label
from shop_app.shopify.snapshots import (
    ImageSnapshot,
    ProductSnapshot,
    SnapshotError,
    parse_time,
    product_gid,
    snapshot_from_graphql,
    snapshot_from_webhook,
)

logger = logging.getLogger(__name__)

# webhooks/, scheduler/, bench/ and tests import the snapshot names (and view_label) from here
__all__ = [
    "ImageSnapshot",
    "ProductSnapshot",
    "SnapshotError",
    "SyncResult",
    "get_product",
    "mark_product_deleted",
    "parse_time",
    "product_gid",
    "snapshot_from_graphql",
    "snapshot_from_webhook",
    "upsert_product",
    "view_label",
]


@dataclass
class SyncResult:
    product: Product | None
    outcome: str  # "created" | "updated" | "stale" | "deleted_product"
    queued_job_ids: list[str] = field(default_factory=list)
    dropped_job_ids: list[str] = field(default_factory=list)


def get_product(*, session: Session, shop: Shop, gid: str) -> Product | None:
    return session.exec(select(Product).where(Product.shop_id == shop.id, Product.gid == gid)).first()


def upsert_product(
    *, session: Session, shop: Shop, snapshot: ProductSnapshot, queue: bool | None = None
) -> SyncResult:
    """Mirror one product of `shop` and queue generation for new image content (flushes, never commits).
    `queue` None follows the shop's "new products automatically" setting; True/False overrides it."""
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
            result.dropped_job_ids += drop_pending(session, shop, image)
    session.flush()
    if queue is None:  # webhooks and scans follow the merchant's choice; a backfill asks explicitly
        queue = shop_settings.generates_automatically(session=session, shop=shop)
    if product.status == "ACTIVE" and queue:
        result.queued_job_ids = queue_new_content(session=session, shop=shop, product=product)
    return result


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
        result.dropped_job_ids += drop_pending(session, shop, image)
        job = session.get(Job, image.job_id) if image.job_id else None
        if job is not None and job.shop_id == shop.id and job.status in ACTIVE:
            commands.cancel(session, job)  # running: the worker stops at its next stage and keeps nothing
            result.dropped_job_ids.append(job.id)
    session.flush()
    return result
