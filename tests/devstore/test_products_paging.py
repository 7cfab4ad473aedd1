"""Paging 1,000 products over HTTP yields each exactly once, in order, for every sort key and page size."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstore.config import DevstoreConfig
from devstore.state import Product, Store
from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, SHOP

PAGE_QUERY = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sortKey: ProductSortKeys, $reverse: Boolean) {
  products(first: $first, after: $after, last: $last, before: $before, sortKey: $sortKey, reverse: $reverse,
           query: "status:active,draft,archived") {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _iso_or_none(dt: datetime | None) -> str | None:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


# The order Shopify defines for each sort key, ties broken by id; products without a value come first.
SORT_KEYS: dict[str, Callable[[Product], Any]] = {
    "ID": lambda p: p.id,
    "CREATED_AT": lambda p: _iso_or_none(p.created_at),
    "UPDATED_AT": lambda p: _iso_or_none(p.updated_at),
    "PUBLISHED_AT": lambda p: _iso_or_none(p.published_at),
    "TITLE": lambda p: p.title.lower(),
    "VENDOR": lambda p: p.vendor.lower(),
    "PRODUCT_TYPE": lambda p: p.product_type.lower(),
    "INVENTORY_TOTAL": lambda p: sum(v.inventory_quantity for v in p.variants),
    "RELEVANCE": lambda p: p.id,
}


@pytest.fixture(scope="module")
def big_store() -> Iterator[tuple[DevstoreServer, str, list[Product]]]:
    rng = random.Random(1234)
    store = Store()
    config = DevstoreConfig(bucket_size=1e9, restore_rate=1e9)
    with DevstoreServer(config, store=store) as ds:
        shop = store.create_shop(SHOP)
        products = []
        for _ in range(1000):
            # few distinct values so that ties (and the id tie-break) are everywhere
            created = T0 + timedelta(minutes=rng.randrange(300))
            p = store.create_product(
                shop,
                title=rng.choice(["Mug", "mug", "Jar", "Box", "Can", "Bottle", "Tote"])
                + f" {rng.randrange(20)}",
                status=rng.choice(["ACTIVE", "ACTIVE", "DRAFT", "ARCHIVED"]),
                vendor=rng.choice(["Acme", "acme", "Zeta", "Beta", ""]),
                product_type=rng.choice(["Mugs", "Jars", ""]),
                created_at=created,
                variants=[{"price": "1.00", "inventory_quantity": rng.randrange(5)}],
                emit=False,
            )
            p.updated_at = created + timedelta(seconds=rng.randrange(3) * 3600)
            if p.status != "ACTIVE":
                p.published_at = None
            products.append(p)
        store.bump()  # the records were edited directly
        ds.install_app(
            SHOP,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_url="http://127.0.0.1:9",
            scopes=SCOPES,
            subscriptions=[],
        )
        token = ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]
        yield ds, token, products


def _expected(products: list[Product], sort_key: str, reverse: bool = False) -> list[str]:
    key = SORT_KEYS[sort_key]
    ordered = sorted(
        products,
        key=lambda p: (key(p) is not None, key(p) if key(p) is not None else 0, p.id),
        reverse=reverse,
    )
    return [f"gid://shopify/Product/{p.id}" for p in ordered]


def _page(ds: DevstoreServer, token: str, **variables: Any) -> dict[str, Any]:
    response = ds.client.post(
        ds.graphql_url(SHOP),
        json={"query": PAGE_QUERY, "variables": variables},
        headers={"X-Shopify-Access-Token": token},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["products"]


def _walk_forward(
    ds: DevstoreServer, token: str, size: int, sort_key: str, reverse: bool = False
) -> list[str]:
    seen: list[str] = []
    after = None
    first_page = True
    while True:
        page = _page(ds, token, first=size, after=after, sortKey=sort_key, reverse=reverse)
        ids = [e["node"]["id"] for e in page["edges"]]
        info = page["pageInfo"]
        assert len(ids) <= size
        assert info["hasPreviousPage"] is (not first_page)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        seen.extend(ids)
        first_page = False
        if not info["hasNextPage"]:
            return seen
        assert len(ids) == size
        after = info["endCursor"]


@pytest.mark.parametrize("sort_key", list(SORT_KEYS))
def test_forward_paging_every_sort_key_and_page_size(big_store: Any, sort_key: str) -> None:
    ds, token, products = big_store
    expected = _expected(products, sort_key)
    for size in (1, 7, 50, 250):
        seen = _walk_forward(ds, token, size, sort_key)
        assert len(seen) == len(set(seen)) == 1000
        assert seen == expected, f"{sort_key} at page size {size}"


@pytest.mark.parametrize("sort_key", ["CREATED_AT", "TITLE", "UPDATED_AT"])
def test_reverse_paging(big_store: Any, sort_key: str) -> None:
    ds, token, products = big_store
    expected = _expected(products, sort_key, reverse=True)
    for size in (7, 250):
        assert _walk_forward(ds, token, size, sort_key, reverse=True) == expected


@pytest.mark.parametrize("sort_key", ["ID", "CREATED_AT", "VENDOR"])
def test_backward_paging_with_last_and_before(big_store: Any, sort_key: str) -> None:
    ds, token, products = big_store
    expected = _expected(products, sort_key)
    for size in (7, 250):
        pages: list[list[str]] = []
        before = None
        while True:
            page = _page(ds, token, last=size, before=before, sortKey=sort_key)
            pages.insert(0, [e["node"]["id"] for e in page["edges"]])
            info = page["pageInfo"]
            assert info["hasNextPage"] is (before is not None)
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
        assert [i for p in pages for i in p] == expected


def test_cursor_stays_valid_when_its_product_is_deleted(big_store: Any) -> None:
    ds, token, products = big_store
    page = _page(ds, token, first=3, sortKey="CREATED_AT")
    third = page["edges"][2]
    expected = _expected(products, "CREATED_AT")
    nxt = _page(ds, token, first=2, after=third["cursor"], sortKey="CREATED_AT")
    assert [e["node"]["id"] for e in nxt["edges"]] == expected[3:5]
    # a cursor from one sort key is rejected by another instead of silently mis-paging
    response = ds.client.post(
        ds.graphql_url(SHOP),
        headers={"X-Shopify-Access-Token": token},
        json={"query": PAGE_QUERY, "variables": {"first": 2, "after": "bm90LWEtY3Vyc29y", "sortKey": "ID"}},
    )
    assert response.json()["errors"][0]["message"].startswith("Invalid cursor")
