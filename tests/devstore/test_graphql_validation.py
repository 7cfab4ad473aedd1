"""Documents are validated against Shopify's real schema and rejected in Shopify's words."""

from __future__ import annotations

from devstore.testing import DevstoreServer

from .conftest import CLIENT_SECRET, SHOP, gql, png_bytes


def test_misspelled_field_is_rejected_exactly_as_shopify_does(ds: DevstoreServer, token: str) -> None:
    body = gql(ds, token, "query Scan {\n  products(first: 1) {\n    nodes { id titel }\n  }\n}")
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Field 'titel' doesn't exist on type 'Product'",
            "locations": [{"line": 3, "column": 16}],
            "path": ["query Scan", "products", "nodes", "titel"],
            "extensions": {"code": "undefinedField", "typeName": "Product", "fieldName": "titel"},
        }
    ]
    assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] > 0


def test_other_static_errors_use_graphql_ruby_codes(ds: DevstoreServer, token: str) -> None:
    cases = {
        '{ products(first: 1, colour: "red") { nodes { id } } }': (
            "Field 'products' doesn't accept argument 'colour'",
            "argumentNotAccepted",
        ),
        "{ product { id } }": (
            "Field 'product' is missing required arguments: id",
            "missingRequiredArguments",
        ),
        '{ product(id: "gid://shopify/Product/1") }': (
            "Field must have selections (field 'product' returns Product but has no selections. "
            "Did you mean 'product { ... }'?)",
            "selectionMismatch",
        ),
        '{ product(id: "gid://shopify/Product/1") { title { x } } }': (
            "Selections can't be made on scalars (field 'title' returns String but has selections [x])",
            "selectionMismatch",
        ),
        "query Q($id: ID!) { shop { name } }": (
            "Variable $id is declared by Q but not used",
            "variableNotUsed",
        ),
        "query Q { product(id: $id) { id } }": (
            "Variable $id is used by Q but not declared",
            "variableNotDefined",
        ),
        '{ products(first: "ten") { nodes { id } } }': (
            "Argument 'first' on Field 'products' has an invalid value (\"ten\"). Expected type 'Int'.",
            "argumentLiteralsIncompatible",
        ),
        "query Q($id: ID) { product(id: $id) { id } }": (
            "Nullability mismatch on variable $id and argument id (ID / ID!)",
            "variableMismatch",
        ),
    }
    for query, (message, code) in cases.items():
        errors = gql(ds, token, query)["errors"]
        assert [e["message"] for e in errors] == [message], query
        assert errors[0]["extensions"]["code"] == code


def test_syntax_error_and_bad_body(ds: DevstoreServer, token: str) -> None:
    errors = gql(ds, token, "{ shop { name }")["errors"]
    assert errors[0]["message"].startswith("Parse error")
    assert errors[0]["locations"] == [{"line": 1, "column": 16}]
    response = ds.client.post(
        ds.graphql_url(SHOP),
        content=b"not json",
        headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"query": "Required parameter missing or invalid"}}


def test_invalid_variables_are_reported_per_problem(ds: DevstoreServer, token: str) -> None:
    body = gql(ds, token, "query P($id: ID!) { product(id: $id) { id } }", {})
    assert body["errors"][0]["message"] == "Variable $id of type ID! was provided invalid value"
    assert body["errors"][0]["extensions"]["problems"] == [
        {"path": [], "explanation": "Expected value to not be null"}
    ]
    body = gql(ds, token, "query P($n: Int) { products(first: $n) { nodes { id } } }", {"n": "many"})
    assert body["errors"][0]["message"].startswith("Variable $n of type Int was provided invalid value")


