"""Backfills for API clients: POST/GET /api/nu3d/backfill?shop= (the embedded UI's /app/api/backfill rules)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.routes.product_feed.common import FeedError, installed_shop, ok
from shop_app.shopify import backfill
from shop_app.web.json_body import strict_loads


def _shop(request: Request, *, writes: bool) -> Shop:
    with session_scope(request.state.db) as session:
        return installed_shop(request, session, writes=writes)


async def start(request: Request) -> Response:
    """Backfill all active products (`collection_id` null) or one collection's.
    ---
    requestBody: {description: '{"collection_id": "gid://shopify/Collection/…" | null}'}
    responses:
      202: {description: '{"success": true, "data": {"backfill": {...}}}'}
      400: {description: 'malformed body or collection id'}
      404: {description: 'store not installed, or no such collection'}
    """
    shop = await asyncio.to_thread(_shop, request, writes=True)
    raw = await request.body()
    try:
        body = strict_loads(raw) if raw.strip() else {}
    except ValueError:
        raise FeedError('The body must be JSON: {"collection_id": ... | null}', status_code=400) from None
    if not isinstance(body, dict):
        raise FeedError('The body must be a JSON object: {"collection_id": ... | null}', status_code=400)
    collection_id = backfill.parse_collection_id(body.get("collection_id"))
    row = await backfill.request_backfill(
        services=request.state.shopify, shop=shop, collection_id=collection_id, requested_by="api"
    )
    return ok("backfill started", {"backfill": backfill.as_json(row)}, status_code=202)


async def latest(request: Request) -> Response:
    """The shop's latest backfill (or null).
    ---
    responses:
      200: {description: '{"success": true, "data": {"backfill": {...} | null}}'}
    """
    shop = await asyncio.to_thread(_shop, request, writes=False)
    found = await asyncio.to_thread(backfill.latest_json, engine=request.state.db, shop=shop)
    return ok("backfill retrieved", {"backfill": found})
