"""The devstore's admin pages around an embedded app, as the Shopify admin shows them: the page that frames
the app (with the app's title bar, navigation, toasts and the resource picker drawn by the admin itself, fed
by the App Bridge stand-in over postMessage), what the resource picker lists, a product's admin page and its
storefront page."""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from devstore.errors import DevstoreError, NotFound
from devstore.oauth import host_param, mint_session_token, query_hmac
from devstore.records import AppRegistration, Shop
from devstore.state import Store


def _store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def _shop(request: Request) -> Shop:
    store = _store(request)
    shop = store.shops.get(request.path_params["shop"])
    if shop is None:
        raise NotFound(f"no shop {request.path_params['shop']}")
    return shop


_FRAME_STYLE = (
    "body{margin:0;font-family:system-ui,sans-serif;background:#f1f1f1;color:#303030}"
    "header{height:48px;display:flex;align-items:center;gap:12px;padding:0 16px;background:#1a1a1a;color:#fff}"
    "#layout{display:flex;height:calc(100vh - 48px)}nav{width:200px;flex:none;background:#ebebeb;padding:12px 8px;"
    "box-sizing:border-box}nav a{display:block;padding:6px 10px;border-radius:8px;color:#303030;text-decoration:none;"
    "font-size:13px;font-weight:550}nav a[aria-current=page]{background:#fff}nav .app{font-size:12px;color:#616161;"
    "padding:8px 10px 4px}#main{flex:1;display:flex;flex-direction:column;min-width:0}"
    "#titlebar{display:flex;align-items:center;gap:8px;padding:8px 16px;background:#fff;border-bottom:1px solid #e3e3e3;"
    "min-height:32px}#titlebar h1{font-size:15px;margin:0;flex:1}#titlebar button,.picker button{font:600 12px system-ui;"
    "padding:6px 12px;border-radius:8px;border:1px solid #d4d4d4;background:#fff;cursor:pointer}"
    "#titlebar button.primary,.picker button.primary{background:#303030;color:#fff;border-color:#303030}"
    "iframe{border:0;width:100%;flex:1}#toasts{position:fixed;bottom:24px;left:50%;transform:translateX(-50%);"
    "display:flex;flex-direction:column;gap:8px;z-index:10}#toasts div{background:#1a1a1a;color:#fff;padding:10px 16px;"
    "border-radius:10px;font-size:13px}#toasts div.error{background:#8e0b21}"
    "dialog.picker{border:0;border-radius:12px;padding:0;width:min(520px,94vw)}dialog.picker h2{font-size:15px;margin:0;"
    "padding:14px 16px;border-bottom:1px solid #e3e3e3}dialog.picker ul{list-style:none;margin:0;padding:8px 16px;"
    "max-height:50vh;overflow:auto}dialog.picker li label{display:flex;gap:8px;padding:8px 0;border-bottom:1px solid #f1f1f1}"
    "dialog.picker .foot{display:flex;justify-content:flex-end;gap:8px;padding:12px 16px;border-top:1px solid #e3e3e3}"
    "@media (max-width:700px){nav{display:none}}"
)


async def admin_app_page(request: Request) -> Response:
    """The admin page that embeds an app, as ``admin.shopify.com/store/x/apps/{client_id}`` does: an iframe
    loading the app URL with ``embedded=1``, ``host``, ``id_token``, ``shop`` and a signed ``hmac``."""
    shop = _shop(request)
    client_id = request.path_params["client_id"]
    install = shop.installs.get(client_id)
    store = _store(request)
    if install is None:
        if client_id in store.apps:  # opening an app that is not installed yet starts the managed install
            return _install_consent_page(request, shop, store.apps[client_id])
        raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
    token = mint_session_token(shop.domain, client_id, install.client_secret, sub="1")
    params = [
        ("embedded", "1"),
        ("host", host_param(shop.domain)),
        ("id_token", token),
        ("locale", "en"),
        ("session", hashlib.sha256(f"{shop.domain}:{client_id}".encode()).hexdigest()),
        ("shop", shop.domain),
        ("timestamp", str(int(store.now().timestamp()))),
    ]
    params.append(("hmac", query_hmac(params, install.client_secret)))
    src = f"{install.app_url}{request.query_params.get('path', '/')}?{urlencode(params)}"
    config = {
        "appOrigin": urlsplit(install.app_url)._replace(path="", query="", fragment="").geturl(),
        "tokenUrl": f"/store/{shop.domain}/admin/apps/{client_id}/session-token",
        "resourcesUrl": f"/store/{shop.domain}/admin/resource-picker",
    }
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,"
        f"initial-scale=1'><title>Devstore admin · {html.escape(shop.name)}</title><style>{_FRAME_STYLE}</style>"
        f"</head><body><header><strong>{html.escape(shop.name)}</strong><span>· devstore admin</span></header>"
        "<div id='layout'><nav aria-label='App navigation'><div class='app'>Apps</div><div id='app-nav'></div></nav>"
        "<div id='main'><div id='titlebar'><h1 id='app-title'></h1><span id='app-actions'></span></div>"
        f"<iframe src='{html.escape(src, quote=True)}' title='app'></iframe></div></div><div id='toasts' "
        "role='status' aria-live='polite'></div>"
        f"<script>window.DEVSTORE_ADMIN={json.dumps(config)};</script>"
        "<script src='/cdn/devstore/admin-host.js'></script></body></html>"
    )
    return HTMLResponse(page)


