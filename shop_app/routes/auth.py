"""Authorization code grant, for non-embedded and legacy installs (embedded installs use token exchange).

GET /auth?shop=...        → redirect to the shop's authorize page with a state nonce, kept in a signed,
                            short-lived, HttpOnly cookie scoped to the callback.
GET /auth/callback?...    → state (constant time), HMAC, shop and timestamp checks, then the code is
                            exchanged for an expiring offline token (`expiring=1`).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.errors import AppError
from shop_app.shopify.domains import validate_host, validate_shop_domain
from shop_app.shopify.errors import InvalidOAuthRequest, ShopifyAuthError, ShopifyError
from shop_app.shopify.oauth import (
    STATE_COOKIE,
    STATE_TTL_S,
    authorize_url,
    check_state,
    new_state,
    sign_state,
    verify_query,
)
from shop_app.web.pages import admin_app_url, message_page

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"


async def begin(request: Request) -> Response:
    """Start the authorization code grant for `shop`.
    ---
    parameters:
      - {name: shop, in: query, required: true, schema: {type: string}}
    responses:
      302: {description: "to the shop's OAuth authorize page"}
      400: {description: 'invalid shop, or a signed query whose hmac/timestamp fails'}
    """
    settings = request.state.settings
    params = list(request.query_params.multi_items())
    try:
        shop = validate_shop_domain(request.query_params.get("shop"))
        if "hmac" in request.query_params:  # an install link from Shopify is signed; check it when present
            verify_query(params, settings.shopify_api_secret.get_secret_value())
    except AppError as err:
        logger.info("GET /auth refused: %s", err.message)
        return message_page(request, err.status_code, "Cannot install Nu3D", err.message)
    nonce = new_state()
    location = authorize_url(
        shop=shop,
        admin_base=settings.shopify_admin_base,
        api_key=settings.shopify_api_key,
        scopes=settings.shopify_scopes,
        redirect_uri=f"{settings.app_url}{CALLBACK_PATH}",
        state=nonce,
    )
    response = RedirectResponse(location, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        sign_state(nonce, shop, settings.secret_key.get_secret_value()),
        max_age=STATE_TTL_S,
        path=CALLBACK_PATH,
        httponly=True,
        secure=urlsplit(settings.app_url).scheme == "https",
        samesite="lax",
    )
    return response


async def callback(request: Request) -> Response:
    """Finish the authorization code grant.
    ---
    responses:
      302: {description: 'into the app inside the Shopify admin'}
      400: {description: 'bad state, hmac, shop or timestamp'}
      401: {description: 'Shopify refused the code'}
    """
    settings = request.state.settings
    params = list(request.query_params.multi_items())
    query = request.query_params
    try:
        shop = validate_shop_domain(query.get("shop"))
        check_state(
            request.cookies.get(STATE_COOKIE),
            query.get("state"),
            shop,
            settings.secret_key.get_secret_value(),
        )
        verify_query(params, settings.shopify_api_secret.get_secret_value())
        host = query.get("host")
        if host is not None:
            validate_host(host, shop)
        code = query.get("code")
        if not code or len(code) > 512:
            raise InvalidOAuthRequest("missing authorization code")
    except AppError as err:
        logger.info("GET /auth/callback refused: %s", err.message)
        return message_page(request, err.status_code, "Cannot install Nu3D", err.message)
    services = request.state.shopify
    try:
        grant = await services.oauth.exchange_code(shop, code)
        await services.complete_install(shop, grant)
    except ShopifyAuthError as err:
        return message_page(request, 401, "Cannot install Nu3D", err.message)
    except ShopifyError as err:
        return message_page(
            request, 503, "Shopify is not answering", f"{err.message}. Try again in a moment."
        )
    logger.info("%s installed Nu3D through the authorization code grant", shop)
    target = admin_app_url(shop, host, request)
    if not settings.shopify_admin_base and not host:
        target = f"/app?{urlencode({'shop': shop})}"
    response = RedirectResponse(target, status_code=302)
    response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    return response


routes: list[BaseRoute] = [
    Route("/auth", begin, methods=["GET"]),
    Route(CALLBACK_PATH, callback, methods=["GET"]),
]
