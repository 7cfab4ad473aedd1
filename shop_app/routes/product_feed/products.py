"""GET /api/nu3d: a shop's products created today with their 3D models, in seed 001's shape.

The answer comes from stored state at once (images still generating say `processing`); `?wait=N` (N ≤ 30)
long-polls until nothing on the page is in flight or N seconds passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.db import session_scope, write_scope
from shop_app.models.core import Shop
from shop_app.routes.product_feed.common import FeedError, installed_shop, normalize_shop, ok
from shop_app.shopify import product_feed
from shop_app.web.auth import presented_key
from shop_app.web.state import app_state

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30
POLL_S = 0.5
SUCCESS_MESSAGE = "Nu3d products retrieved and processed successfully"


def _wait_param(request: Request) -> int:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or int(raw) > MAX_WAIT_S:
        raise FeedError(f"wait must be a whole number of seconds from 0 to {MAX_WAIT_S}", status_code=400)
    return int(raw)


def load_page(request: Request, after: int) -> product_feed.FeedPage:
    sign = request.state.storage.url
    with session_scope(request.state.db) as session:
        shop = installed_shop(request, session)
        page, finished = product_feed.feed_page(session=session, shop=shop, after=after, sign=sign)
    if finished:
        with write_scope(request.state.db) as session:
            shop_row = session.get(Shop, shop.id)
            if shop_row is not None:
                product_feed.store_finished(session=session, shop=shop_row, finished=finished)
    return page


async def nu3d_products(request: Request) -> Response:
    """Today's ACTIVE products of a shop with their 3D models (seed 001), 5 per page.
    ---
    parameters:
      - {name: shop, in: query, required: true, schema: {type: string}, description: 'name or name.myshopify.com'}
      - {name: after, in: query, schema: {type: string}, description: 'pageInfo.endCursor of the previous page'}
      - {name: wait, in: query, schema: {type: integer, minimum: 0, maximum: 30}, description: 'long-poll seconds'}
    responses:
      200: {description: '{"success": true, "message", "data": {"products", "total", "pageInfo", "filters"}}'}
      400: {description: 'missing or invalid shop, cursor or wait'}
      401: {description: 'production without an API key'}
      404: {description: 'store not found or app not installed'}
      500: {description: 'failed to retrieve nu3d products (details in development)'}
    """
    try:
        wait_s = _wait_param(request)
        try:
            after = product_feed.decode_cursor(request.query_params.get("after"))
        except product_feed.InvalidCursor as err:
            raise FeedError(f"Invalid cursor: {err}", status_code=400) from None
        memo = app_state(request).feed_pages
        memo_key = _memo_key(request, after)
        remembered = memo.get(memo_key)
        if remembered is not None:
            return Response(remembered, media_type="application/json")
        deadline = time.monotonic() + wait_s
        page = await asyncio.to_thread(load_page, request, after)
        while page.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
            page = await asyncio.to_thread(load_page, request, after)
    except FeedError:
        raise
    except Exception as err:
        if request.state.settings.env != "development":
            raise  # the family renders it: 500 in the seed's shape, without details
        logger.exception("GET /api/nu3d failed for %s", request.query_params.get("shop"))
        body = {
            "success": False,
            "error": "Internal Server Error",
            "message": "Failed to retrieve nu3d products",
            "details": repr(err),
        }
        return JSONResponse(body, status_code=500)
    answer = ok(SUCCESS_MESSAGE, page.as_json())
    if page.from_cache and not page.in_flight:  # a page being built or generating is not remembered
        memo.put(memo_key, bytes(answer.body))
    return answer


def _memo_key(request: Request, after: int) -> tuple[str, int, str]:
    """What a feed answer depends on: the shop, the page and the credential that was granted it."""
    presented = presented_key(request) or ""
    return (
        normalize_shop(request.query_params.get("shop")),
        after,
        hashlib.sha256(presented.encode()).hexdigest(),
    )
