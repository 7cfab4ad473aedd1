"""Queue and cancel generations for a product's photo groups (one job per group content version)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlmodel import Session, select

from shop_app.jobs import commands
from shop_app.jobs.owners import ShopOwner
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import ACTIVE, QUEUED, Job
from shop_app.models.shopify import Product, ProductImage
from shop_app.shopify import model_cache, shop_settings
from shop_app.shopify.photo_groups import current_images, plan_groups

logger = logging.getLogger(__name__)

FAMILY = "shop"  # the job family of the embedded app's own generations


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
            drop_pending(session, shop, image)
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
            params={**shop_settings.engine_params(session=session, shop=shop), **(params or {})},
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


def drop_pending(session: Session, shop: Shop, image: ProductImage) -> list[str]:
    """Cancel the image's generation if it has not started (a started one finishes; its result is kept)."""
    if not image.job_id:
        return []
    job = session.exec(select(Job).where(Job.id == image.job_id, Job.shop_id == shop.id)).first()
    if job is None or job.status != QUEUED:
        return []
    commands.cancel(session, job)
    logger.info("dropped queued generation %s of %s", job.id, image.gid)
    return [job.id]
