"""customers/redact (mandatory compliance topic): Nu3D stores no customer data, so the request is recorded only."""

from __future__ import annotations

import logging

from sqlmodel import Session

from shop_app.models.core import Shop
from webhooks.handling import Outcome
from webhooks.verify import WebhookDelivery

logger = logging.getLogger(__name__)

TOPIC = "customers/redact"


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:  # noqa: ARG001
    customer = delivery.payload.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else None
    logger.info(
        "%s for %s, customer %s: Nu3D holds no customer data", TOPIC, delivery.shop_domain, customer_id
    )
    return Outcome("no_customer_data")
