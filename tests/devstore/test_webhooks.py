"""Webhooks reach a real HTTP receiver, signed, shaped like Shopify's, retried on failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, SHOP, Receiver, png_bytes

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "webhooks" / "2026-07" / "schemas"
REQUIRED_HEADERS = {
    "x-shopify-hmac-sha256",
    "x-shopify-topic",
    "x-shopify-shop-domain",
    "x-shopify-api-version",
    "x-shopify-webhook-id",
    "x-shopify-event-id",
    "x-shopify-triggered-at",
}


def verify(body: bytes, header: str, secret: str) -> bool:
    """An independent HMAC check, as an app would write it."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.encode())


def _relax_empty_arrays(node: Any) -> None:
    # The schemas were generated from Shopify's sample payloads; where a sample array was empty the schema
    # says "items": false (no items allowed), which real payloads with variant ids would violate.
    if isinstance(node, dict):
        if node.get("items") is False:
            del node["items"]
        for value in node.values():
            _relax_empty_arrays(value)
    elif isinstance(node, list):
        for value in node:
            _relax_empty_arrays(value)


def schema_for(topic: str) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{topic}.json").read_text())
    _relax_empty_arrays(schema)
    if topic.startswith("products/") and "image" in schema.get("properties", {}):
        # Shopify's own example payload sends "image": null for a product without images, which its schema
        # (type object) does not allow; accept null as the examples do.
        schema["properties"]["image"]["type"] = ["object", "null"]
    return schema


@pytest.fixture
def app_ds(ds: DevstoreServer, receiver: Receiver) -> DevstoreServer:
    ds.install_app(
        SHOP, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, app_url=receiver.base_url, scopes=SCOPES
    )
    return ds


def test_product_create_update_delete_are_delivered_signed_and_valid(
    app_ds: DevstoreServer, receiver: Receiver
) -> None:
    ds = app_ds
    product = ds.create_product(
        SHOP,
        title="Tall Can",
        vendor="Acme",
        product_type="Cans",
        tags=["drinks", "cold"],
        images=[png_bytes(), {"data": png_bytes(20, 20), "alt": "side", "variants": [1]}],
        variants=[
            {"price": "2.50", "sku": "CAN-S", "options": {"Size": "S"}},
            {"price": "3.00", "sku": "CAN-L", "options": {"Size": "L"}},
        ],
    )
    token = ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]
    nodes = ds.graphql(
        SHOP,
        token,
        "query P($id: ID!) { product(id: $id) { media(first: 5) { nodes { "
        "... on MediaImage { image { url } } } } } }",
        {"id": product["admin_graphql_api_id"]},
    ).json()["data"]["product"]["media"]["nodes"]
    admin_urls = [n["image"]["url"] for n in nodes]
    ds.update_product(SHOP, product["id"], title="Taller Can")
    ds.delete_product(SHOP, product["id"])
    requests = receiver.wait_for(3)
    assert [r.path for r in requests] == ["/webhooks/products"] * 2 + ["/webhooks/products/delete"]
    topics = [r.headers["x-shopify-topic"] for r in requests]
    assert topics == ["products/create", "products/update", "products/delete"]
    for r, topic in zip(requests, topics, strict=True):
        assert REQUIRED_HEADERS <= set(r.headers)
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-shopify-shop-domain"] == SHOP
        assert r.headers["x-shopify-api-version"] == "2026-10"
        assert verify(r.body, r.headers["x-shopify-hmac-sha256"], CLIENT_SECRET)
        assert not verify(r.body + b" ", r.headers["x-shopify-hmac-sha256"], CLIENT_SECRET)
        jsonschema.validate(json.loads(r.body), schema_for(topic))
    created = json.loads(requests[0].body)
    assert created["id"] == product["id"]
    assert created["admin_graphql_api_id"] == f"gid://shopify/Product/{product['id']}"
    assert created["tags"] == "cold, drinks"
    assert created["status"] == "active"
    assert [m["media_content_type"] for m in created["media"]] == ["IMAGE", "IMAGE"]
    assert created["variants"][1]["image_id"] == created["images"][1]["id"]
    # the image URL in the payload is the one the Admin API reports, so an app can match them up
    assert admin_urls == [i["src"] for i in created["images"]]
    assert json.loads(requests[1].body)["title"] == "Taller Can"
    assert json.loads(requests[2].body) == {"id": product["id"]}
    assert len({r.headers["x-shopify-webhook-id"] for r in requests}) == 3


def test_failed_deliveries_are_retried_with_the_same_payload(
    app_ds: DevstoreServer, receiver: Receiver
) -> None:
    ds = app_ds
    receiver.fail_first["/webhooks/products"] = 2
    ds.create_product(SHOP, title="Jar")
    assert ds.wait_for_webhooks(10)
    requests = receiver.for_path("/webhooks/products")
    assert len(requests) == 3
    assert len({r.body for r in requests}) == 1
    assert len({r.headers["x-shopify-webhook-id"] for r in requests}) == 1
    [delivery] = ds.webhook_deliveries(topic="products/create")
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]


def test_a_delivery_that_keeps_failing_gives_up_after_eight_retries(
    app_ds: DevstoreServer, receiver: Receiver
) -> None:
    ds = app_ds
    receiver.always_fail.add("/webhooks/products/delete")
    product = ds.create_product(SHOP, title="Tote", notify=False)
    ds.delete_product(SHOP, product["id"])
    assert ds.wait_for_webhooks(15)
    [delivery] = ds.webhook_deliveries(topic="products/delete")
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) == 9  # the first try and 8 retries
    assert len(receiver.for_path("/webhooks/products/delete")) == 9


