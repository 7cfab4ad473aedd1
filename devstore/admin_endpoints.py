"""Shop-facing endpoints: the Admin GraphQL API, OAuth, App Bridge session tokens, the admin host pages."""

from __future__ import annotations

import html
from importlib import resources

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from devstore.admin_pages import (
    admin_app_install,
    admin_app_page,
    admin_product_page,
    resource_picker_items,
    storefront_product_page,
)
from devstore.errors import NotFound
from devstore.graphql_api import handle_graphql
from devstore.http_common import base_url, shop_of, store_of
from devstore.oauth import TokenService, mint_session_token, parse_token_body
from devstore.schema import API_VERSION


async def graphql_endpoint(request: Request) -> Response:
    if request.path_params["version"] != API_VERSION:
        return JSONResponse(
            {"errors": f"Not Found: the devstore serves only Admin API version {API_VERSION}"},
            status_code=404,
        )
    raw = await request.body()
    result = await run_in_threadpool(
        handle_graphql,
        store=store_of(request),
        config=request.app.state.config,
        bucket=request.app.state.bucket,
        shop_domain=request.path_params["shop"],
        access_token=request.headers.get("x-shopify-access-token"),
        raw_body=raw,
        content_type=request.headers.get("content-type", "application/json"),
        base_url=base_url(request),
    )
    headers = {"X-Shopify-API-Version": API_VERSION, **result.headers}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


async def oauth_authorize(request: Request) -> Response:
    shop = shop_of(request)
    service: TokenService = request.app.state.tokens
    location = service.authorize_redirect(shop, list(request.query_params.multi_items()))
    return RedirectResponse(location, status_code=302)


async def oauth_access_token(request: Request) -> Response:
    shop = shop_of(request)
    body = parse_token_body(await request.body(), request.headers.get("content-type", ""))
    service: TokenService = request.app.state.tokens
    return JSONResponse(service.access_token(shop, body))


async def admin_app_session_token(request: Request) -> Response:
    """A fresh session token for an installed app, as the admin hands App Bridge one."""
    shop = shop_of(request)
    client_id = request.path_params["client_id"]
    install = shop.installs.get(client_id)
    if install is None:
        raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
    return JSONResponse({"session_token": mint_session_token(shop.domain, client_id, install.client_secret)})


async def shopifycloud_script(request: Request) -> Response:
    """Offline stand-ins for ``cdn.shopify.com/shopifycloud/{app-bridge,polaris}.js`` (see devstore/static)."""
    name = request.path_params["name"]
    if name not in ("app-bridge.js", "polaris.js"):
        return JSONResponse({"error": "not found"}, status_code=404)
    package = resources.files("devstore")
    script = package.joinpath(f"static/{name}").read_text()
    if name == "polaris.js":
        # the stand-in checks the app's markup against Polaris's component names, so it ships with them
        manifest = package.joinpath("polaris_components.json").read_text()
        script = f"window.__polarisComponents = {manifest};\n{script}\n{package.joinpath('static/polaris-forms.js').read_text()}"
    return Response(script, media_type="application/javascript", headers={"Cache-Control": "no-cache"})


async def admin_host_script(request: Request) -> Response:  # noqa: ARG001
    """The admin side of the App Bridge stand-in: tokens, title bar, navigation, toasts, resource picker."""
    script = resources.files("devstore").joinpath("static/admin-host.js").read_text()
    return Response(script, media_type="application/javascript", headers={"Cache-Control": "no-cache"})


_PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f7;color:#202223}"
    "header{background:#1a1a1a;color:#fff;padding:10px 20px}main{padding:20px}"
    "table{border-collapse:collapse;background:#fff;width:100%}td,th{padding:6px 10px;border-bottom:1px solid #e1e3e5;"
    "text-align:left;vertical-align:middle}img{width:48px;height:48px;object-fit:contain;background:#fff}"
    "a{color:#2c6ecb}"
)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_PAGE_STYLE}</style></head><body><header>{html.escape(title)}</header><main>{body}</main>"
        "</body></html>"
    )


