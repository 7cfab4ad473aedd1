"""Tenant isolation: shop A's session token cannot read, change or cancel anything of shop B through any
session-token endpoint, and the shop always comes from the token, never from the query string."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.routing import Route

from devstore.testing import DevstoreServer
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.jobs import Job
from shop_app.models.shopify import Approval, Product, ProductImage
from tests.shopify.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningApp,
    finish_generation,
    install_shop,
    open_embedded,
    png,
    settle,
)

SHOP_A = "shop-a.myshopify.com"
SHOP_B = "shop-b.myshopify.com"


@pytest.fixture
def two_shops(devstore: DevstoreServer, running_app: RunningApp) -> RunningApp:
    for shop in (SHOP_A, SHOP_B):
        install_shop(devstore, running_app, shop)
        assert open_embedded(devstore, running_app, shop).status_code == 200
        devstore.create_product(shop, title=f"Only in {shop}", images=[png()])
    assert settle(devstore, running_app)
    # B's model is finished and approved, so every action on it would succeed if isolation failed.
    b = _ids(running_app, SHOP_B)
    finish_generation(running_app, b["image_id"])
    token_b = devstore.mint_session_token(SHOP_B, CLIENT_ID, CLIENT_SECRET)
    resp = running_app.client.post(
        f"/app/api/images/{b['image_id']}/approve", headers={"Authorization": f"Bearer {token_b}"}
    )
    assert resp.status_code == 200, resp.text
    return running_app


def _ids(app: RunningApp, shop: str) -> dict[str, int]:
    with session_scope(app.db) as session:
        shop_row = session.exec(select(Shop).where(Shop.domain == shop)).one()
        product = session.exec(select(Product).where(Product.shop_id == shop_row.id)).one()
        image = session.exec(select(ProductImage).where(ProductImage.shop_id == shop_row.id)).one()
        return {"product_id": product.id, "image_id": image.id}  # type: ignore[dict-item]


def _snapshot(app: RunningApp) -> list[tuple]:
    with session_scope(app.db) as session:
        jobs = [(j.id, j.status, j.shop_id, j.cancel_requested) for j in session.exec(select(Job)).all()]
        images = [(i.id, i.job_id, i.shop_id) for i in session.exec(select(ProductImage)).all()]
        approvals = [
            (a.id, a.status, a.publish_status, a.shop_id, a.product_image_id)
            for a in session.exec(select(Approval)).all()
        ]
        return sorted(jobs) + sorted(images) + sorted(approvals)


# Every session-token endpoint, called with the other shop's ids. A new endpoint must be added here.
CALLS = {
    "/app/api/backfill": ("GET", "/app/api/backfill"),
    "/app/api/products": ("GET", "/app/api/products"),
    "/app/api/products/{product_id:int}": ("GET", "/app/api/products/{product_id}"),
    "/app/api/images/{image_id:int}": ("GET", "/app/api/images/{image_id}"),
    "/app/api/images/{image_id:int}/generations": ("GET", "/app/api/images/{image_id}/generations"),
    "/app/api/images/{image_id:int}/regenerate": ("POST", "/app/api/images/{image_id}/regenerate"),
    "/app/api/images/{image_id:int}/cancel": ("POST", "/app/api/images/{image_id}/cancel"),
    "/app/api/images/{image_id:int}/approve": ("POST", "/app/api/images/{image_id}/approve"),
    "/app/api/images/{image_id:int}/reject": ("POST", "/app/api/images/{image_id}/reject"),
    "/app/api/images/{image_id:int}/approval": ("DELETE", "/app/api/images/{image_id}/approval"),
}


def test_every_session_endpoint_is_covered() -> None:
    from shop_app.routes import embedded_api

    guarded = {r.path for r in embedded_api.routes if isinstance(r, Route)}
    assert guarded == set(CALLS)
    for route in embedded_api.routes:
        assert getattr(route.endpoint, "session_token_required", False), route.path  # type: ignore[attr-defined]


def test_shop_a_cannot_touch_shop_b(devstore: DevstoreServer, two_shops: RunningApp) -> None:
    app = two_shops
    b = _ids(app, SHOP_B)
    token_a = devstore.mint_session_token(SHOP_A, CLIENT_ID, CLIENT_SECRET)
    auth = {"Authorization": f"Bearer {token_a}"}
    before = _snapshot(app)
    for method, template in CALLS.values():
        path = template.format(**b)
        resp = app.client.request(method, path, headers=auth, params={"shop": SHOP_B})
        if path == "/app/api/backfill":
            assert resp.status_code == 200 and resp.json() == {"backfill": None}  # A's own (none), never B's
        elif path == "/app/api/products":
            titles = [p["title"] for p in resp.json()["products"]]
            assert resp.json()["shop"] == SHOP_A and titles == [f"Only in {SHOP_A}"]
        else:
            assert resp.status_code == 404, (path, resp.text)
            assert SHOP_B not in resp.text and "Only in" not in resp.text
            # B's image does not exist for A: the 404 names what is missing, in A's terms
            noun = "generation for image" if path.endswith("/cancel") else "image"
            if "/images/" in path:
                assert f"no {noun} {b['image_id']} in this shop" in resp.text, (path, resp.text)
    assert _snapshot(app) == before  # nothing of B (or A) changed

    # Shop A's own ids work with the same token.
    a = _ids(app, SHOP_A)
    assert app.client.get(f"/app/api/products/{a['product_id']}", headers=auth).status_code == 200
    assert (
        app.client.post(f"/app/api/images/{a['image_id']}/cancel", headers=auth).json()["result"]
        == "canceled"
    )


def test_embedded_load_with_another_shops_token_is_refused(
    devstore: DevstoreServer, two_shops: RunningApp
) -> None:
    from devstore.oauth import host_param

    token_a = devstore.mint_session_token(SHOP_A, CLIENT_ID, CLIENT_SECRET)
    resp = two_shops.client.get(
        "/app", params={"embedded": "1", "shop": SHOP_B, "host": host_param(SHOP_B), "id_token": token_a}
    )
    assert resp.status_code == 401
    assert "Only in" not in resp.text


BAD_TOKENS = {
    "missing": lambda ds: None,
    "forged": lambda ds: ds.mint_session_token(SHOP_A, CLIENT_ID, "shpss_wrong-secret-0123456789abcdef0123"),
    "expired": lambda ds: ds.mint_session_token(SHOP_A, CLIENT_ID, CLIENT_SECRET, exp_in=-60),
    "wrong audience": lambda ds: ds.mint_session_token(SHOP_A, "another-app", CLIENT_SECRET),
    "iss/dest of two shops": lambda ds: ds.mint_session_token(
        SHOP_A, CLIENT_ID, CLIENT_SECRET, dest=f"https://{SHOP_B}"
    ),
    "evil.com shop": lambda ds: ds.mint_session_token(
        SHOP_A, CLIENT_ID, CLIENT_SECRET, iss="https://evil.com/admin", dest="https://evil.com"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_session_tokens_get_401_with_the_retry_header(
    case: str, devstore: DevstoreServer, two_shops: RunningApp
) -> None:
    token = BAD_TOKENS[case](devstore)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    before = _snapshot(two_shops)
    for method, template in CALLS.values():
        resp = two_shops.client.request(method, template.format(**_ids(two_shops, SHOP_A)), headers=headers)
        assert resp.status_code == 401, (case, template, resp.text)
        assert resp.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
        assert resp.json()["detail"]["code"] == "INVALID_SESSION_TOKEN"
    assert _snapshot(two_shops) == before


def test_uninstalled_shop_token_is_refused(devstore: DevstoreServer, two_shops: RunningApp) -> None:
    devstore.uninstall_app(SHOP_A, CLIENT_ID)
    assert settle(devstore, two_shops)
    token = devstore.mint_session_token(SHOP_A, CLIENT_ID, CLIENT_SECRET)
    resp = two_shops.client.get("/app/api/products", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401 and resp.json()["detail"]["code"] == "SHOP_NOT_INSTALLED"
