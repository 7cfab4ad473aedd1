"""Bad webhook input: each case gets its status, a logged reason, and nothing is stored."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from devstore.webhooks import webhook_hmac
from shop_app.db import session_scope
from shop_app.models.jobs import Job
from shop_app.models.shopify import Product, WebhookEvent
from tests.shopify.harness import CLIENT_SECRET, RunningApp, install_shop, open_embedded, outcome_of
from webhooks.verify import compute_hmac

SHOP = "acme.myshopify.com"


def stamp(ago_s: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=ago_s)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


PAYLOAD = {
    "id": 788032119674292922,
    "admin_graphql_api_id": "gid://shopify/Product/788032119674292922",
    "title": "Example T-Shirt",
    "handle": "example-t-shirt",
    "status": "active",
    "created_at": stamp(60),
    "updated_at": stamp(60),
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
        "X-Shopify-Triggered-At": stamp(),
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
    assert resp.status_code == 200 and resp.json()["outcome"] == "accepted"
    assert outcome_of(installed.db, "evt-1") == "created; queued 1"


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
    "missing triggered-at": (
        lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Shopify-Triggered-At"}),
        400,
        "missing",
    ),
    "triggered-at not a time": (
        lambda b, h: (b, {**h, "X-Shopify-Triggered-At": "yesterday"}),
        400,
        "invalid triggered-at",
    ),
    "triggered two days ago (replayed with a fresh header set)": (
        lambda b, h: (b, {**h, "X-Shopify-Triggered-At": stamp(2 * 86400)}),
        400,
        "stale delivery",
    ),
    "triggered in the future": (
        lambda b, h: (b, {**h, "X-Shopify-Triggered-At": stamp(-3600)}),
        400,
        "future",
    ),
    "signed updated_at two days old, fresh triggered-at": (
        lambda b, h: (
            (old := json.dumps({**PAYLOAD, "updated_at": stamp(2 * 86400)}).encode()),
            {**h, "X-Shopify-Hmac-Sha256": webhook_hmac(old, CLIENT_SECRET)},
        ),
        400,
        "stale delivery",
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
    assert _post(installed, "/webhooks/products/create", body, hdrs).json()["outcome"] == "accepted"
    assert _post(installed, "/webhooks/products/create", body, hdrs).json()["outcome"] == "duplicate"
    assert outcome_of(installed.db, "wh-evt-1").startswith("created")
    with session_scope(installed.db) as session:
        assert session.exec(select(WebhookEvent)).one().event_id == "wh-evt-1"


def test_a_signed_body_replayed_with_fresh_ids_is_a_duplicate(installed: RunningApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    assert _post(installed, "/webhooks/products/create", body, headers(body)).json()["outcome"] == "accepted"
    again = _post(installed, "/webhooks/products/create", body, headers(body, event="evt-fresh"))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    installed.wait_for_inbox()
    with session_scope(installed.db) as session:
        assert session.exec(select(func.count()).select_from(WebhookEvent)).one() == 1
        assert session.exec(select(func.count()).select_from(Job)).one() == 1


def test_uninstall_signed_for_one_shop_cannot_uninstall_another(
    devstore,
    installed: RunningApp,
    caplog: pytest.LogCaptureFixture,  # noqa: ANN001
) -> None:
    from shop_app.models.core import Shop

    other = "victim.myshopify.com"
    install_shop(devstore, installed, other)
    assert open_embedded(devstore, installed, other).status_code == 200
    # The Shop resource app/uninstalled carries, signed for acme, sent with the victim's header and fresh ids.
    body = json.dumps({"id": 1, "domain": SHOP, "myshopify_domain": SHOP, "name": "Acme"}).encode()
    hdrs = headers(body, topic="app/uninstalled", shop=other, event="forged-uninstall")
    with caplog.at_level(logging.INFO):
        resp = _post(installed, "/webhooks/app/uninstalled", body, hdrs)
    assert resp.status_code == 400 and resp.json()["detail"]["code"] == "SHOP_MISMATCH", resp.text
    assert "payload names another shop" in caplog.text
    with session_scope(installed.db) as session:
        victim = session.exec(select(Shop).where(Shop.domain == other)).one()
        assert victim.uninstalled_at is None and victim.access_token_enc
        assert session.exec(select(func.count()).select_from(WebhookEvent)).one() == 0
    # A compliance payload names its shop as shop_domain: bound the same way.
    body = json.dumps({"shop_id": 1, "shop_domain": SHOP}).encode()
    resp = _post(installed, "/webhooks/shop/redact", body, headers(body, topic="shop/redact", shop=other))
    assert resp.status_code == 400 and resp.json()["detail"]["code"] == "SHOP_MISMATCH"


def test_bulk_operation_finish_without_an_operation_id_is_refused_before_it_is_stored(
    installed: RunningApp,
) -> None:
    body = json.dumps({"status": "completed"}).encode()
    resp = _post(
        installed, "/webhooks/bulk_operations/finish", body, headers(body, topic="bulk_operations/finish")
    )
    assert resp.status_code == 400 and "admin_graphql_api_id" in resp.text, resp.text
    _nothing_stored(installed)
    good = json.dumps(
        {"admin_graphql_api_id": "gid://shopify/BulkOperation/1", "status": "completed"}
    ).encode()
    hdrs = headers(good, topic="bulk_operations/finish", event="evt-bulk")
    assert _post(installed, "/webhooks/bulk_operations/finish", good, hdrs).json()["outcome"] == "accepted"
    assert outcome_of(installed.db, "evt-bulk") == "no backfill for this operation"
