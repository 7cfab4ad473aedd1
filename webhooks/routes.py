"""Webhook routes, mounted by shop_app.app under /webhooks. One module per topic (see shopify.app.toml)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

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
from webhooks.handling import process
from webhooks.verify import read_delivery

logger = logging.getLogger(__name__)

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


def _endpoint(module: ModuleType) -> Callable[[Request], Awaitable[Response]]:
    topic: str = module.TOPIC

    async def receive(request: Request) -> Response:
        settings = request.state.settings
        delivery = await read_delivery(
            request, secret=settings.shopify_api_secret.get_secret_value(), expected_topic=topic
        )
        outcome = await asyncio.to_thread(process, request.state.db, delivery, module.handle)
        storage = request.state.storage
        for key in outcome.orphaned_keys:
            try:
                await asyncio.to_thread(storage.delete, key)
            except Exception as err:  # the rows are gone; a leftover file is logged, not retried by Shopify
                logger.warning("could not delete %s after %s: %r", key, topic, err)
        return JSONResponse({"ok": True, "topic": topic, "outcome": outcome.status})

    receive.__name__ = f"webhook_{topic.replace('/', '_')}"
    receive.__doc__ = (
        f"Shopify `{topic}` webhook (HMAC-verified, deduplicated by event id).\n---\n"
        "requestBody: {required: true, content: {application/json: {schema: {type: object}}}}\n"
        "responses: {200: {description: the delivery was processed or was a repeat}, "
        "401: {description: the HMAC does not match}}\n"
    )
    return receive


routes: list[BaseRoute] = [
    Route(f"/{module.TOPIC}", _endpoint(module), methods=["POST"]) for module in TOPIC_MODULES
]
