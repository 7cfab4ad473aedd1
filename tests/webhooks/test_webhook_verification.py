"""Bad webhook input: each case gets its status, a logged reason, and nothing is stored."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from devstore.webhooks import webhook_hmac
from shop_app.db import session_scope
from shop_app.models.jobs import Job
from shop_app.models.shopify import Product, WebhookEvent
from tests.shopify.harness import CLIENT_SECRET, RunningApp, install_shop, open_embedded
from webhooks.verify import compute_hmac

SHOP = "acme.myshopify.com"
PAYLOAD = {
    "id": 788032119674292922,
    "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
    "title": "Example T-Shirt",
    "handle": "example-t-shirt",
    "status": "active",
    "created_at": "2026-11-22T08:00:00Z",
    "updated_at": "2026-11-22T08:00:00Z",
    "images": [
        {
            "id": 850703190,
            "admin_graphql_api_id": "gid://shopify/ProductImage/850703190",
            "position": 1,
            "src": "https://cdn.shopify.com/s/files/1/shirt.png?v=1700000000",
            "width": 123,
            "height": 456,
        }
    ],
    "media": [],
}


def headers(
    body: bytes, *, topic: str = "products/create", shop: str = SHOP, event: str = "evt-1"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": webhook_hmac(body, CLIENT_SECRET),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": f"wh-{event}",
        "X-Shopify-Event-Id": event,
        "X-Shopify-Triggered-At": "2026-11-22T08:00:01Z",
    }


@pytest.fixture
def installed(devstore, running_app: RunningApp) -> RunningApp:  # noqa: ANN001
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return running_app


def _nothing_stored(app: RunningApp) -> None:
    with session_scope(app.db) as session:
        assert session.exec(select(func.count()).select_from(WebhookEvent)).one() == 0
        assert session.exec(select(func.count()).select_from(Product)).one() == 0
        assert session.exec(select(func.count()).select_from(Job)).one() == 0


def test_our_hmac_matches_the_devstores_independent_one() -> None:
    body = json.dumps(PAYLOAD).encode()
    assert compute_hmac(body, CLIENT_SECRET) == webhook_hmac(body, CLIENT_SECRET)


def test_a_valid_delivery_is_stored(installed: RunningApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    resp = installed.client.post("/webhooks/products/create", content=body, headers=headers(body))
    assert resp.status_code == 200 and resp.json()["outcome"] == "created; queued 1"


def _post(app: RunningApp, path: str, body: bytes, hdrs: dict[str, str]) -> httpx.Response:
    return app.client.post(path, content=body, headers=hdrs)


BAD_CASES = {
    "forged hmac": (
        lambda b, h: (b, {**h, "X-Shopify-Hmac-Sha256": webhook_hmac(b, "not-the-secret")}),
        401,
        "bad HMAC",
    ),
    "body changed after signing": (lambda b, h: (b.replace(b"Example", b"Exampl3"), h), 401, "bad HMAC"),
    "re-serialized body": (lambda b, h: (json.dumps(json.loads(b), indent=2).encode(), h), 401, "bad HMAC"),
    "missing hmac header": (
        lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Shopify-Hmac-Sha256"}),
        400,
        "missing",
    ),
    "missing topic header": (
        lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Shopify-Topic"}),
        400,
        "missing",
    ),
    "missing webhook id": (
        lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Shopify-Webhook-Id"}),
        400,
        "missing",
    ),
    "topic for another route": (lambda b, h: (b, {**h, "X-Shopify-Topic": "products/delete"}), 400, "topic"),
    "shop evil.com": (lambda b, h: (b, {**h, "X-Shopify-Shop-Domain": "evil.com"}), 400, "invalid shop"),
    "shop suffix attack": (
        lambda b, h: (b, {**h, "X-Shopify-Shop-Domain": "x.myshopify.com.evil.com"}),
        400,
        "invalid shop",
    ),
    "shop path traversal": (lambda b, h: (b, {**h, "X-Shopify-Shop-Domain": "../"}), 400, "invalid shop"),
    "valid hmac, invalid json": (
        lambda b, h: (
            b"{not json",
            {**h, "X-Shopify-Hmac-Sha256": webhook_hmac(b"{not json", CLIENT_SECRET)},
        ),
        400,
        "invalid JSON",
    ),
    "valid hmac, json array": (
        lambda b, h: (b"[1, 2]", {**h, "X-Shopify-Hmac-Sha256": webhook_hmac(b"[1, 2]", CLIENT_SECRET)}),
        400,
        "invalid JSON",
    ),
    "valid hmac, no product id": (
        lambda b, h: (
            b'{"title": "x"}',
            {**h, "X-Shopify-Hmac-Sha256": webhook_hmac(b'{"title": "x"}', CLIENT_SECRET)},
        ),
        400,
        "unusable",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_delivery_is_refused_logged_and_not_stored(
    case: str, installed: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    make, status, reason = BAD_CASES[case]
    body = json.dumps(PAYLOAD).encode()
    bad_body, bad_headers = make(body, headers(body))
    with caplog.at_level(logging.INFO):
        resp = _post(installed, "/webhooks/products/create", bad_body, bad_headers)
    assert resp.status_code == status, resp.text
    assert reason.lower() in caplog.text.lower()
    _nothing_stored(installed)


def test_other_methods_get_405(installed: RunningApp) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert installed.client.request(method, "/webhooks/products/create").status_code == 405
    _nothing_stored(installed)


def test_oversized_body_gets_413(installed: RunningApp) -> None:
    huge = json.dumps({**PAYLOAD, "body_html": "x" * (3 * 1024 * 1024)}).encode()
    resp = _post(installed, "/webhooks/products/create", huge, headers(huge))
    assert resp.status_code == 413
    _nothing_stored(installed)

    def chunks():  # no Content-Length: the cap applies while streaming
        for _ in range(40):
            yield b"x" * 100_000

    streamed = installed.client.post("/webhooks/products/create", content=chunks(), headers=headers(b"x"))
    assert streamed.status_code == 413
    _nothing_stored(installed)


def test_compliance_webhooks_answer_401_on_a_bad_hmac(installed: RunningApp) -> None:
    body = json.dumps({"shop_id": 1, "shop_domain": SHOP}).encode()
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        hdrs = {**headers(body, topic=topic), "X-Shopify-Hmac-Sha256": "AAAA"}
        assert _post(installed, f"/webhooks/{topic}", body, hdrs).status_code == 401
    with session_scope(installed.db) as session:
        assert session.exec(select(func.count()).select_from(WebhookEvent)).one() == 0


def test_event_id_falls_back_to_webhook_id(installed: RunningApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    hdrs = {k: v for k, v in headers(body).items() if k != "X-Shopify-Event-Id"}
    assert _post(installed, "/webhooks/products/create", body, hdrs).json()["outcome"].startswith("created")
    assert _post(installed, "/webhooks/products/create", body, hdrs).json()["outcome"] == "duplicate"
    with session_scope(installed.db) as session:
        assert session.exec(select(WebhookEvent)).one().event_id == "wh-evt-1"
