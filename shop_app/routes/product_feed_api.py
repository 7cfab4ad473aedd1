"""GET /api/nu3d: a shop's products created today with their 3D models, in seed 001's shape.

The answer comes from stored state at once (images still generating say `processing`); `?wait=N` (N ≤ 30)
long-polls until nothing on the page is in flight or N seconds passed. Every answer, errors included, uses
the seed's envelope: `{"success", "message", "data"}` or `{"success": false, "error", "message"}` (500s add
`details` in development only). Access: open in development and test; in production an API key
(`X-API-Key` or `Authorization: Bearer`) unless NU3D_PRODUCT_FEED_PUBLIC opens it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.apikeys import find_api_key
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.shopify import product_feed
from shop_app.shopify.dbutil import write_scope
from shop_app.shopify.domains import InvalidShopDomain, validate_shop_domain

logger = logging.getLogger(__name__)

MAX_WAIT_S = 30
POLL_S = 0.5
SUCCESS_MESSAGE = "Nu3d products retrieved and processed successfully"


class FeedError(Exception):
    def __init__(self, status_code: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.error, self.message = status_code, error, message


def error_body(status_code: int, error: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": error, "message": message, **extra}, status_code=status_code
    )


def normalize_shop(raw: str | None) -> str:
    """`example` → `example.myshopify.com`; the full domain is kept; anything else is a 400."""
    if raw is None or raw == "":
        raise FeedError(400, "Validation Error", "Missing required query parameter: shop")
    candidate = raw.lower()
    if "." not in candidate:
        candidate = f"{candidate}.myshopify.com"
    try:
        return validate_shop_domain(candidate)
    except InvalidShopDomain:
        raise FeedError(400, "Validation Error", "Invalid shop domain") from None


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


def check_access(request: Request, session: Session, shop: Shop | None) -> None:
    settings = request.state.settings
    if settings.env != "production" or settings.product_feed_public:
        return
    presented = presented_key(request)
    if not presented:
        raise FeedError(
            401, "Unauthorized", "An API key is required: send it as 'X-API-Key: <key>' (nu3d apikey create)"
        )
    key = find_api_key(session=session, presented=presented)
    if key is None:
        raise FeedError(401, "Unauthorized", "The API key is not valid (unknown or revoked)")
    if key.shop_id is not None and (shop is None or key.shop_id != shop.id):
        raise FeedError(403, "Forbidden", "This API key belongs to another shop")


def installed_shop(request: Request, session: Session, domain: str) -> Shop:
    shop = session.exec(select(Shop).where(Shop.domain == domain)).first()
    check_access(request, session, shop)
    if shop is None or shop.uninstalled_at is not None or not shop.access_token_enc:
        raise FeedError(404, "Not Found", "Store not found or app not installed")
    return shop


def _wait_param(request: Request) -> int:
    raw = request.query_params.get("wait")
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or int(raw) > MAX_WAIT_S:
        raise FeedError(
            400, "Validation Error", f"wait must be a whole number of seconds from 0 to {MAX_WAIT_S}"
        )
    return int(raw)


def load_page(request: Request, domain: str, after: int) -> product_feed.FeedPage:
    sign = request.state.storage.url
    with session_scope(request.state.db) as session:
        shop = installed_shop(request, session, domain)
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
      500: {description: 'failed to retrieve nu3d products'}
    """
    try:
        domain = normalize_shop(request.query_params.get("shop"))
        wait_s = _wait_param(request)
        try:
            after = product_feed.decode_cursor(request.query_params.get("after"))
        except product_feed.InvalidCursor as err:
            raise FeedError(400, "Validation Error", f"Invalid cursor: {err}") from None
        deadline = time.monotonic() + wait_s
        page = await asyncio.to_thread(load_page, request, domain, after)
        while page.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
            page = await asyncio.to_thread(load_page, request, domain, after)
    except FeedError as err:
        return error_body(err.status_code, err.error, err.message)
    except Exception as err:
        logger.exception("GET /api/nu3d failed for %s", request.query_params.get("shop"))
        extra = {"details": repr(err)} if request.state.settings.env == "development" else {}
        return error_body(500, "Internal Server Error", "Failed to retrieve nu3d products", **extra)
    return JSONResponse({"success": True, "message": SUCCESS_MESSAGE, "data": page.as_json()})


routes: list[BaseRoute] = [Route("/api/nu3d", nu3d_products, methods=["GET"])]
