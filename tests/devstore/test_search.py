"""products(query:) filters: status and created_at/updated_at comparisons are exact at the boundaries."""

from __future__ import annotations

from devstore.testing import DevstoreServer

from .conftest import SHOP, gql

QUERY = """query Scan($q: String!, $sort: ProductSortKeys) {
  products(first: 250, query: $q, sortKey: $sort) { nodes { title } }
}"""


def titles(ds: DevstoreServer, token: str, q: str) -> list[str]:
    body = gql(ds, token, QUERY, {"q": q, "sort": "CREATED_AT"})
    assert "errors" not in body, body
    return [n["title"] for n in body["data"]["products"]["nodes"]]


def seed(ds: DevstoreServer) -> None:
    for title, status, created in [
        ("a-active", "ACTIVE", "2026-11-20T09:59:59Z"),
        ("b-active", "ACTIVE", "2026-11-20T10:00:00Z"),
        ("c-draft", "DRAFT", "2026-11-20T10:00:00Z"),
        ("d-active", "ACTIVE", "2026-11-20T10:00:01Z"),
        ("e-archived", "ARCHIVED", "2026-11-21T04:59:59Z"),  # 23:59:59 on the 20th in New York
        ("f-unlisted", "UNLISTED", "2026-11-21T05:00:00Z"),  # midnight on the 21st in New York
    ]:
        ds.create_product(SHOP, title=title, status=status, created_at=created, notify=False)


def test_status_filter(ds: DevstoreServer, token: str) -> None:
    seed(ds)
    assert titles(ds, token, "status:active") == ["a-active", "b-active", "d-active"]
    assert titles(ds, token, "status:draft,archived") == ["c-draft", "e-archived"]
    assert titles(ds, token, "status:unlisted") == ["f-unlisted"]
    # no status term: the schema's documented default, active
    assert titles(ds, token, "created_at:>'2000-01-01T00:00:00Z'") == ["a-active", "b-active", "d-active"]


def test_created_at_comparisons_are_exact_at_the_boundary(ds: DevstoreServer, token: str) -> None:
    seed(ds)
    t = "'2026-11-20T10:00:00Z'"
    everything = "status:active,draft,archived,unlisted"
    assert titles(ds, token, f"{everything} AND created_at:>{t}") == ["d-active", "e-archived", "f-unlisted"]
    assert titles(ds, token, f"{everything} AND created_at:>={t}") == [
        "b-active",
        "c-draft",
        "d-active",
        "e-archived",
        "f-unlisted",
    ]
    assert titles(ds, token, f"{everything} AND created_at:<{t}") == ["a-active"]
    assert titles(ds, token, f"{everything} AND created_at:<={t}") == ["a-active", "b-active", "c-draft"]
    assert titles(ds, token, f"{everything} AND created_at:{t}") == ["b-active", "c-draft"]
    # offsets are honoured: 05:00:00-05:00 is 10:00:00Z
    assert titles(ds, token, "status:active AND created_at:>'2026-11-20T05:00:00-05:00'") == ["d-active"]
    # both bounds, joined by AND
    assert titles(
        ds, token, f"status:active AND created_at:>={t} AND created_at:<'2026-11-20T10:00:01Z'"
    ) == ["b-active"]


def test_dates_without_offset_use_the_shop_timezone(ds: DevstoreServer, token: str) -> None:
    seed(ds)
    everything = "status:active,draft,archived,unlisted"
    # the 20th in America/New_York runs from 05:00Z on the 20th to 05:00Z on the 21st
    assert titles(ds, token, f"{everything} AND created_at:2026-11-20") == [
        "a-active",
        "b-active",
        "c-draft",
        "d-active",
        "e-archived",
    ]
    assert titles(ds, token, f"{everything} AND created_at:>=2026-11-21") == ["f-unlisted"]
    # a timestamp without offset is shop time too: 05:00:00 in New York is 10:00:00Z
    assert titles(ds, token, f"{everything} AND created_at:<'2026-11-20T05:00:00'") == ["a-active"]
    assert titles(ds, token, f"{everything} AND created_at:<='2026-11-20T05:00:00'") == [
        "a-active",
        "b-active",
        "c-draft",
    ]


def test_updated_at_filter_sees_updates(ds: DevstoreServer, token: str) -> None:
    seed(ds)
    product = ds.create_product(SHOP, title="g-new", created_at="2026-11-01T00:00:00Z", notify=False)
    assert product["updated_at"].startswith("2026-10-31T20:00:00")  # REST times are in shop time
    assert "g-new" not in titles(ds, token, "status:active AND updated_at:>'2026-11-10T00:00:00Z'")
    ds.update_product(SHOP, product["id"], title="g-renamed", notify=False)
    assert "g-renamed" in titles(ds, token, "status:active AND updated_at:>'2026-11-10T00:00:00Z'")


def test_other_filters_and_warnings(ds: DevstoreServer, token: str) -> None:
    ds.create_product(SHOP, title="Blue Mug", vendor="Acme", product_type="Mugs", tags=["kitchen", "blue"])
    ds.create_product(SHOP, title="Red Jar", vendor="Zeta", product_type="Jars", tags=["kitchen"])
    assert titles(ds, token, "vendor:Acme") == ["Blue Mug"]
    assert titles(ds, token, "tag:kitchen AND tag_not:blue") == ["Red Jar"]
    assert titles(ds, token, "product_type:Mugs,Jars") == ["Blue Mug", "Red Jar"]
    assert titles(ds, token, "jar") == ["Red Jar"]
    body = gql(ds, token, QUERY, {"q": "colour:red"})
    assert [n["title"] for n in body["data"]["products"]["nodes"]] == ["Blue Mug", "Red Jar"]
    assert body["extensions"]["search"][0]["warnings"] == [
        {"field": "colour", "message": "Invalid search field for this query."}
    ]
    body = gql(ds, token, QUERY, {"q": "sku:ABC"})
    assert body["data"] is None
    assert "'sku' is valid in Shopify but not implemented" in body["errors"][0]["message"]
    body = gql(ds, token, QUERY, {"q": "created_at:>'yesterday-ish'"})
    assert "invalid time value" in body["errors"][0]["message"]
    body = gql(ds, token, QUERY, {"q": "status:active OR status:draft"})
    assert "only AND" in body["errors"][0]["message"]