def test_delivery_never_blocks_the_request_that_caused_it(app_ds: DevstoreServer, receiver: Receiver) -> None:
    ds = app_ds
    receiver.gate = threading.Event()
    ds.create_product(SHOP, title="Mug")  # returns although the receiver has not answered
    [delivery] = ds.webhook_deliveries(topic="products/create")
    assert delivery["state"] == "pending"
    receiver.gate.set()
    assert ds.wait_for_webhooks(10)
    assert ds.webhook_deliveries(topic="products/create")[0]["state"] == "delivered"


def test_uninstall_scopes_update_and_compliance_topics(app_ds: DevstoreServer, receiver: Receiver) -> None:
    ds = app_ds
    ds.update_scopes(SHOP, CLIENT_ID, ["read_products"])
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        ds.send_compliance_webhook(SHOP, topic, client_id=CLIENT_ID)
    ds.uninstall_app(SHOP, CLIENT_ID)
    requests = receiver.wait_for(5)
    by_topic = {r.headers["x-shopify-topic"]: r for r in requests}
    assert by_topic["app/scopes_update"].path == "/webhooks/app/scopes_update"
    assert by_topic["app/uninstalled"].path == "/webhooks/app/uninstalled"
    for topic in ("customers/data_request", "customers/redact", "shop/redact"):
        assert by_topic[topic].path == "/webhooks/compliance"
    for topic, r in by_topic.items():
        assert verify(r.body, r.headers["x-shopify-hmac-sha256"], CLIENT_SECRET), topic
        jsonschema.validate(json.loads(r.body), schema_for(topic))
    scopes = json.loads(by_topic["app/scopes_update"].body)
    assert scopes["previous"] == SCOPES and scopes["current"] == ["read_products"]
    assert json.loads(by_topic["app/uninstalled"].body)["myshopify_domain"] == SHOP
    # after uninstall, product events reach nobody
    ds.create_product(SHOP, title="Late")
    assert ds.webhook_deliveries(topic="products/create") == []


def test_custom_subscriptions_and_graphql_mutations_fire_updates(
    ds: DevstoreServer, receiver: Receiver
) -> None:
    ds.install_app(
        SHOP,
        client_id="second-app",
        client_secret="another-secret-0123456789",
        app_url=receiver.base_url,
        scopes=SCOPES,
        subscriptions=[{"topics": ["products/update"], "uri": "/hooks", "name": "nu3d-updates"}],
    )
    token = ds.exchange_token(SHOP, "second-app", "another-secret-0123456789")["access_token"]
    product = ds.create_product(SHOP, title="Bottle")  # not subscribed: no create delivery
    response = ds.graphql(
        SHOP,
        token,
        "mutation U($p: ProductUpdateInput!) { productUpdate(product: $p) "
        "{ product { title } userErrors { message } } }",
        {"p": {"id": product["admin_graphql_api_id"], "title": "Bottle 2"}},
    )
    assert response.json()["data"]["productUpdate"] == {"product": {"title": "Bottle 2"}, "userErrors": []}
    [r] = receiver.wait_for(1)
    assert r.path == "/hooks"
    assert r.headers["x-shopify-topic"] == "products/update"
    assert r.headers["x-shopify-name"] == "nu3d-updates"
    assert json.loads(r.body)["title"] == "Bottle 2"
    assert verify(r.body, r.headers["x-shopify-hmac-sha256"], "another-secret-0123456789")


def test_control_api_rejects_bad_input(ds: DevstoreServer) -> None:
    bad = ds.client.post(f"{ds.base_url}/_devstore/shops/{SHOP}/products", json={"title": ""})
    assert bad.status_code == 400 and "title" in bad.json()["error"]
    bad = ds.client.post(
        f"{ds.base_url}/_devstore/shops/{SHOP}/products", json={"title": "x", "status": "LIVE"}
    )
    assert bad.status_code == 400 and "status" in bad.json()["error"]
    bad = ds.client.post(
        f"{ds.base_url}/_devstore/shops/{SHOP}/products",
        json={"title": "x", "images": [{"data_base64": base64.b64encode(b"nope").decode()}]},
    )
    assert bad.status_code == 400 and "image" in bad.json()["error"]
    assert ds.client.get(f"{ds.base_url}/_devstore/shops/{SHOP}/products/1").status_code == 404
    assert ds.client.post(f"{ds.base_url}/_devstore/shops", json={"shop": "x"}).status_code == 400
    assert ds.client.post(f"{ds.base_url}/_devstore/shops", json={"shop": SHOP}).status_code == 409
    bad = ds.client.post(f"{ds.base_url}/_devstore/shops", json={"shop": "zed", "iana_timezone": "Mars/Base"})
    assert bad.status_code == 400 and "timezone" in bad.json()["error"]
    bad = ds.client.post(
        f"{ds.base_url}/_devstore/apps",
        json={
            "client_id": "a",
            "client_secret": "b",
            "app_url": "http://x",
            "subscriptions": [{"topics": ["orders/create"], "uri": "/x"}],
        },
    )
    assert bad.status_code == 400 and "orders/create" in bad.json()["error"]
