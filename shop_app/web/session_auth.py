"""Session-token authentication for the embedded UI's JSON endpoints.

`Authorization: Bearer <App Bridge session token>`; the shop comes from the verified token (`dest`), never
from a query parameter. Invalid or expired → 401 with `X-Shopify-Retry-Invalid-Session-Request: 1`, so
App Bridge fetches a fresh token and retries once.

    async def list_things(request):
        auth = await require_session(request)        # auth.shop is the Shop row, auth.token the claims
        ... query with shop_id == auth.shop.id ...
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response

from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.shopify.errors import ShopNotInstalled
from shop_app.shopify.session_token import SessionToken, bearer_token, verify_session_token


@dataclass(frozen=True)
class ShopSession:
    shop: Shop
    token: SessionToken


def _installed_shop(engine: Engine, domain: str) -> Shop | None:
    with session_scope(engine) as session:
        return session.exec(
            select(Shop).where(col(Shop.domain) == domain, col(Shop.uninstalled_at).is_(None))
        ).first()


async def require_session(request: Request) -> ShopSession:
    settings = request.state.settings
    token = verify_session_token(
        bearer_token(request.headers.get("Authorization")),
        api_key=settings.shopify_api_key,
        api_secret=settings.shopify_api_secret.get_secret_value(),
    )
    shop = await asyncio.to_thread(_installed_shop, request.state.db, token.shop)
    if shop is None:
        raise ShopNotInstalled(f"{token.shop} has not installed Nu3D; open it from the Shopify admin")
    session = ShopSession(shop=shop, token=token)
    request.state.shop_session = session
    return session


Endpoint = Callable[[Request], Awaitable[Response]]


def session_token_required(endpoint: Callable[[Request, ShopSession], Awaitable[Response]]) -> Endpoint:
    """Decorator form: the endpoint receives the verified ShopSession as its second argument."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        return await endpoint(request, await require_session(request))

    wrapper.session_token_required = True  # type: ignore[attr-defined]  # the tenant-isolation test finds these
    return wrapper
