"""Each shop's GraphQL bucket follows its plan as Shopify documents it today (restore 100/200/1000/2000 points
per second), and a shop's own bucket can be set through the control API."""

from __future__ import annotations

import pytest

from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, gql

PLANS = {
    "basic": (2000.0, 100.0),
    "professional": (2000.0, 100.0),
    "partner_test": (2000.0, 100.0),
    "unlimited": (4000.0, 200.0),
    "shopify_plus": (20000.0, 1000.0),
    "enterprise": (40000.0, 2000.0),
}


@pytest.fixture(scope="module")
def plans_store() -> DevstoreServer:
    with DevstoreServer() as ds:  # no config override: the plan decides
        yield ds  # type: ignore[misc]


def _token(ds: DevstoreServer, shop: str, plan: str) -> str:
    ds.create_shop(shop, plan=plan)
    ds.install_app(
        shop,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_url="http://127.0.0.1:9",
        scopes=SCOPES,
        subscriptions=[],
    )
    return ds.exchange_token(shop, CLIENT_ID, CLIENT_SECRET)["access_token"]


@pytest.mark.parametrize("plan", sorted(PLANS))
def test_bucket_and_restore_rate_by_plan(plans_store: DevstoreServer, plan: str) -> None:
    shop = f"{plan.replace('_', '-')}-shop.myshopify.com"
    token = _token(plans_store, shop, plan)
    status = gql(plans_store, token, "{ shop { name } }", shop=shop)["extensions"]["cost"]["throttleStatus"]
    assert (status["maximumAvailable"], status["restoreRate"]) == PLANS[plan]


def test_a_shops_own_bucket(plans_store: DevstoreServer) -> None:
    shop = "tiny-bucket.myshopify.com"
    token = _token(plans_store, shop, "shopify_plus")
    plans_store.set_rate_limit(shop, bucket_size=50, restore_rate=5)
    body = gql(plans_store, token, "{ products(first: 60) { nodes { id } } }", shop=shop)
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 50.0
    bad = plans_store.client.put(
        f"{plans_store.admin_base}/_devstore/shops/{shop}/rate-limit", json={"bucket_size": -1}
    )
    assert bad.status_code == 400
    back = plans_store.client.put(
        f"{plans_store.admin_base}/_devstore/shops/{shop}/rate-limit", json={"plan": True}
    )
    assert back.json()["restore_rate"] == 1000.0
