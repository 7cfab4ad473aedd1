"""Query cost and the leaky bucket: throttling engages when the bucket cannot pay and recovers with time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstore.config import DevstoreConfig
from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, SHOP, gql

QUERY_42 = "{ products(first: 40) { nodes { id } } }"  # 2 + 40 x 1


class Ticker:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def small() -> Iterator[tuple[DevstoreServer, str, Ticker]]:
    config = DevstoreConfig(bucket_size=100, restore_rate=10, max_query_cost=500)
    with DevstoreServer(config) as ds:
        ticker = Ticker()
        ds.app.state.bucket.clock = ticker
        ds.create_shop(SHOP)
        ds.install_app(
            SHOP,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_url="http://127.0.0.1:9",
            scopes=SCOPES,
            subscriptions=[],
        )
        for i in range(40):
            ds.create_product(SHOP, title=f"p{i}", notify=False)
        token = ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]
        yield ds, token, ticker


def test_cost_extension_and_bucket_accounting(small: tuple[DevstoreServer, str, Ticker]) -> None:
    ds, token, _ = small
    body = gql(ds, token, QUERY_42)
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 42,
        "actualQueryCost": 42,
        "throttleStatus": {"maximumAvailable": 100.0, "currentlyAvailable": 58, "restoreRate": 10.0},
    }
    # actual cost follows what came back: 5 products cost 2 + 5
    body = gql(ds, token, '{ products(first: 40, query: "title:p1") { nodes { id } } }')
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 42
    assert cost["actualQueryCost"] == 2 + len(body["data"]["products"]["nodes"])
    assert cost["throttleStatus"]["currentlyAvailable"] == 58 - cost["actualQueryCost"]
    # scalars cost nothing, objects 1, nested connections multiply
    nested = gql(
        ds, token, "{ shop { name } products(first: 2) { nodes { variants(first: 3) { nodes { id } } } } }"
    )
    assert nested["extensions"]["cost"]["requestedQueryCost"] == 1 + 2 + 2 * (1 + 2 + 3)
    mutation = gql(
        ds,
        token,
        'mutation { productUpdate(product: {id: "gid://shopify/Product/1"}) { userErrors { message } } }',
    )
    assert mutation["extensions"]["cost"]["requestedQueryCost"] == 10 + 1


def test_throttled_when_bucket_cannot_pay_then_recovers(small: tuple[DevstoreServer, str, Ticker]) -> None:
    ds, token, ticker = small
    assert "data" in gql(ds, token, QUERY_42)  # 100 -> 58
    assert "data" in gql(ds, token, QUERY_42)  # 58 -> 16
    response = ds.graphql(SHOP, token, QUERY_42)
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }
    ]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 42
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 16
    ticker.t += 2.5  # 16 + 25 = 41 < 42: still throttled
    assert gql(ds, token, QUERY_42)["errors"][0]["extensions"]["code"] == "THROTTLED"
    ticker.t += 0.1
    recovered = gql(ds, token, QUERY_42)
    assert len(recovered["data"]["products"]["nodes"]) == 40
    assert recovered["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    ticker.t += 1000  # refills to the maximum, never beyond
    assert (
        gql(ds, token, "{ shop { name } }")["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        == 99
    )


def test_buckets_are_per_shop(small: tuple[DevstoreServer, str, Ticker]) -> None:
    ds, token, _ = small
    ds.create_shop("second-shop.myshopify.com")
    ds.client.post(
        f"{ds.base_url}/_devstore/shops/second-shop.myshopify.com/installs", json={"client_id": CLIENT_ID}
    )
    other = ds.exchange_token("second-shop.myshopify.com", CLIENT_ID, CLIENT_SECRET)["access_token"]
    for _ in range(2):
        gql(ds, token, QUERY_42)
    assert gql(ds, token, QUERY_42)["errors"][0]["extensions"]["code"] == "THROTTLED"
    fresh = gql(ds, other, QUERY_42, shop="second-shop.myshopify.com")
    assert fresh["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 100 - 2


def test_single_query_over_the_max_cost_is_refused(small: tuple[DevstoreServer, str, Ticker]) -> None:
    ds, token, _ = small
    # 252 is under the max cost but more than the 100-point bucket can ever hold
    body = gql(ds, token, "{ products(first: 250) { nodes { id } } }")
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "THROTTLED"
    body = gql(ds, token, "{ products(first: 250) { nodes { variants(first: 10) { nodes { id } } } } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 2 + 250 * 13, "maxCost": 500}
    assert error["message"].startswith(
        f"Query cost is {2 + 250 * 13}, which exceeds the single query max cost limit (500)."
    )


def test_connection_size_passed_as_a_variable_is_priced(small: tuple[DevstoreServer, str, Ticker]) -> None:
    ds, token, _ = small
    query = "query Page($first: Int!) { products(first: $first) { nodes { id } } }"
    body = gql(ds, token, query, {"first": 40})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 40
    assert len(body["data"]["products"]["nodes"]) == 40
    # an oversized page given as a variable is refused before it runs, as a literal one is
    refused = gql(
        ds,
        token,
        "query P($n: Int!) { products(first: $n) { nodes { variants(first: 250) { nodes { id } } } } }",
        {"n": 40},
    )
    assert refused["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
