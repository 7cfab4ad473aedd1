"""The product-level model cache behind GET /api/nu3d: one row per finished product (shop + product).

A row is written by the feed once every image of the product has finished and at least one succeeded, and is
served as is (`cached: true`, no Shopify call, no job lookups) until something that changes the answer
happens: the product or its images change (webhook, scan), a generation is queued for it (regenerate), an
approval changes (approve, reject, withdraw, publish progress), the product is deleted; shop/redact deletes
the shop and the rows cascade. Every function takes the shop and the caller's transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shop_app.models.core import Shop
from shop_app.models.product_models import ProductModelCache
from shop_app.models.shopify import ProductImage

logger = logging.getLogger(__name__)


def store(*, session: Session, shop: Shop, product_id: int, payload: dict[str, Any]) -> bool:
    """Write one product's finished answer; False when another request wrote it first (same answer)."""
    try:
        with session.begin_nested():
            session.add(ProductModelCache(shop_id=shop.id, product_id=product_id, payload=payload))  # type: ignore[arg-type]
    except IntegrityError:
        return False
    return True


def invalidate(*, session: Session, shop: Shop, product_id: int | None) -> int:
    """Forget the product's cached answer (the next GET /api/nu3d rebuilds it from stored state)."""
    if product_id is None:
        return 0
    result = session.execute(
        delete(ProductModelCache).where(
            ProductModelCache.shop_id == shop.id,  # type: ignore[arg-type]
            ProductModelCache.product_id == product_id,  # type: ignore[arg-type]
        )
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        logger.debug("model cache: dropped product %s of %s", product_id, shop.domain)
    return count


def invalidate_image(*, session: Session, shop: Shop, image_id: int) -> int:
    image = session.exec(
        select(ProductImage).where(ProductImage.shop_id == shop.id, ProductImage.id == image_id)
    ).first()
    return invalidate(session=session, shop=shop, product_id=image.product_id if image else None)
