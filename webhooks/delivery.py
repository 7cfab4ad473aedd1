"""One authenticated webhook delivery, as the web process accepted it and the inbox processor replays it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str
    shop_domain: str
    webhook_id: str
    event_id: str  # X-Shopify-Event-Id, or the webhook id when Shopify sent none
    api_version: str
    triggered_at: datetime | None
    raw: bytes
    payload: dict[str, Any]
