"""What every topic's handler shares: its outcome type, the shop lookup, the compliance no-op handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from shop_app.models.core import Shop
from webhooks.delivery import WebhookDelivery

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str  # recorded on the webhook_event row
    orphaned_keys: list[str] = field(default_factory=list)  # storage keys to delete once committed


Handler = Callable[[Session, WebhookDelivery, Shop | None], Outcome]


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.exec(select(Shop).where(Shop.domain == domain)).first()


def record_no_customer_data(topic: str) -> Handler:
    """The handler for customer compliance topics: Nu3D stores no customer data, so it records and logs only."""

    def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:  # noqa: ARG001
        customer = delivery.payload.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        logger.info(
            "%s for %s, customer %s: Nu3D holds no customer data", topic, delivery.shop_domain, customer_id
        )
        return Outcome("no_customer_data")

    return handle
