"""The embedded app's document routes: GET /app (and sub-pages), the session-token bounce page, and the
middleware that puts `Content-Security-Policy: frame-ancestors` on every HTML response.

GET /app, in order (as Shopify's own app libraries do):
1. `shop` must be `name.myshopify.com` and `host` must be the base64 admin location of that shop (400).
2. When the query carries `hmac`, it must verify and its `timestamp` be fresh (400).
3. Not embedded → redirect into the Shopify admin (or to /auth for a shop with no host).
4. Embedded without `id_token` → the bounce page, where App Bridge reloads the URL with a fresh `id_token`.
5. `id_token` must verify (401; expired → bounce) and name the same shop (401).
6. No usable offline token → token exchange for an expiring offline token; then the admin shell.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop_app.db import session_scope
from shop_app.errors import AppError, NotFound
from shop_app.models.core import Shop
from shop_app.shopify.domains import is_valid_shop_domain, shop_base_url, validate_host, validate_shop_domain
from shop_app.shopify.errors import InvalidSessionToken, ShopifyAuthError, ShopifyError
from shop_app.shopify.oauth import verify_query
from shop_app.shopify.services import ShopifyServices
from shop_app.shopify.session_token import verify_session_token
from shop_app.shopify.tokens import needs_refresh
from shop_app.web.pages import (
    SHOPIFY_ADMIN_ORIGIN,
    admin_app_url,
    landing_page,
    message_page,
    render,
    shopify_scripts,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 50  # products per page of the admin index


# ---------------------------------------------------------------- headers on every HTML response


def frame_ancestors(shop: str | None, admin_base: str | None) -> str:
    """The CSP for a document: only the shop's admin may frame us; nobody when the shop is unknown."""
    if not shop or not is_valid_shop_domain(shop):
        return "frame-ancestors 'none';"
    sources = [f"https://{shop.lower()}", SHOPIFY_ADMIN_ORIGIN]
    if admin_base:  # the devstore's admin page frames the app from its own origin
        parts = urlsplit(admin_base)
        sources.append(f"{parts.scheme}://{parts.netloc}")
    return f"frame-ancestors {' '.join(sources)};"


class EmbeddedHeadersMiddleware:
    """Adds `Content-Security-Policy: frame-ancestors ...` to every text/html response of the app."""

    def __init__(self, app: ASGIApp, *, admin_base: str | None = None) -> None:
        self.app = app
        self.admin_base = admin_base

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_csp(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    # Computed only for a document: most responses are JSON (polls) and never carry it.
                    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
                    policy = frame_ancestors(query.get("shop"), self.admin_base).encode()
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-security-policy"]
                    headers.append((b"content-security-policy", policy))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_csp)


# ---------------------------------------------------------------- GET /app


def _services(request: Request) -> ShopifyServices:
    return request.state.shopify


def _bounce_url(request: Request, params: list[tuple[str, str]]) -> str:
    # The reload URL drops id_token (App Bridge adds a fresh one) and hmac/timestamp (they would no longer
    # match once id_token is added; the session token is the proof on reload).
    keep = [(k, v) for k, v in params if k not in {"id_token", "hmac", "timestamp"}]
    app_url = request.state.settings.app_url
    reload_url = f"{app_url}{request.url.path}?{urlencode(keep)}"
    return f"/auth/session-token?{urlencode([*keep, ('shopify-reload', reload_url)])}"


