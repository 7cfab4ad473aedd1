"""The devstore's Starlette application: shop-facing Admin API, OAuth, CDN, staged uploads, control API.

URL scheme (see README.md): real Shopify's ``https://{shop}`` becomes ``{base}/store/{shop}``; the control
API the devstore adds for tests and the CLI lives under ``{base}/_devstore/``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import html
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstore.admin_pages import (
    admin_app_page,
    admin_product_page,
    resource_picker_items,
    storefront_product_page,
)
from devstore.cdn import InvalidImage, parse_dimension, transform_image
from devstore.config import DevstoreConfig
from devstore.cost import LeakyBucket
from devstore.errors import DevstoreError, NotFound, OAuthError
from devstore.graphql_api import handle_graphql
from devstore.oauth import TokenService, mint_session_token, parse_token_body
from devstore.records import COMPLIANCE_TOPICS, FAULT_TARGETS, STANDARD_LIMIT, Shop, parse_dt
from devstore.resolvers import staged_signature
from devstore.schema import API_VERSION
from devstore.state import Store
from devstore.webhooks import WebhookDispatcher, product_payload

logger = logging.getLogger(__name__)


def _base_url(request: Request) -> str:
    config: DevstoreConfig = request.app.state.config
    base = config.public_url or str(request.base_url)
    base = base.rstrip("/")
    request.app.state.store.base_url = base
    return base


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise DevstoreError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise DevstoreError("request body must be a JSON object")
    return body


def _store(request: Request) -> Store:
    return request.app.state.store


def _shop(request: Request) -> Shop:
    return _store(request).get_shop(request.path_params["shop"])


# ---- Admin API ----------------------------------------------------------------------------------------


async def graphql_endpoint(request: Request) -> Response:
    if request.path_params["version"] != API_VERSION:
        return JSONResponse(
            {"errors": f"Not Found: the devstore serves only Admin API version {API_VERSION}"},
            status_code=404,
        )
    raw = await request.body()
    result = await run_in_threadpool(
        handle_graphql,
        store=_store(request),
        config=request.app.state.config,
        bucket=request.app.state.bucket,
        shop_domain=request.path_params["shop"],
        access_token=request.headers.get("x-shopify-access-token"),
        raw_body=raw,
        content_type=request.headers.get("content-type", "application/json"),
        base_url=_base_url(request),
    )
    headers = {"X-Shopify-API-Version": API_VERSION, **result.headers}
    return JSONResponse(result.body, status_code=result.status, headers=headers)


async def oauth_authorize(request: Request) -> Response:
    shop = _shop(request)
    service: TokenService = request.app.state.tokens
    location = service.authorize_redirect(shop, list(request.query_params.multi_items()))
    return RedirectResponse(location, status_code=302)


async def oauth_access_token(request: Request) -> Response:
    shop = _shop(request)
    body = parse_token_body(await request.body(), request.headers.get("content-type", ""))
    service: TokenService = request.app.state.tokens
    return JSONResponse(service.access_token(shop, body))


async def admin_app_session_token(request: Request) -> Response:
    """A fresh session token for an installed app, as the admin hands App Bridge one."""
    shop = _shop(request)
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
    script = resources.files("devstore").joinpath(f"static/{name}").read_text()
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
    store = _store(request)
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
    shop = _shop(request)
    store = _store(request)
    base = _base_url(request)
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


# ---- CDN and staged uploads -----------------------------------------------------------------------------


async def cdn_file(request: Request) -> Response:
    store = _store(request)
    blob = store.blobs.get(request.path_params["key"])
    if blob is None:
        return JSONResponse({"error": "file not found"}, status_code=404)
    try:
        width = parse_dimension("width", request.query_params.get("width"))
        height = parse_dimension("height", request.query_params.get("height"))
    except InvalidImage as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    data = blob.data
    if (width or height) and blob.content_type.startswith("image/"):
        data = await run_in_threadpool(transform_image, blob.data, blob.content_type, width, height)
    etag = hashlib.sha256(data).hexdigest()[:32]
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304)
    return Response(
        data,
        media_type=blob.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable"
            if request.query_params.get("v")
            else "public, max-age=300",
            "ETag": f'"{etag}"',
        },
    )


def _gcs_error(code: str, message: str, status: int) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{html.escape(message)}</Message></Error>"
    return Response(body, status_code=status, media_type="application/xml")


def _accept_upload(request: Request, key: str, data: bytes, content_type: str | None) -> Response | None:
    store = _store(request)
    staged = store.staged.get(key)
    if staged is None:
        return _gcs_error("NoSuchUpload", f"No staged upload target for key {key}", 404)
    if staged.expires_at <= store.now():
        return _gcs_error("ExpiredToken", "The staged upload target has expired.", 400)
    limit = (
        staged.file_size
        if staged.file_size is not None
        else (
            request.app.state.config.max_model3d_bytes
            if staged.resource == "MODEL_3D"
            else request.app.state.config.max_image_bytes
        )
    )
    if len(data) > limit:
        return _gcs_error(
            "EntityTooLarge",
            f"Your proposed upload is larger than the maximum object size "
            f"specified in your Policy Document ({len(data)} > {limit} bytes).",
            400,
        )
    if content_type is not None and content_type != staged.mime_type:
        return _gcs_error(
            "InvalidPolicyDocument",
            f"Content-Type {content_type!r} does not match the policy ({staged.mime_type!r}).",
            400,
        )
    with store.lock:
        staged.data = data
    return None


async def staged_upload_post(request: Request) -> Response:
    store = _store(request)
    if store.take_fault("staged_upload"):
        # what Google Cloud Storage answers when it is briefly unavailable
        return _gcs_error("ServiceUnavailable", "We encountered an internal error. Please try again.", 503)
    form = await request.form(max_part_size=request.app.state.config.max_model3d_bytes + 1)
    try:
        items = list(form.multi_items())
        if not items or items[-1][0] != "file" or not isinstance(items[-1][1], UploadFile):
            return _gcs_error(
                "InvalidArgument", "The file must be the last field of the form, named 'file'.", 400
            )
        fields = {k: v for k, v in items[:-1] if isinstance(v, str)}
        key = fields.get("key", "")
        staged = store.staged.get(key)
        if staged is None:
            return _gcs_error("NoSuchUpload", f"No staged upload target for key {key!r}", 404)
        expected = staged_signature(store.staged_secret, key)
        if (
            not fields.get("x-goog-signature")
            or fields["x-goog-signature"] != expected
            or not fields.get("policy")
        ):
            return _gcs_error("AccessDenied", "Invalid signature or missing policy for this key.", 403)
        upload: UploadFile = items[-1][1]  # type: ignore[assignment]
        data = await upload.read()
        problem = _accept_upload(request, key, data, fields.get("Content-Type"))
        if problem is not None:
            return problem
    finally:
        await form.close()
    location = f"{_base_url(request)}/staged-uploads/{key}"
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><PostResponse><Location>{html.escape(location)}</Location>"
        f"<Bucket>devstore-staged-uploads</Bucket><Key>{html.escape(key)}</Key>"
        f'<ETag>"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"</ETag></PostResponse>'
    )
    status = 201 if fields.get("success_action_status") == "201" else 204
    return Response(body if status == 201 else b"", status_code=status, media_type="application/xml")


async def staged_upload_put(request: Request) -> Response:
    store = _store(request)
    key = request.path_params["key"]
    if request.query_params.get("X-Goog-Signature") != staged_signature(store.staged_secret, key):
        return _gcs_error("AccessDenied", "Invalid signature for this key.", 403)
    data = await request.body()
    problem = _accept_upload(request, key, data, request.headers.get("content-type"))
    return problem or Response(status_code=200)


# ---- control API -------------------------------------------------------------------------------------------


def _shop_json(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "domain": shop.domain,
        "name": shop.name,
        "email": shop.email,
        "iana_timezone": shop.iana_timezone,
        "plan": shop.plan,
        "currency": shop.currency,
        "installs": [
            {
                "client_id": i.client_id,
                "app_url": i.app_url,
                "scopes": i.scopes,
                "installed_at": i.installed_at.isoformat(),
            }
            for i in shop.installs.values()
        ],
        "product_count": len(shop.products),
    }


async def control_reset(request: Request) -> Response:
    _store(request).reset()
    request.app.state.dispatcher.reset()
    request.app.state.bucket.reset()
    return JSONResponse({"ok": True})


async def control_faults(request: Request) -> Response:
    """Make the next `count` requests of a kind fail (tests of the app's error handling and retries).
    Body: {"target": "staged_upload", "count": 1}."""
    body = await _json(request)
    target, count = body.get("target"), body.get("count", 1)
    if target not in FAULT_TARGETS or not isinstance(count, int) or not 0 <= count <= 1000:
        raise DevstoreError(f"target must be one of {sorted(FAULT_TARGETS)} and count 0..1000")
    _store(request).set_fault(target, count)
    return JSONResponse({"target": target, "count": count})


async def control_shops(request: Request) -> Response:
    store = _store(request)
    if request.method == "GET":
        return JSONResponse({"shops": [_shop_json(s) for s in store.shops.values()]})
    body = await _json(request)
    if not body.get("shop"):
        raise DevstoreError("'shop' is required (NAME or NAME.myshopify.com)")
    shop = store.create_shop(
        str(body["shop"]),
        name=body.get("name"),
        iana_timezone=body.get("iana_timezone", "America/New_York"),
        plan=body.get("plan", "partner_test"),
        currency=body.get("currency", "USD"),
        email=body.get("email"),
    )
    return JSONResponse(_shop_json(shop), status_code=201)


async def control_shop(request: Request) -> Response:
    return JSONResponse(_shop_json(_shop(request)))


async def control_apps(request: Request) -> Response:
    body = await _json(request)
    missing = [k for k in ("client_id", "client_secret", "app_url") if not body.get(k)]
    if missing:
        raise DevstoreError(f"missing required field(s): {', '.join(missing)}")
    scopes = body.get("scopes", [])
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    reg = _store(request).register_app(
        body["client_id"], body["client_secret"], body["app_url"], scopes, body.get("subscriptions")
    )
    return JSONResponse(
        {
            "client_id": reg.client_id,
            "app_url": reg.app_url,
            "scopes": reg.scopes,
            "subscriptions": reg.subscriptions,
        },
        status_code=201,
    )


async def control_installs(request: Request) -> Response:
    shop = _shop(request)
    body = await _json(request)
    scopes = body.get("scopes")
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    install = _store(request).install_app(shop, str(body.get("client_id", "")), scopes=scopes)
    return JSONResponse({"client_id": install.client_id, "scopes": install.scopes}, status_code=201)


async def control_install(request: Request) -> Response:
    shop = _shop(request)
    client_id = request.path_params["client_id"]
    store = _store(request)
    if request.method == "DELETE":
        store.uninstall_app(shop, client_id)
        return JSONResponse({"ok": True})
    body = await _json(request)
    scopes = body.get("scopes", [])
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    install = store.update_scopes(shop, client_id, scopes)
    return JSONResponse({"client_id": install.client_id, "scopes": install.scopes})


async def control_session_token(request: Request) -> Response:
    shop = _shop(request)
    body = await _json(request)
    client_id = str(body.get("client_id", ""))
    install = shop.installs.get(client_id)
    if install is None:
        raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
    token = mint_session_token(
        shop.domain,
        client_id,
        install.client_secret,
        sub=str(body.get("sub", "1")),
        exp_in=int(body.get("exp_in", 60)),
    )
    return JSONResponse({"session_token": token})


async def control_compliance(request: Request) -> Response:
    shop = _shop(request)
    body = await _json(request)
    topic = body.get("topic")
    if topic not in COMPLIANCE_TOPICS:
        raise DevstoreError(f"topic must be one of {sorted(COMPLIANCE_TOPICS)}")
    client_id = body.get("client_id")
    if client_id and client_id not in shop.installs and topic != "shop/redact":
        raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
    payload = body.get("payload") or _compliance_payload(topic, shop)
    dispatcher: WebhookDispatcher = request.app.state.dispatcher
    store = _store(request)
    installs = [shop.installs[client_id]] if client_id in shop.installs else list(shop.installs.values())
    if client_id and client_id not in shop.installs:
        # shop/redact arrives 48 h after uninstall: deliver to the app as it was registered
        reg = store.apps.get(client_id)
        if reg is None:
            raise NotFound(f"app {client_id!r} is not registered")
        from devstore.records import AppInstall

        installs = [AppInstall(reg.client_id, reg.client_secret, reg.app_url, reg.scopes, reg.subscriptions)]
    made = dispatcher.enqueue_event(topic, shop, installs, payload)
    return JSONResponse({"deliveries": [d.id for d in made]}, status_code=202)


def _compliance_payload(topic: str, shop: Shop) -> dict[str, Any]:
    customer = {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}
    if topic == "customers/data_request":
        return {
            "shop_id": shop.id,
            "shop_domain": shop.domain,
            "orders_requested": [299938, 280263],
            "customer": customer,
            "data_request": {"id": 9999},
        }
    if topic == "customers/redact":
        return {
            "shop_id": shop.id,
            "shop_domain": shop.domain,
            "customer": customer,
            "orders_to_redact": [299938, 280263],
        }
    return {"shop_id": shop.id, "shop_domain": shop.domain}


def _decode_image(spec: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(spec["data_base64"], validate=True)
    except (KeyError, binascii.Error) as exc:
        raise DevstoreError("each image needs 'data_base64' (the image bytes, base64-encoded)") from exc


def add_product_images(store: Store, shop: Shop, product_id: int, images: list[dict[str, Any]]) -> None:
    product = store.get_product(shop, product_id)
    for spec in images:
        data = _decode_image(spec)
        variant_positions = spec.get("variants") or []
        variant_ids = [product.variants[i].id for i in variant_positions if 0 <= i < len(product.variants)]
        try:
            store.add_image(
                shop,
                data,
                alt=spec.get("alt", ""),
                filename=spec.get("filename", "image.png"),
                product=product,
                variant_ids=variant_ids,
            )
        except InvalidImage as exc:
            raise DevstoreError(f"image {spec.get('filename', '')!r}: {exc}") from exc


def create_product_from_json(store: Store, shop: Shop, body: dict[str, Any], *, notify: bool = True) -> int:
    if not body.get("title"):
        raise DevstoreError("'title' is required")
    tags = body.get("tags", [])
    if isinstance(tags, str):
        tags = tags.split(",")
    created_at = parse_dt(body["created_at"]) if body.get("created_at") else None
    product = store.create_product(
        shop,
        title=body["title"],
        status=body.get("status", "ACTIVE"),
        body_html=body.get("body_html", ""),
        vendor=body.get("vendor", ""),
        product_type=body.get("product_type", ""),
        tags=tags,
        handle=body.get("handle"),
        created_at=created_at,
        variants=body.get("variants"),
        emit=False,
    )
    try:
        add_product_images(store, shop, product.id, body.get("images") or [])
    except DevstoreError:
        store.delete_product(shop, product.id, emit=False)
        raise
    if notify:
        store.emit("products/create", shop, {"product_id": product.id})
    return product.id


async def control_products(request: Request) -> Response:
    shop = _shop(request)
    store = _store(request)
    _base_url(request)
    if request.method == "GET":
        with store.lock:
            products = [
                product_payload(store, shop, p) for p in sorted(shop.products.values(), key=lambda p: p.id)
            ]
        return JSONResponse({"products": products})
    body = await _json(request)
    notify = bool(body.pop("notify", True))
    product_id = await run_in_threadpool(create_product_from_json, store, shop, body, notify=notify)
    return JSONResponse({"product": product_payload(store, shop, shop.products[product_id])}, status_code=201)


async def control_rate_limit(request: Request) -> Response:
    """Set one shop's GraphQL bucket: {"bucket_size": N, "restore_rate": N}, or {"plan": true} for its plan's."""
    shop = _shop(request)
    body = await _json(request)
    if body.get("plan") is True:
        shop.rate_limit = None
    else:
        size, rate = body.get("bucket_size"), body.get("restore_rate")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in (size, rate)):
            raise DevstoreError(
                'bucket_size and restore_rate must be positive numbers (or send {"plan": true})'
            )
        shop.rate_limit = (float(size), float(rate))
    request.app.state.bucket.reset()
    size, rate = shop.api_rate_limit
    return JSONResponse({"bucket_size": size, "restore_rate": rate, "plan": shop.plan})


async def control_collections(request: Request) -> Response:
    """Create a manual collection: {"title": "...", "product_ids": [numeric product ids]}."""
    shop = _shop(request)
    body = await _json(request)
    ids = body.get("product_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DevstoreError("product_ids must be a list of numeric product ids")
    collection = _store(request).create_collection(shop, title=str(body.get("title") or ""), product_ids=ids)
    return JSONResponse(
        {
            "collection": {
                "id": collection.id,
                "admin_graphql_api_id": f"gid://shopify/Collection/{collection.id}",
                "title": collection.title,
                "handle": collection.handle,
                "product_ids": collection.product_ids,
            }
        },
        status_code=201,
    )


async def control_product(request: Request) -> Response:
    shop = _shop(request)
    store = _store(request)
    _base_url(request)
    try:
        product_id = int(request.path_params["product_id"])
    except ValueError as exc:
        raise NotFound("product id must be numeric") from exc
    if request.method == "GET":
        return JSONResponse({"product": product_payload(store, shop, store.get_product(shop, product_id))})
    if request.method == "DELETE":
        store.delete_product(shop, product_id)
        return JSONResponse({"ok": True})
    body = await _json(request)
    images = body.pop("images", None)
    notify = bool(body.pop("notify", True))
    product = store.update_product(shop, product_id, body, emit=False)
    if images:
        await run_in_threadpool(add_product_images, store, shop, product_id, images)
    if notify:
        store.emit("products/update", shop, {"product_id": product.id})
    return JSONResponse({"product": product_payload(store, shop, product)})


async def control_webhooks(request: Request) -> Response:
    dispatcher: WebhookDispatcher = request.app.state.dispatcher
    deliveries = dispatcher.list(
        shop=request.query_params.get("shop"), topic=request.query_params.get("topic")
    )
    return JSONResponse({"deliveries": [d.as_json() for d in deliveries]})


async def control_snapshot(request: Request) -> Response:
    config: DevstoreConfig = request.app.state.config
    if config.snapshot_path is None:
        raise DevstoreError("no snapshot path configured (start with --snapshot FILE)", status_code=409)
    _store(request).save(config.snapshot_path)
    return JSONResponse({"saved": str(config.snapshot_path)})


async def control_clock(request: Request) -> Response:
    """Report the devstore's clock (tests compare created_at values with it)."""
    now: datetime = _store(request).now()
    return JSONResponse({"now": now.isoformat()})


# ---- errors ---------------------------------------------------------------------------------------------------


async def devstore_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, DevstoreError)
    return JSONResponse({"error": exc.message}, status_code=exc.status_code)


