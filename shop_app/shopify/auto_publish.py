"""Shops that chose "publish without review": their finished models are approved by the pipeline itself, then
published by the scheduler's publishing step like any approval."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlmodel import select

from shop_app.db import write_scope
from shop_app.models.core import Shop
from shop_app.models.jobs import SUCCEEDED, Job
from shop_app.models.shopify import Approval, ProductImage
from shop_app.shopify import photo_groups, review, shop_settings

logger = logging.getLogger(__name__)

AUTO_USER = "nu3d:auto-publish"


def approve_ready_models(engine: Engine, *, limit: int = 200) -> int:
    """Approve up to `limit` finished, undecided models of auto-publishing shops; returns how many."""
    approved = 0
    with write_scope(engine) as session:
        shop_ids = shop_settings.auto_publish_shop_ids(session=session)
        if not shop_ids:
            return 0
        rows = session.exec(
            select(ProductImage, Shop)
            .join(Job, Job.id == ProductImage.job_id)  # type: ignore[arg-type]
            .join(Shop, Shop.id == ProductImage.shop_id)  # type: ignore[arg-type]
            .join(Approval, Approval.product_image_id == ProductImage.id, isouter=True)  # type: ignore[arg-type]
            .where(
                ProductImage.shop_id.in_(shop_ids),  # type: ignore[attr-defined]
                ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
                Job.status == SUCCEEDED,
                Approval.id.is_(None),  # type: ignore[union-attr]
                Shop.uninstalled_at.is_(None),  # type: ignore[union-attr]
            )
            .limit(limit)
        ).all()
        for image, shop in rows:
            # a multi-view group has one decision, on its lead photo
            if photo_groups.group_of(session=session, shop=shop, image=image)[0].id != image.id:
                continue
            review.approve(session=session, shop=shop, image=image, user_id=AUTO_USER)
            approved += 1
    if approved:
        logger.info("auto-publish approved %d finished models", approved)
    return approved