async def admin_index(request: Request) -> Response:
    """A list of shops, as the devstore's landing page."""
    store = store_of(request)
    rows = "".join(
        f"<tr><td><a href='/store/{s.domain}/admin'>{html.escape(s.name)}</a></td><td>{s.domain}</td>"
        f"<td>{s.iana_timezone}</td><td>{len(s.products)}</td><td>{len(s.installs)}</td></tr>"
        for s in store.shops.values()
    )
    return _page(
        "devstore",
        "<table><tr><th>Shop</th><th>Domain</th><th>Timezone</th><th>Products</th>"
        f"<th>Apps</th></tr>{rows}</table>",
    )


async def admin_home(request: Request) -> Response:
    """The shop's admin: its products (newest first) and links that open installed apps embedded."""
    shop = shop_of(request)
    store = store_of(request)
    base = base_url(request)
    apps = (
        "".join(
            f"<li><a href='/store/{shop.domain}/admin/apps/{html.escape(i.client_id)}'>Open {html.escape(i.client_id)}"
            "</a></li>"
            for i in shop.installs.values()
        )
        or "<li>No apps installed.</li>"
    )
    rows = []
    now = store.now()
    for p in sorted(shop.products.values(), key=lambda p: (p.created_at, p.id), reverse=True):
        media = [shop.media[m] for m in p.media_ids if m in shop.media]
        first = next((m for m in media if m.content_type == "IMAGE"), None)
        thumb = (
            f"<img alt='' src='{base}/cdn/shop/files/{first.blob_key}/{html.escape(first.filename)}?width=96'>"
            if first
            else ""
        )
        models = [m.status(now) for m in media if m.content_type == "MODEL_3D"]
        rows.append(
            f"<tr><td>{thumb}</td><td>{html.escape(p.title)}</td><td>{p.status.lower()}</td>"
            f"<td>{html.escape(p.vendor)}</td><td>{p.created_at.astimezone(shop.zone):%Y-%m-%d %H:%M}</td>"
            f"<td>{len(media) - len(models)}</td><td>{', '.join(models) or '-'}</td></tr>"
        )
    body = (
        f"<h2>Apps</h2><ul>{apps}</ul><h2>Products</h2><table><tr><th></th><th>Title</th><th>Status</th>"
        f"<th>Vendor</th><th>Created ({shop.iana_timezone})</th><th>Images</th><th>3D models</th></tr>"
        f"{''.join(rows)}</table>"
    )
    return _page(f"{shop.name} · devstore admin", body)


# in the order create_devstore_app has always matched them
routes: list[BaseRoute] = [
    Route("/store/{shop}/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
    Route("/store/{shop}/admin/oauth/authorize", oauth_authorize, methods=["GET"]),
    Route("/store/{shop}/admin/oauth/access_token", oauth_access_token, methods=["POST"]),
    Route("/store/{shop}/admin/apps/{client_id}", admin_app_page, methods=["GET"]),
    Route("/store/{shop}/admin/apps/{client_id}/install", admin_app_install, methods=["POST"]),
    Route("/store/{shop}/admin/resource-picker", resource_picker_items, methods=["GET"]),
    Route("/store/{shop}/admin/products/{product_id}", admin_product_page, methods=["GET"]),
    Route("/store/{shop}/products/{handle}", storefront_product_page, methods=["GET"]),
    Route("/cdn/devstore/admin-host.js", admin_host_script, methods=["GET"]),
    Route("/store/{shop}/admin/apps/{client_id}/session-token", admin_app_session_token, methods=["POST"]),
    Route("/cdn/shopifycloud/{name}", shopifycloud_script, methods=["GET"]),
    Route("/store/{shop}/admin", admin_home, methods=["GET"]),
    Route("/", admin_index, methods=["GET"]),
]
