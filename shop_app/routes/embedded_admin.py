"""JSON endpoints behind the embedded admin's index, summary and settings (session-token authenticated).

GET /app/api/index     filtered, searched, sorted, cursor-paged products (see shopify.admin_index)
GET /app/api/summary   counts for the summary cards, the shop's queue position and time left
GET /app/api/settings  the shop's settings;  PUT /app/api/settings  validated partial update
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.db import session_scope, write_scope
from shop_app.errors import ValidationError
from shop_app.shopify import admin_index, shop_settings
from shop_app.web.session_auth import ShopSession, session_token_required

logger = logging.getLogger(__name__)


@session_token_required
async def product_index(request: Request, auth: ShopSession) -> Response:
    """One page of the shop's products for the admin index.
    ---
    parameters:
      - {name: filter, in: query, schema: {type: string, enum: [all, needs_review, generating, approved, published, failed, rejected, no_model]}}
      - {name: q, in: query, description: 'words in the title', schema: {type: string}}
      - {name: sort, in: query, schema: {type: string, enum: [newest, oldest, title, title_desc]}}
      - {name: cursor, in: query, description: 'next_cursor of the previous page', schema: {type: string}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 250}}
    responses:
      200: {description: '{"products": [...], "next_cursor": str|null, "total": N, "filter", "sort", "q"}'}
      400: {description: 'unknown filter or sort, bad limit, or a cursor this app did not hand out'}
    """
    query = admin_index.IndexQuery.parse(dict(request.query_params))

    def load() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            views, next_cursor = admin_index.list_index(session=session, shop=auth.shop, query=query)
            total = admin_index.count_index(session=session, shop=auth.shop, query=query)
            return {
                "products": [v.as_json(None) for v in views],
                "next_cursor": next_cursor,
                "total": total,
                "filter": query.filter,
                "sort": query.sort,
                "q": query.q,
            }

    return JSONResponse(await asyncio.to_thread(load))


@session_token_required
async def summary(request: Request, auth: ShopSession) -> Response:
    """Counts for the summary: ready for review, generating (queue position, time left), published, failed.
    ---
    responses:
      200: {description: 'counts and `queue` {next_position, eta_s, live_workers, average_s}; `notify_failures`'}
    """

    def load() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            body = admin_index.summary(session=session, shop=auth.shop)
            body["notify_failures"] = shop_settings.get_settings(
                session=session, shop=auth.shop
            ).notify_failures
            return body

    return JSONResponse(await asyncio.to_thread(load))


@session_token_required
async def get_settings(request: Request, auth: ShopSession) -> Response:
    """The shop's settings (defaults until first saved).
    ---
    responses:
      200: {description: '{"settings": {auto_generate, face_limit, auto_publish, notify_failures, face_limit_range}}'}
    """

    def load() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            return {
                "settings": shop_settings.as_json(shop_settings.get_settings(session=session, shop=auth.shop))
            }

    return JSONResponse(await asyncio.to_thread(load))


@session_token_required
async def put_settings(request: Request, auth: ShopSession) -> Response:
    """Change some of the shop's settings; nothing is written unless every given field is valid.
    ---
    requestBody: {content: {application/json: {schema: {type: object}}}}
    responses:
      200: {description: '{"settings": {...}}'}
      400: {description: 'VALIDATION_ERROR with details.fields naming each bad field and why'}
    """
    try:
        body = await request.json()
    except ValueError:
        raise ValidationError('the body must be JSON, e.g. {"auto_generate": false}') from None

    def save() -> dict[str, Any]:
        with write_scope(request.state.db) as session:
            row = shop_settings.update_settings(session=session, shop=auth.shop, body=body)
            return {"settings": shop_settings.as_json(row)}

    return JSONResponse(await asyncio.to_thread(save))


routes: list[BaseRoute] = [
    Route("/app/api/index", product_index, methods=["GET"]),
    Route("/app/api/summary", summary, methods=["GET"]),
    Route("/app/api/settings", get_settings, methods=["GET"]),
    Route("/app/api/settings", put_settings, methods=["PUT"]),
]
