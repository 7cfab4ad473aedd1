"""HTML pages shared by the embedded-app routes and the install flow: templates, the message page, and
where the app lives inside the Shopify admin."""

from __future__ import annotations

import base64
import functools
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shop_app.shopify.domains import shop_base_url

SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"


@functools.cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("shop_app", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates().get_template(name).render(**context), status_code=status_code)


SHOPIFY_CDN = "https://cdn.shopify.com"


def shopify_scripts(admin_base: str | None) -> dict[str, str]:
    """App Bridge and Polaris script URLs: Shopify's CDN, or the devstore's offline stand-ins when the app
    runs against a devstore (the demo has no network, so cdn.shopify.com cannot load there)."""
    root = f"{admin_base.rstrip('/')}/cdn/shopifycloud" if admin_base else f"{SHOPIFY_CDN}/shopifycloud"
    return {"app_bridge": f"{root}/app-bridge.js", "polaris": f"{root}/polaris.js"}


def message_page(request: Request, status_code: int, heading: str, message: str) -> HTMLResponse:
    return render(
        "message.html",
        status_code=status_code,
        api_key=request.state.settings.shopify_api_key,
        scripts=shopify_scripts(request.state.settings.shopify_admin_base),
        heading=heading,
        message=message,
    )


def admin_app_url(shop: str, host: str | None, request: Request) -> str:
    """Where the app lives inside the admin (embedded URL)."""
    settings = request.state.settings
    if settings.shopify_admin_base:
        return f"{shop_base_url(shop, settings.shopify_admin_base)}/admin/apps/{settings.shopify_api_key}"
    if host:
        decoded = base64.urlsafe_b64decode(host + "=" * (-len(host) % 4)).decode("ascii")
        return f"https://{decoded}/apps/{settings.shopify_api_key}"
    return f"https://{shop}/admin/apps/{settings.shopify_api_key}"
