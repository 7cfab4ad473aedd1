"""The topics Nu3D subscribes to (see shopify.app.toml): one module each, looked up by topic name.

A topic module has `TOPIC` and `handle(session, delivery, shop)`; optionally `check(payload)`, a pure check
run before the delivery is acknowledged (a payload no handler could use gets its 400 at once, not a failed
row later), and `order_key(payload)`, what its deliveries are ordered by (default: the shop).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from webhooks import (
    app_scopes_update,
    app_uninstalled,
    bulk_operations_finish,
    customers_data_request,
    customers_redact,
    products_create,
    products_delete,
    products_update,
    shop_redact,
)
from webhooks.handling import Handler

TOPIC_MODULES: tuple[ModuleType, ...] = (
    products_create,
    products_update,
    products_delete,
    app_uninstalled,
    app_scopes_update,
    customers_data_request,
    customers_redact,
    shop_redact,
    bulk_operations_finish,
)
SHOP_ORDER_KEY = "shop"


@dataclass(frozen=True)
class Topic:
    name: str
    handle: Handler
    module: ModuleType

    def check(self, payload: dict[str, Any]) -> None:
        check = getattr(self.module, "check", None)
        if check is not None:
            check(payload)

    def order_key(self, payload: dict[str, Any]) -> str:
        key = getattr(self.module, "order_key", None)
        return key(payload)[:160] if key is not None else SHOP_ORDER_KEY


TOPICS: dict[str, Topic] = {m.TOPIC: Topic(name=m.TOPIC, handle=m.handle, module=m) for m in TOPIC_MODULES}