_SCOPE_WORDS = {"read": "View", "write": "Edit"}


def _install_consent_page(request: Request, shop: Shop, app: AppRegistration) -> HTMLResponse:
    """Shopify's install screen for a managed install: what the app may access, and an Install button."""
    rights = "".join(
        f"<li>{_SCOPE_WORDS.get(scope.split('_', 1)[0], scope)} {html.escape(scope.split('_', 1)[-1])}</li>"
        for scope in app.scopes
    )
    action = f"/store/{shop.domain}/admin/apps/{app.client_id}/install"
    path = html.escape(request.query_params.get("path", "/"), quote=True)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width,"
        f"initial-scale=1'><title>Install app · {html.escape(shop.name)}</title><style>{_FRAME_STYLE}"
        "main{max-width:520px;margin:48px auto;background:#fff;border-radius:12px;padding:24px}</style></head>"
        f"<body><header><strong>{html.escape(shop.name)}</strong><span>· devstore admin</span></header><main>"
        f"<h1>Install app</h1><p>The app at {html.escape(app.app_url)} will be able to:</p><ul>{rights}</ul>"
        f"<form method='post' action='{html.escape(action, quote=True)}'><input type='hidden' name='path'"
        f" value='{path}'><button type='submit'>Install</button></form></main></body></html>"
    )
    return HTMLResponse(page)


async def admin_app_install(request: Request) -> Response:
    """The Install button of the install screen: Shopify's managed install (the app is not called), then
    the app opens embedded, whose first load does the token exchange."""
    shop = _shop(request)
    client_id = request.path_params["client_id"]
    form = await request.form()
    path = str(form.get("path") or "/")
    if not path.startswith("/") or path.startswith("//"):
        raise DevstoreError("path must be a path within the app")
    _store(request).install_app(shop, client_id)
    target = f"/store/{shop.domain}/admin/apps/{client_id}?{urlencode({'path': path})}"
    return RedirectResponse(target, status_code=303)


async def resource_picker_items(request: Request) -> Response:
    """What the admin's resource picker lists: the shop's collections or products (admin-internal JSON)."""
    shop = _shop(request)
    kind = request.query_params.get("type", "product")
    store = _store(request)
    with store.lock:
        if kind == "collection":
            items: list[dict[str, Any]] = [
                {
                    "id": f"gid://shopify/Collection/{c.id}",
                    "title": c.title,
                    "handle": c.handle,
                    "productsCount": len(c.product_ids),
                }
                for c in sorted(shop.collections.values(), key=lambda c: c.title.lower())
            ]
        elif kind == "product":
            items = [
                {"id": f"gid://shopify/Product/{p.id}", "title": p.title, "handle": p.handle}
                for p in sorted(shop.products.values(), key=lambda p: p.title.lower())
            ]
        else:
            raise DevstoreError("type must be product or collection")
    return JSONResponse({"items": items})


def _product_page(request: Request, *, storefront: bool) -> Response:
    shop = _shop(request)
    store = _store(request)
    with store.lock:
        if storefront:
            product = next(
                (p for p in shop.products.values() if p.handle == request.path_params["handle"]), None
            )
        else:
            try:
                product = shop.products.get(int(request.path_params["product_id"]))
            except ValueError:
                product = None
        if product is None:
            raise NotFound("no such product")
        now = store.now()
        media = [shop.media[m] for m in product.media_ids if m in shop.media]
        items = []
        for m in media:
            if m.content_type == "IMAGE":
                items.append(
                    f"<li><img alt='{html.escape(m.alt or '')}' width='160' "
                    f"src='/cdn/shop/files/{m.blob_key}/{html.escape(m.filename)}?width=320'></li>"
                )
            else:
                items.append(f"<li>{html.escape(m.content_type)} · {html.escape(m.status(now))}</li>")
    where = "online store" if storefront else "devstore admin"
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(product.title)} · {where}</title></head><body style='font-family:system-ui'>"
        f"<h1>{html.escape(product.title)}</h1><p>{html.escape(shop.name)} · {where}</p>"
        f"<ul data-role='media'>{''.join(items)}</ul></body></html>"
    )


async def admin_product_page(request: Request) -> Response:
    """A product in the shop's admin (where the app's "View in Shopify admin" leads)."""
    return _product_page(request, storefront=False)


async def storefront_product_page(request: Request) -> Response:
    """The product on the shop's storefront, with its media."""
    return _product_page(request, storefront=True)
