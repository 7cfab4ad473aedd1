"""Bulk operations as Shopify documents them: bulkOperationRunQuery → RUNNING → COMPLETED with a JSONL file
(nested connection nodes as their own lines with __parentId), currentBulkOperation / node polling, one
operation at a time, invalid queries refused, and the bulk_operations/finish webhook."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, SHOP, Receiver, gql, png_bytes

RUN = """mutation($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status } userErrors { field message code } } }"""
PRODUCTS = """{ products(query: "status:active") { edges { node {
  id title
  media { edges { node { id ... on MediaImage { image { url } } } } }
  variants { edges { node { id sku } } }
} } } }"""
CURRENT = "{ currentBulkOperation(type: QUERY) { id status errorCode objectCount rootObjectCount url } }"


def _wait_completed(ds: DevstoreServer, token: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = gql(ds, token, CURRENT)["data"]["currentBulkOperation"]
        if op["status"] != "RUNNING":
            return op
        time.sleep(0.05)
    raise AssertionError("bulk operation still running")


def test_bulk_query_jsonl_with_parent_ids(ds: DevstoreServer, token: str, receiver: Receiver) -> None:
    ds.install_app(
        SHOP, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, app_url=receiver.base_url, scopes=SCOPES,
        subscriptions=[{"topics": ["bulk_operations/finish"], "uri": "/bulk"}],
    )  # fmt: skip
    token = ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]
    made = [
        ds.create_product(SHOP, title=f"P{n}", images=[png_bytes(color=(n, 0, 0))], notify=False,
                          variants=[{"sku": f"A{n}"}, {"sku": f"B{n}"}])
        for n in range(3)
    ]  # fmt: skip
    ds.create_product(SHOP, title="Draft", status="DRAFT", notify=False)
    started = gql(ds, token, RUN, {"q": PRODUCTS})["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "RUNNING"
    busy = gql(ds, token, RUN, {"q": PRODUCTS})["data"]["bulkOperationRunQuery"]
    assert busy["bulkOperation"] is None and "already in progress" in busy["userErrors"][0]["message"]

    done = _wait_completed(ds, token)
    assert done["status"] == "COMPLETED" and done["rootObjectCount"] == "3"
    assert done["objectCount"] == str(3 + 3 + 6)
    by_node = gql(ds, token, "query($id: ID!) { node(id: $id) { ... on BulkOperation { status url } } }",
                  {"id": done["id"]})["data"]["node"]  # fmt: skip
    assert by_node["url"] == done["url"]
    lines = [json.loads(line) for line in httpx.get(done["url"]).text.splitlines()]
    products = [line for line in lines if "__parentId" not in line]
    assert [p["title"] for p in products] == ["P0", "P1", "P2"]
    assert all("media" not in p and "variants" not in p for p in products), "nested connections are own lines"
    for product, created in zip(products, made, strict=True):
        children = [line for line in lines if line.get("__parentId") == product["id"]]
        assert sorted(c["sku"] for c in children if "sku" in c) == sorted(
            v["sku"] for v in created["variants"]
        )
        assert [c["image"]["url"].split("?")[0] for c in children if "image" in c] == [
            created["images"][0]["src"].split("?")[0]
        ]
    parents = [lines.index(p) for p in products]
    for line in lines:
        if "__parentId" in line:
            assert lines.index(line) > parents[[p["id"] for p in products].index(line["__parentId"])]

    (hook,) = receiver.wait_for(1)
    body = json.loads(hook.body)
    assert hook.path == "/bulk" and hook.headers["x-shopify-topic"] == "bulk_operations/finish"
    assert (
        body["admin_graphql_api_id"] == done["id"]
        and body["status"] == "completed"
        and body["type"] == "query"
    )


def test_invalid_bulk_queries_are_refused(ds: DevstoreServer, token: str) -> None:
    for query in (
        "{ shop { name } }",  # no connection
        "{ products { edges { node { id } } } collections { edges { node { id } } } }",  # two top-level fields
        "{ products { edges { node { nope } } } }",  # not in the schema
        "mutation { shop { name } }",
    ):
        answer = gql(ds, token, RUN, {"q": query})["data"]["bulkOperationRunQuery"]
        assert answer["bulkOperation"] is None and answer["userErrors"], query
    assert gql(ds, token, CURRENT)["data"]["currentBulkOperation"] is None