async def app_home(request: Request) -> Response:
    """The embedded admin shell (see the module docstring for the checks, in order).
    ---
    responses:
      200: {description: 'the admin shell (HTML)'}
      302: {description: 'to the bounce page or into the Shopify admin'}
      400: {description: 'invalid shop, host, hmac or timestamp'}
      401: {description: 'invalid session token'}
    """
    settings = request.state.settings
    if str(request.path_params.get("page", "")).startswith("api/"):
        raise NotFound(f"no API endpoint {request.url.path}")
    params = list(request.query_params.multi_items())
    query = dict(params)
    try:
        if "shop" not in query:
            return landing_page(request, status_code=200 if request.url.path == "/" else 400)
        shop = validate_shop_domain(query.get("shop"))
        host = query.get("host")
        if host is not None or query.get("embedded") == "1":
            validate_host(host, shop)
        if "hmac" in query:
            verify_query(params, settings.shopify_api_secret.get_secret_value())
    except AppError as err:
        logger.info("GET %s refused: %s", request.url.path, err.message)
        return message_page(request, err.status_code, "Cannot open Nu3D", err.message)

    if query.get("embedded") != "1":
        # Outside the admin: the app lives inside it (Shopify installs it there on first open).
        return RedirectResponse(admin_app_url(shop, host, request), status_code=302)
    id_token = query.get("id_token")
    if not id_token:
        return RedirectResponse(_bounce_url(request, params), status_code=302)
    try:
        token = verify_session_token(
            id_token,
            api_key=settings.shopify_api_key,
            api_secret=settings.shopify_api_secret.get_secret_value(),
        )
        if token.shop != shop:
            logger.info("session token for %s used on a request for %s", token.shop, shop)
            raise InvalidSessionToken("issued for another shop")
    except InvalidSessionToken as err:
        if err.reason == "expired":
            return RedirectResponse(_bounce_url(request, params), status_code=302)
        return message_page(request, 401, "Cannot open Nu3D", err.message)

    try:
        row = await _ensure_offline_token(request, shop, id_token)
    except ShopifyAuthError as err:
        return message_page(request, 401, "Cannot open Nu3D", err.message)
    except ShopifyError as err:
        return message_page(
            request, 503, "Shopify is not answering", f"{err.message}. Try again in a moment."
        )
    return render(
        "app_home.html",
        api_key=settings.shopify_api_key,
        scripts=shopify_scripts(settings.shopify_admin_base),
        shop=row,
        initial={
            "shop": row.domain,
            "page_size": PAGE_SIZE,
            **_shop_links(row.domain, settings.shopify_admin_base),
        },
    )


def _shop_links(shop: str, admin_base: str | None) -> dict[str, str]:
    """Where the product page links to: the product in the Shopify admin, and the shop's storefront."""
    if admin_base:
        base = shop_base_url(shop, admin_base)
        return {"admin_products_url": f"{base}/admin/products", "storefront_url": base}
    store = shop.removesuffix(".myshopify.com")
    return {
        "admin_products_url": f"{SHOPIFY_ADMIN_ORIGIN}/store/{store}/products",
        "storefront_url": f"https://{shop}",
    }


def _load_shop(request: Request, domain: str) -> Shop | None:
    from sqlmodel import select

    with session_scope(request.state.db) as session:
        return session.exec(select(Shop).where(Shop.domain == domain)).first()


async def _ensure_offline_token(request: Request, shop: str, id_token: str) -> Shop:
    """Token exchange when the shop has no usable offline token or it is within 5 minutes of expiry."""
    row = await asyncio.to_thread(_load_shop, request, shop)
    usable = (
        row is not None
        and row.access_token_enc
        and row.uninstalled_at is None
        and not row.needs_reauth
        and not needs_refresh(row.access_token_expires_at)
    )
    if usable:
        assert row is not None  # noqa: S101
        return row
    services = _services(request)
    grant = await services.oauth.exchange_session_token(shop, id_token)
    return await services.complete_install(shop, grant)


async def session_token_bounce(request: Request) -> Response:
    """The bounce page: App Bridge alone, which reloads `shopify-reload` with a fresh `id_token`.
    ---
    responses:
      200: {description: 'App Bridge bootstrap page (HTML)'}
      400: {description: 'invalid shop'}
    """
    query = request.query_params
    try:
        shop = validate_shop_domain(query.get("shop"))
        reload_url = query.get("shopify-reload", "")
        app_url = request.state.settings.app_url
        if reload_url and not reload_url.startswith(f"{app_url}/"):
            return message_page(request, 400, "Cannot open Nu3D", "shopify-reload must point at this app")
    except AppError as err:
        return message_page(request, err.status_code, "Cannot open Nu3D", err.message)
    logger.debug("bounce page for %s", shop)
    return render(
        "bounce.html",
        api_key=request.state.settings.shopify_api_key,
        scripts=shopify_scripts(request.state.settings.shopify_admin_base),
    )


routes: list[BaseRoute] = [
    # "/" is application_url itself (the admin iframe's first load); "/app" keeps existing links working;
    # either, opened outside the admin without a shop, is the landing page
    Route("/", app_home, methods=["GET"]),
    Route("/app", app_home, methods=["GET"]),
    Route("/app/{page:path}", app_home, methods=["GET"]),
    Route("/auth/session-token", session_token_bounce, methods=["GET"]),
]
