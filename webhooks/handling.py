"""What every topic shares: dedupe on (shop, event id), one transaction per delivery, files removed after commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from shop_app.db import write_scope
from shop_app.models.core import Shop
from shop_app.models.shopify import WebhookEvent
from webhooks.verify import WebhookDelivery

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    status: str  # recorded on the webhook_event row and returned in the 200 body
    orphaned_keys: list[str] = field(default_factory=list)  # storage keys to delete once committed


Handler = Callable[[Session, WebhookDelivery, Shop | None], Outcome]


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.exec(select(Shop).where(Shop.domain == domain)).first()


def process(engine: Engine, delivery: WebhookDelivery, handler: Handler) -> Outcome:
    """Record the delivery and run its handler in one transaction; a repeat delivery does nothing.

    If the handler fails, the event row is rolled back with everything else, so Shopify's retry is processed.
    """
    with write_scope(engine) as session:
        event = WebhookEvent(
            shop_domain=delivery.shop_domain,
            event_id=delivery.event_id,
            webhook_id=delivery.webhook_id,
            topic=delivery.topic,
            api_version=delivery.api_version,
            triggered_at=delivery.triggered_at,
        )
        try:
            with session.begin_nested():
                session.add(event)
        except IntegrityError:
            logger.info(
                "duplicate webhook %s for %s (event %s): ignored",
                delivery.topic,
                delivery.shop_domain,
                delivery.event_id,
            )
            return Outcome("duplicate")
        outcome = handler(session, delivery, find_shop(session, delivery.shop_domain))
        event.outcome = outcome.status[:64]
        session.add(event)
    logger.info("webhook %s for %s: %s", delivery.topic, delivery.shop_domain, outcome.status)
    return outcome


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
