"""products/update: mirror the product and queue generation for image content not seen before."""

from __future__ import annotations

from webhooks._products import check_product as check
from webhooks._products import handle_product as handle
from webhooks._products import product_order_key as order_key

TOPIC = "products/update"

__all__ = ["TOPIC", "check", "handle", "order_key"]
