"""products/delete: mark the product deleted and drop its generations that have not started."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from shop_app.errors import ValidationError
from shop_app.models.core import Shop
from shop_app.shopify.sync import SnapshotError, mark_product_deleted, product_gid
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

TOPIC = "products/delete"


def check(payload: dict[str, Any]) -> None:
    try:
        product_gid(payload.get("id"))  # the payload is only {"id": <number>}
    except SnapshotError as err:
        raise ValidationError(f"unusable products/delete payload: {err}", code="INVALID_PAYLOAD") from None


def order_key(payload: dict[str, Any]) -> str:
    return f"product:{product_gid(payload.get('id'))}"  # the key of products/create and update too


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    try:
        gid = product_gid(delivery.payload.get("id"))  # the payload is only {"id": <number>}
    except SnapshotError as err:
        raise ValidationError(f"unusable products/delete payload: {err}", code="INVALID_PAYLOAD") from None
    if shop is None:
        return Outcome("shop_not_installed")
    result = mark_product_deleted(session=session, shop=shop, gid=gid)
    if result.dropped_job_ids:
        return Outcome(f"{result.outcome}; dropped {len(result.dropped_job_ids)}")
    return Outcome(result.outcome)
