"""products/update: mirror the product and queue generation for image content not seen before."""

from __future__ import annotations

from webhooks._products import handle_product as handle

TOPIC = "products/update"

__all__ = ["TOPIC", "handle"]
