"""What the /api/nu3d endpoints share: the seed's envelope, shop normalisation, access rules."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.apikeys import find_api_key, is_admin
from shop_app.errors import AppError
from shop_app.models import ApiKey
from shop_app.models.core import Shop
from shop_app.shopify.domains import InvalidShopDomain, validate_shop_domain
from shop_app.web.auth import presented_key

FAMILY = "nu3d"
PREFIX = "/api/nu3d"
# the seed's `error` word for each status
ERROR_WORDS = {
    400: "Validation Error",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Validation Error",
    429: "Too Many Requests",
}


class FeedError(AppError):
    """An error in seed 001's envelope: `{"success": false, "error": <word>, "message"}`."""


def render_error(err: AppError) -> Response:
    if err.status_code >= 500:
        body: dict[str, Any] = {
            "success": False,
            "error": "Internal Server Error",
            "message": "Failed to retrieve nu3d products",
        }
    else:
        body = {"success": False, "error": ERROR_WORDS.get(err.status_code, "Error"), "message": err.message}
    return JSONResponse(body, status_code=err.status_code, headers=err.headers)


def ok(message: str, data: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "message": message, "data": data}, status_code=status_code)


def normalize_shop(raw: str | None) -> str:
    """`example` → `example.myshopify.com`; the full domain is kept; anything else is a 400."""
    if raw is None or raw == "":
        raise FeedError("Missing required query parameter: shop", status_code=400)
    candidate = raw.lower()
    if "." not in candidate:
        candidate = f"{candidate}.myshopify.com"
    try:
        return validate_shop_domain(candidate)
    except InvalidShopDomain:
        raise FeedError("Invalid shop domain", status_code=400) from None


def api_key(request: Request, session: Session, shop: Shop | None) -> ApiKey:
    """The request's API key, which must be the shop's own key or an admin key."""
    presented = presented_key(request)
    if not presented:
        raise FeedError(
            "An API key is required: send it as 'X-API-Key: <key>' (create one with nu3d apikey create)",
            status_code=401,
        )
    key = find_api_key(session=session, presented=presented)
    if key is None:
        raise FeedError("The API key is not valid (unknown or revoked)", status_code=401)
    if not is_admin(key) and key.shop_id is not None and (shop is None or key.shop_id != shop.id):
        raise FeedError("This API key belongs to another shop", status_code=403)
    return key


def installed_shop(request: Request, session: Session, *, writes: bool = False) -> Shop:
    """The `shop` query parameter's installed shop, after the access check: reads are open in development
    and test (or with NU3D_PRODUCT_FEED_PUBLIC), writes always need the shop's API key."""
    domain = normalize_shop(request.query_params.get("shop"))
    shop = session.exec(select(Shop).where(Shop.domain == domain)).first()
    settings = request.state.settings
    if writes or (settings.env == "production" and not settings.product_feed_public):
        key = api_key(request, session, shop)
        if writes and key.shop_id is None and not is_admin(key):
            raise FeedError(
                "Changing a shop's models needs that shop's API key or an admin key", status_code=403
            )
    if shop is None or shop.uninstalled_at is not None or not shop.access_token_enc:
        raise FeedError("Store not found or app not installed", status_code=404)
    return shop
