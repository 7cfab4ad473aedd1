"""bulk_operations/finish: a backfill's bulk query ended. The scheduler's next backfill run reads the result
(it also polls, so a lost delivery only delays it); a failed operation is recorded on the backfill now."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from shop_app.errors import ValidationError
from shop_app.models.core import Shop
from shop_app.models.product_models import Backfill
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

TOPIC = "bulk_operations/finish"


def check(payload: dict[str, Any]) -> None:
    """Run before the delivery is acknowledged: a payload without an operation id is a 400 at once."""
    operation_id = payload.get("admin_graphql_api_id")
    if not isinstance(operation_id, str) or not operation_id.startswith("gid://shopify/BulkOperation/"):
        raise ValidationError(
            "bulk_operations/finish payload has no admin_graphql_api_id", code="INVALID_PAYLOAD"
        )


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    check(delivery.payload)
    operation_id = delivery.payload["admin_graphql_api_id"]
    if shop is None:
        return Outcome("unknown_shop")
    backfill = session.exec(
        select(Backfill).where(Backfill.shop_id == shop.id, Backfill.bulk_operation_id == operation_id)
    ).first()
    if backfill is None:
        return Outcome("no backfill for this operation")
    status = str(delivery.payload.get("status") or "")
    if status != "completed" and backfill.status == "running":
        backfill.error = (
            f"the bulk operation ended {status} ({delivery.payload.get('error_code') or 'no code'})"
        )
        session.add(backfill)
    return Outcome(f"backfill {backfill.id}: bulk operation {status}")
