"""The control API under ``/_devstore/`` that tests and the CLI use to seed and inspect the devstore."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from devstore.config import DevstoreConfig
from devstore.errors import DevstoreError, NotFound
from devstore.http_common import base_url, read_json, shop_of, store_of
from devstore.oauth import mint_session_token
from devstore.product_json import add_product_images, create_product_from_json
from devstore.records import COMPLIANCE_TOPICS, FAULT_TARGETS, Shop
from devstore.webhook_payloads import product_payload
from devstore.webhooks import WebhookDispatcher


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
    store_of(request).reset()
    request.app.state.dispatcher.reset()
    request.app.state.bucket.reset()
    return JSONResponse({"ok": True})


async def control_faults(request: Request) -> Response:
    """Make the next `count` requests of a kind fail (tests of the app's error handling and retries).
    Body: {"target": "staged_upload", "count": 1}."""
    body = await read_json(request)
    target, count = body.get("target"), body.get("count", 1)
    if target not in FAULT_TARGETS or not isinstance(count, int) or not 0 <= count <= 1000:
        raise DevstoreError(f"target must be one of {sorted(FAULT_TARGETS)} and count 0..1000")
    store_of(request).set_fault(target, count)
    return JSONResponse({"target": target, "count": count})


async def control_shops(request: Request) -> Response:
    store = store_of(request)
    if request.method == "GET":
        return JSONResponse({"shops": [_shop_json(s) for s in store.shops.values()]})
    body = await read_json(request)
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
    return JSONResponse(_shop_json(shop_of(request)))


async def control_apps(request: Request) -> Response:
    body = await read_json(request)
    missing = [k for k in ("client_id", "client_secret", "app_url") if not body.get(k)]
    if missing:
        raise DevstoreError(f"missing required field(s): {', '.join(missing)}")
    scopes = body.get("scopes", [])
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    reg = store_of(request).register_app(
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
    shop = shop_of(request)
    body = await read_json(request)
    scopes = body.get("scopes")
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    install = store_of(request).install_app(shop, str(body.get("client_id", "")), scopes=scopes)
    return JSONResponse({"client_id": install.client_id, "scopes": install.scopes}, status_code=201)


async def control_install(request: Request) -> Response:
    shop = shop_of(request)
    client_id = request.path_params["client_id"]
    store = store_of(request)
    if request.method == "DELETE":
        store.uninstall_app(shop, client_id)
        return JSONResponse({"ok": True})
    body = await read_json(request)
    scopes = body.get("scopes", [])
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    install = store.update_scopes(shop, client_id, scopes)
    return JSONResponse({"client_id": install.client_id, "scopes": install.scopes})


async def control_session_token(request: Request) -> Response:
    shop = shop_of(request)
    body = await read_json(request)
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
    shop = shop_of(request)
    body = await read_json(request)
    topic = body.get("topic")
    if topic not in COMPLIANCE_TOPICS:
        raise DevstoreError(f"topic must be one of {sorted(COMPLIANCE_TOPICS)}")
    client_id = body.get("client_id")
    if client_id and client_id not in shop.installs and topic != "shop/redact":
        raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
    payload = body.get("payload") or _compliance_payload(topic, shop)
    dispatcher: WebhookDispatcher = request.app.state.dispatcher
    store = store_of(request)
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


async def control_products(request: Request) -> Response:
    shop = shop_of(request)
    store = store_of(request)
    base_url(request)
    if request.method == "GET":
        with store.lock:
            products = [
                product_payload(store, shop, p) for p in sorted(shop.products.values(), key=lambda p: p.id)
            ]
        return JSONResponse({"products": products})
    body = await read_json(request)
    notify = bool(body.pop("notify", True))
    product_id = await run_in_threadpool(create_product_from_json, store, shop, body, notify=notify)
    return JSONResponse({"product": product_payload(store, shop, shop.products[product_id])}, status_code=201)


async def control_rate_limit(request: Request) -> Response:
    """Set one shop's GraphQL bucket: {"bucket_size": N, "restore_rate": N}, or {"plan": true} for its plan's."""
    shop = shop_of(request)
    body = await read_json(request)
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
    shop = shop_of(request)
    body = await read_json(request)
    ids = body.get("product_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise DevstoreError("product_ids must be a list of numeric product ids")
    collection = store_of(request).create_collection(
        shop, title=str(body.get("title") or ""), product_ids=ids
    )
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
    shop = shop_of(request)
    store = store_of(request)
    base_url(request)
    try:
        product_id = int(request.path_params["product_id"])
    except ValueError as exc:
        raise NotFound("product id must be numeric") from exc
    if request.method == "GET":
        return JSONResponse({"product": product_payload(store, shop, store.get_product(shop, product_id))})
    if request.method == "DELETE":
        store.delete_product(shop, product_id)
        return JSONResponse({"ok": True})
    body = await read_json(request)
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
    store_of(request).save(config.snapshot_path)
    return JSONResponse({"saved": str(config.snapshot_path)})


async def control_clock(request: Request) -> Response:
    """Report the devstore's clock (tests compare created_at values with it)."""
    now: datetime = store_of(request).now()
    return JSONResponse({"now": now.isoformat()})


# the control API, in its original order
routes: list[BaseRoute] = [
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