def test_bad_or_missing_token_gets_401(ds: DevstoreServer, token: str) -> None:
    for headers in ({}, {"X-Shopify-Access-Token": "shpat_nope"}):
        response = ds.client.post(ds.graphql_url(SHOP), json={"query": "{ shop { name } }"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }
    # a token is bound to its shop
    ds.create_shop("other-shop.myshopify.com")
    response = ds.graphql("other-shop.myshopify.com", token, "{ shop { name } }")
    assert response.status_code == 401
    response = ds.graphql("missing-shop.myshopify.com", token, "{ shop { name } }")
    assert response.status_code == 404
    wrong_version = ds.client.post(
        ds.graphql_url(SHOP).replace("2026-10", "2025-01"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": token},
    )
    assert wrong_version.status_code == 404


def test_shop_query(ds: DevstoreServer, token: str) -> None:
    body = gql(
        ds,
        token,
        "{ shop { id name myshopifyDomain ianaTimezone currencyCode plan { displayName "
        "partnerDevelopment } } }",
    )
    shop = body["data"]["shop"]
    assert shop["myshopifyDomain"] == SHOP
    assert shop["ianaTimezone"] == "America/New_York"
    assert shop["name"] == "Acme"
    assert shop["id"].startswith("gid://shopify/Shop/")
    assert shop["plan"] == {"displayName": "Developer Preview", "partnerDevelopment": True}


def test_valid_but_unimplemented_field_errors_by_name(ds: DevstoreServer, token: str) -> None:
    product = ds.create_product(SHOP, title="Box")
    body = gql(
        ds,
        token,
        "query P($id: ID!) { product(id: $id) { title seo { title } } }",
        {"id": product["admin_graphql_api_id"]},
    )
    assert body["data"]["product"] is None or "seo" not in (body["data"]["product"] or {})
    [error] = body["errors"]
    assert error["path"] == ["product", "seo"]
    assert error["extensions"] == {
        "code": "DEVSTORE_NOT_IMPLEMENTED",
        "typeName": "Product",
        "fieldName": "seo",
    }
    assert "'seo'" in error["message"]


def test_deprecated_field_sets_deprecation_header(ds: DevstoreServer, token: str) -> None:
    ds.create_product(SHOP, title="Box", images=[png_bytes()])
    fresh = ds.graphql(SHOP, token, "{ products(first: 1) { nodes { featuredMedia { id } } } }")
    assert "x-shopify-api-deprecated-reason" not in fresh.headers
    old = ds.graphql(SHOP, token, "{ products(first: 1) { nodes { featuredImage { url } } } }")
    assert old.headers["x-shopify-api-deprecated-reason"] == (
        "https://shopify.dev/api/usage/versioning#deprecation-practices"
    )
    assert old.json()["data"]["products"]["nodes"][0]["featuredImage"]["url"].startswith(ds.base_url)


def test_scopes_are_enforced(ds: DevstoreServer) -> None:
    ds.install_app(
        SHOP,
        client_id="narrow-app",
        client_secret=CLIENT_SECRET,
        app_url="http://127.0.0.1:9",
        scopes=["read_files"],
        subscriptions=[],
    )
    narrow = ds.exchange_token(SHOP, "narrow-app", CLIENT_SECRET)["access_token"]
    body = gql(ds, narrow, "{ products(first: 1) { nodes { id } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert body["errors"][0]["message"].startswith("Access denied for products field.")
    body = gql(
        ds,
        narrow,
        'mutation { productUpdate(product: {id: "gid://shopify/Product/1"}) { userErrors { message } } }',
    )
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "write_products" in body["errors"][0]["extensions"]["requiredAccess"]
    # shop needs no scope
    assert gql(ds, narrow, "{ shop { name } }")["data"]["shop"]["name"] == "Acme"


def test_connections_require_first_or_last_and_cap_at_250(ds: DevstoreServer, token: str) -> None:
    errors = gql(ds, token, "{ products { nodes { id } } }")["errors"]
    assert errors[0]["message"] == "you must provide one of first or last"
    errors = gql(ds, token, "{ products(first: 251) { nodes { id } } }")["errors"]
    assert "250" in errors[0]["message"]


def test_nodes_and_node(ds: DevstoreServer, token: str) -> None:
    p = ds.create_product(
        SHOP,
        title="Can",
        images=[png_bytes()],
        variants=[{"price": "3.50", "sku": "CAN-1", "options": {"Size": "330ml"}}],
    )
    variant_gid = p["variants"][0]["admin_graphql_api_id"]
    media_gid = p["media"][0]["admin_graphql_api_id"]
    body = gql(
        ds,
        token,
        "query N($ids: [ID!]!) { nodes(ids: $ids) { id __typename ... on Product { title } "
        "... on ProductVariant { sku price product { title } } ... on MediaImage { image { width } } } }",
        {"ids": [p["admin_graphql_api_id"], variant_gid, media_gid, "gid://shopify/Product/1"]},
    )
    assert body["data"]["nodes"] == [
        {"id": p["admin_graphql_api_id"], "__typename": "Product", "title": "Can"},
        {
            "id": variant_gid,
            "__typename": "ProductVariant",
            "sku": "CAN-1",
            "price": "3.50",
            "product": {"title": "Can"},
        },
        {"id": media_gid, "__typename": "MediaImage", "image": {"width": 40}},
        None,
    ]
    errors = gql(ds, token, '{ product(id: "not-a-gid") { id } }')["errors"]
    assert errors[0]["message"] == "Invalid global id 'not-a-gid'"


def test_graphql_content_type_and_introspection(ds: DevstoreServer, token: str) -> None:
    response = ds.client.post(
        ds.graphql_url(SHOP),
        content=b"{ shop { name } }",
        headers={"X-Shopify-Access-Token": token, "Content-Type": "application/graphql"},
    )
    assert response.json()["data"] == {"shop": {"name": "Acme"}}
    body = gql(ds, token, '{ __type(name: "Model3d") { fields { name } } }')
    assert "sources" in [f["name"] for f in body["data"]["__type"]["fields"]]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0


def test_input_object_variable_errors_name_the_field(ds: DevstoreServer, token: str) -> None:
    query = "mutation U($p: ProductUpdateInput!) { productUpdate(product: $p) { userErrors { message } } }"
    body = gql(ds, token, query, {"p": {"id": "gid://shopify/Product/1", "status": "LIVE"}})
    [error] = body["errors"]
    assert error["message"].startswith(
        "Variable $p of type ProductUpdateInput! was provided invalid value for status"
    )
    assert error["extensions"]["problems"][0]["path"] == ["status"]
    body = gql(ds, token, query, {"p": {"titel": "x"}})
    assert body["errors"][0]["extensions"]["problems"] == [
        {"path": ["titel"], "explanation": "Field is not defined on ProductUpdateInput"}
    ]