async def oauth_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, OAuthError)
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status_code
    )


class RequestIdMiddleware:
    """Adds ``X-Request-Id`` to every response, as Shopify does (apps log it with errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_devstore_app(config: DevstoreConfig, *, store: Store | None = None) -> Starlette:
    """Build the devstore application.

    Parameters:
        config: settings (see :class:`DevstoreConfig`).
        store: state to serve; a fresh in-memory :class:`Store` when omitted. Tests pass one to seed it
            directly; ``app.state.store`` exposes it either way.
    """
    state = store or Store()
    if config.public_url:
        state.base_url = config.public_url.rstrip("/")
    dispatcher = WebhookDispatcher(state, config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # a store handed in with shops already in it (seeded, or loaded by the CLI) is not overwritten
        if config.snapshot_path is not None and config.snapshot_path.exists() and not state.shops:
            state.load(config.snapshot_path)
            logger.info("devstore state loaded from %s", config.snapshot_path)
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()
            if config.snapshot_path is not None:
                state.save(config.snapshot_path)
                logger.info("devstore state saved to %s", config.snapshot_path)

    routes = [
        Route("/store/{shop}/admin/api/{version}/graphql.json", graphql_endpoint, methods=["POST"]),
        Route("/store/{shop}/admin/oauth/authorize", oauth_authorize, methods=["GET"]),
        Route("/store/{shop}/admin/oauth/access_token", oauth_access_token, methods=["POST"]),
        Route("/store/{shop}/admin/apps/{client_id}", admin_app_page, methods=["GET"]),
        Route("/store/{shop}/admin/resource-picker", resource_picker_items, methods=["GET"]),
        Route("/store/{shop}/admin/products/{product_id}", admin_product_page, methods=["GET"]),
        Route("/store/{shop}/products/{handle}", storefront_product_page, methods=["GET"]),
        Route("/cdn/devstore/admin-host.js", admin_host_script, methods=["GET"]),
        Route(
            "/store/{shop}/admin/apps/{client_id}/session-token", admin_app_session_token, methods=["POST"]
        ),
        Route("/cdn/shopifycloud/{name}", shopifycloud_script, methods=["GET"]),
        Route("/store/{shop}/admin", admin_home, methods=["GET"]),
        Route("/", admin_index, methods=["GET"]),
        Route("/cdn/shop/files/{key}/{filename:path}", cdn_file, methods=["GET", "HEAD"]),
        Route("/staged-uploads/", staged_upload_post, methods=["POST"]),
        Route("/staged-uploads/{key:path}", staged_upload_put, methods=["PUT"]),
        Route("/_devstore/reset", control_reset, methods=["POST"]),
        Route("/_devstore/clock", control_clock, methods=["GET"]),
        Route("/_devstore/snapshot", control_snapshot, methods=["POST"]),
        Route("/_devstore/apps", control_apps, methods=["POST"]),
        Route("/_devstore/webhooks", control_webhooks, methods=["GET"]),
        Route("/_devstore/faults", control_faults, methods=["POST"]),
        Route("/_devstore/shops", control_shops, methods=["GET", "POST"]),
        Route("/_devstore/shops/{shop}", control_shop, methods=["GET"]),
        Route("/_devstore/shops/{shop}/installs", control_installs, methods=["POST"]),
        Route("/_devstore/shops/{shop}/installs/{client_id}", control_install, methods=["DELETE", "PUT"]),
        Route("/_devstore/shops/{shop}/session-tokens", control_session_token, methods=["POST"]),
        Route("/_devstore/shops/{shop}/compliance", control_compliance, methods=["POST"]),
        Route("/_devstore/shops/{shop}/products", control_products, methods=["GET", "POST"]),
        Route("/_devstore/shops/{shop}/collections", control_collections, methods=["POST"]),
        Route("/_devstore/shops/{shop}/rate-limit", control_rate_limit, methods=["PUT"]),
        Route(
            "/_devstore/shops/{shop}/products/{product_id}",
            control_product,
            methods=["GET", "PATCH", "DELETE"],
        ),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={DevstoreError: devstore_error, OAuthError: oauth_error},
        middleware=[Middleware(RequestIdMiddleware)],
    )
    app.state.config = config
    app.state.store = state
    app.state.dispatcher = dispatcher
    app.state.bucket = LeakyBucket(*STANDARD_LIMIT)  # each call names its shop's limit
    app.state.tokens = TokenService(state, config)
    return app
