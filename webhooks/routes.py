"""Webhook routes, mounted by shop_app.app under /webhooks: authenticate, record, acknowledge.

The answer comes right after one INSERT into the inbox; the scheduler processes the delivery afterwards
(webhooks/inbox.py). Body: {"ok": true, "topic": ..., "outcome": "accepted" | "duplicate"}.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from webhooks.inbox import record
from webhooks.topics import TOPICS, Topic
from webhooks.verify import read_delivery

logger = logging.getLogger(__name__)


def _endpoint(topic: Topic) -> Callable[[Request], Awaitable[Response]]:
    async def receive(request: Request) -> Response:
        settings = request.state.settings
        delivery = await read_delivery(
            request,
            secret=settings.shopify_api_secret.get_secret_value(),
            expected_topic=topic.name,
            max_age_s=settings.webhook_max_age_s,
        )
        topic.check(delivery.payload)
        stored = await asyncio.to_thread(
            record, request.state.db, delivery, order_key=topic.order_key(delivery.payload)
        )
        if not stored:
            logger.info(
                "duplicate webhook %s for %s (event %s): ignored",
                topic.name,
                delivery.shop_domain,
                delivery.event_id,
            )
        return JSONResponse(
            {"ok": True, "topic": topic.name, "outcome": "accepted" if stored else "duplicate"}
        )

    receive.__name__ = f"webhook_{topic.name.replace('/', '_')}"
    receive.__doc__ = (
        f"Shopify `{topic.name}` webhook (HMAC-verified, bound to its shop and delivery window, deduplicated, "
        "recorded and processed afterwards).\n---\n"
        "requestBody: {required: true, content: {application/json: {schema: {type: object}}}}\n"
        "responses: {200: {description: the delivery was recorded (accepted) or was a repeat (duplicate)}, "
        "400: {description: a stale delivery or a payload for another shop}, "
        "401: {description: the HMAC does not match}}\n"
    )
    return receive


routes: list[BaseRoute] = [
    Route(f"/{topic.name}", _endpoint(topic), methods=["POST"]) for topic in TOPICS.values()
]
