"""The Admin GraphQL client against the devstore: pacing and THROTTLED retries, typed errors carrying
Shopify's message, bounded retries with backoff on network errors."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from devstore.config import DevstoreConfig
from devstore.testing import FAST_RETRIES, DevstoreServer
from shop_app.shopify.admin import AdminClient, Operation, RetryPolicy
from shop_app.shopify.errors import (
    ShopifyAuthError,
    ShopifyGraphQLError,
    ShopifyThrottled,
    ShopifyUnavailable,
)
from shop_app.shopify.operations import SCAN_PRODUCTS, SHOP_INFO
from tests.conftest import free_port

SHOP = "acme.myshopify.com"
CLIENT_ID = "admin-client-test"
SECRET = "shpss_admin0123456789abcdef0123456789ab"


@pytest.fixture(scope="module")
def small_bucket() -> Iterator[DevstoreServer]:
    """A shop whose cost bucket holds little more than one ProductDetail query."""
    config = DevstoreConfig(
        webhook_retry_delays=FAST_RETRIES, media_processing_s=0.2, bucket_size=150.0, restore_rate=40.0
    )
    with DevstoreServer(config) as ds:
        yield ds


def _token(ds: DevstoreServer) -> str:
    ds.reset()
    ds.create_shop(SHOP)
    ds.install_app(
        SHOP,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        app_url="http://127.0.0.1:9",
        scopes=["read_products"],
    )
    return ds.exchange_token(SHOP, CLIENT_ID, SECRET)["access_token"]


def _client(http: httpx.AsyncClient, ds_base: str, token: str, **kwargs: object) -> AdminClient:
    async def provide() -> str:
        return token

    return AdminClient(http=http, shop=SHOP, token=provide, admin_base=ds_base, **kwargs)  # type: ignore[arg-type]


def test_paces_and_retries_through_throttling(small_bucket: DevstoreServer) -> None:
    token = _token(small_bucket)
    shop = small_bucket.store.get_shop(SHOP)
    for n in range(40):
        small_bucket.store.create_product(shop, title=f"Mug {n}", emit=False)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def run() -> list[dict]:
        async with httpx.AsyncClient() as http:
            client = _client(http, small_bucket.admin_base, token, sleep=sleep)
            # A literal `first`: the devstore prices `first: $var` as if it were 0 (a devstore gap).
            listing = Operation(
                "List", "query List { products(first: 50) { nodes { id title mediaCount { count } } } }"
            )
            return [await client.execute(listing) for _ in range(3)]

    # Each answer costs ~80 of a 150-point bucket: the client must wait for refills between calls.
    results = asyncio.run(run())
    assert [len(r["products"]["nodes"]) for r in results] == [40] * 3
    assert waits and sum(waits) > 0.2


def test_throttled_error_is_raised_after_bounded_attempts(small_bucket: DevstoreServer) -> None:
    token = _token(small_bucket)
    heavy = Operation(
        "Heavy",
        "query Heavy { products(first: 100) { nodes { id title mediaCount { count } } } }",  # 202 > 150
        estimated_cost=1,  # the client has not seen this query's cost yet
    )
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            await _client(
                http, small_bucket.admin_base, token, sleep=sleep, retry=RetryPolicy(attempts=3)
            ).execute(heavy)

    with pytest.raises(ShopifyThrottled) as err:
        asyncio.run(run())  # it can never be paid from a 150-point bucket
    assert "Throttled" in err.value.message
    assert len(waits) >= 2


def test_graphql_errors_carry_shopifys_message(devstore: DevstoreServer) -> None:
    token = _token(devstore)
    typo = Operation("Typo", "query Typo { shop { nmae } }")

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            await _client(http, devstore.admin_base, token).execute(typo)

    with pytest.raises(ShopifyGraphQLError) as err:
        asyncio.run(run())
    assert "Field 'nmae' doesn't exist on type 'Shop'" in err.value.message
    assert err.value.shop == SHOP and not err.value.retryable


def test_rejected_token_is_an_auth_error(devstore: DevstoreServer) -> None:
    _token(devstore)

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            await _client(http, devstore.admin_base, "shpat_wrong").execute(SHOP_INFO)

    with pytest.raises(ShopifyAuthError) as err:
        asyncio.run(run())
    assert "Invalid API key or access token" in err.value.message and err.value.http_status == 401


def test_successful_answers_feed_the_pacing(devstore: DevstoreServer) -> None:
    token = _token(devstore)

    async def run() -> AdminClient:
        async with httpx.AsyncClient() as http:
            client = _client(http, devstore.admin_base, token)
            variables = {"query": "status:active", "first": 10, "after": None, "sortKey": "CREATED_AT"}
            data = await client.execute(SCAN_PRODUCTS, variables)
            assert data["products"]["nodes"] == []
            return client

    client = asyncio.run(run())
    assert client.throttle.maximum == 2000.0 and client.throttle.restore_rate == 100.0  # Standard plan
    assert client.throttle.available < 2000.0


def test_network_errors_are_retried_with_backoff_then_raised() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            policy = RetryPolicy(attempts=4, base_delay_s=0.5, max_delay_s=30.0)
            await _client(http, f"http://127.0.0.1:{free_port()}", "t", sleep=sleep, retry=policy).execute(
                SHOP_INFO
            )

    with pytest.raises(ShopifyUnavailable) as err:
        asyncio.run(run())
    assert "network error" in err.value.message
    assert len(waits) == 3  # 4 attempts, 3 pauses
    for n, wait in enumerate(waits):  # exponential, with jitter in [half, full]
        assert 0.25 * 2**n <= wait <= 0.5 * 2**n


def _response(status: int, json: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, json=json, headers=headers, request=httpx.Request("POST", "https://x/graphql.json")
    )


def test_answers_are_classified() -> None:
    client = AdminClient(http=None, shop=SHOP, token=None)  # type: ignore[arg-type]
    op = SHOP_INFO
    with pytest.raises(ShopifyThrottled) as throttled:
        client._handle(op, _response(429, {"errors": "Exceeded 2 calls per second"}, {"Retry-After": "7"}))
    assert throttled.value.retry_after == 7.0
    with pytest.raises(ShopifyUnavailable) as unavailable:
        client._handle(op, _response(503, None, {"Retry-After": "3"}))
    assert unavailable.value.retry_after == 3.0 and unavailable.value.retryable
    with pytest.raises(ShopifyAuthError):
        client._handle(op, _response(403, {"errors": "[API] This action requires merchant approval"}))
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 300,
                "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": 100, "restoreRate": 50},
            }
        },
    }
    with pytest.raises(ShopifyThrottled) as body_throttled:
        client._handle(op, _response(200, body))
    assert 3.5 <= (body_throttled.value.retry_after or 0) <= 4.0  # (300 - 100) / 50 s


def test_retry_after_is_honoured_over_the_backoff() -> None:
    from tenacity import RetryCallState

    client = AdminClient(http=None, shop=SHOP, token=None, retry=RetryPolicy(base_delay_s=0.1))  # type: ignore[arg-type]
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = 1
    state.set_exception((ShopifyThrottled, ShopifyThrottled("x", retry_after=7.0), None))
    assert client._wait(state) == 7.0


def test_every_call_has_a_timeout() -> None:
    policy = RetryPolicy()
    assert policy.timeout.read and policy.timeout.connect
    assert dataclasses.is_dataclass(policy)
