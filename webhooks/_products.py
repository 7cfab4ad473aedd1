"""products/create and products/update share one handler: mirror the product, queue new image content."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from shop_app.errors import ValidationError
from shop_app.models.core import Shop
from shop_app.shopify.sync import SnapshotError, snapshot_from_webhook, upsert_product
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

logger = logging.getLogger(__name__)


def check_product(payload: dict[str, Any]) -> None:
    try:
        snapshot_from_webhook(payload)
    except SnapshotError as err:
        raise ValidationError(f"unusable product payload: {err}", code="INVALID_PAYLOAD") from None


def product_order_key(payload: dict[str, Any]) -> str:
    # create, update and delete of one product share a key: they are processed in the order received.
    return f"product:{snapshot_from_webhook(payload).gid}"


def handle_product(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    if shop is None or shop.uninstalled_at is not None:
        return Outcome("shop_not_installed")
    try:
        snapshot = snapshot_from_webhook(delivery.payload)
    except SnapshotError as err:
        logger.warning("unusable %s payload for %s: %s", delivery.topic, delivery.shop_domain, err)
        raise ValidationError(f"unusable {delivery.topic} payload: {err}", code="INVALID_PAYLOAD") from None
    result = upsert_product(session=session, shop=shop, snapshot=snapshot)
    if result.queued_job_ids:
        return Outcome(f"{result.outcome}; queued {len(result.queued_job_ids)}")
    return Outcome(result.outcome)
