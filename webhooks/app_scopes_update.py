"""app/scopes_update: store the scopes the merchant granted now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from shop_app.errors import ValidationError
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import WebhookEvent
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

TOPIC = "app/scopes_update"


def parse_scopes(value: object) -> str:
    # `current` is a list; some deliveries carry a comma string instead.
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise ValidationError("app/scopes_update payload has no `current` scope list", code="INVALID_PAYLOAD")
    return ",".join(sorted({s.strip() for s in items if s.strip()}))[:1024]


def check(payload: dict[str, Any]) -> None:
    parse_scopes(payload.get("current"))


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    scopes = parse_scopes(delivery.payload.get("current"))
    if shop is None:
        return Outcome("unknown_shop")
    if delivery.triggered_at is not None:
        newest = session.exec(
            select(func.max(WebhookEvent.triggered_at)).where(
                WebhookEvent.shop_domain == shop.domain,
                WebhookEvent.topic == TOPIC,
                WebhookEvent.event_id != delivery.event_id,
            )
        ).one()
        if newest is not None and newest > delivery.triggered_at:
            return Outcome("stale")
    shop.scopes = scopes
    shop.updated_at = utcnow()
    session.add(shop)
    return Outcome("scopes_updated")
