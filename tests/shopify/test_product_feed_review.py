"""Approval endpoints for API clients under /api/nu3d: the same rules as the embedded UI, the shop's API key,
and seed 001's envelope for every answer."""

from __future__ import annotations

import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from shop_app.apikeys import create_api_key
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.shopify import Approval, ProductImage
from tests.shopify.harness import RunningApp, install_shop, open_embedded, png, settle
from tests.shopify.test_product_feed import finish

SHOP = "client.myshopify.com"


@pytest.fixture
def setup(devstore: DevstoreServer, running_app: RunningApp) -> tuple[int, str, str]:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    devstore.create_product(SHOP, title="Desk Lamp", images=[png()])
    assert settle(devstore, running_app)  # answered, and processed by the inbox
    with session_scope(running_app.db) as session:
        shop = session.exec(select(Shop).where(Shop.domain == SHOP)).one()
        image_id = session.exec(select(ProductImage)).one().id
        _, own = create_api_key(session=session, name="client", scopes=["jobs"], shop_id=shop.id)
        other_shop = Shop(domain="someone-else.myshopify.com")
        session.add(other_shop)
        session.flush()
        _, foreign = create_api_key(session=session, name="foreign", scopes=["jobs"], shop_id=other_shop.id)
    return image_id, own, foreign  # type: ignore[return-value]


def test_api_client_reviews_with_the_shops_key(running_app: RunningApp, setup: tuple[int, str, str]) -> None:
    image_id, own, foreign = setup
    url = f"/api/nu3d/images/{image_id}"
    client = running_app.client
    anonymous = client.post(f"{url}/approve", params={"shop": "client"})
    assert anonymous.status_code == 401
    assert anonymous.json()["success"] is False and anonymous.json()["error"] == "Unauthorized"
    wrong_shop = client.post(f"{url}/approve", params={"shop": "client"}, headers={"X-API-Key": foreign})
    assert wrong_shop.status_code == 403 and wrong_shop.json()["error"] == "Forbidden"

    key = {"X-API-Key": own}
    not_ready = client.post(f"{url}/approve", params={"shop": "client"}, headers=key)
    assert not_ready.status_code == 409 and not_ready.json()["error"] == "Conflict"
    first = finish(running_app, image_id)
    approved = client.post(f"{url}/approve", params={"shop": "client"}, headers=key)
    assert approved.status_code == 200, approved.text
    assert (
        approved.json()["success"] is True and approved.json()["data"]["image"]["approval"]["job_id"] == first
    )

    regen = client.post(f"{url}/regenerate", params={"shop": "client"}, headers=key)
    assert regen.status_code == 202 and regen.json()["data"]["job_id"] != first
    listed = client.get(f"{url}/generations", params={"shop": "client"}).json()["data"]["generations"]
    assert [g["job_id"] for g in listed] == [regen.json()["data"]["job_id"], first]
    assert listed[1]["approved"] is True and listed[0]["current"] is True

    withdrawn = client.delete(f"{url}/approval", params={"shop": "client"}, headers=key)
    assert withdrawn.status_code == 200 and withdrawn.json()["data"]["result"] == "withdrawn"
    with session_scope(running_app.db) as session:
        assert session.exec(select(Approval)).first() is None

    missing = client.post("/api/nu3d/images/999999/reject", params={"shop": "client"}, headers=key)
    assert missing.status_code == 404 and missing.json() == {
        "success": False,
        "error": "Not Found",
        "message": "No image 999999 in this shop",
    }
    bad_body = client.post(f"{url}/approve", params={"shop": "client"}, headers=key, content=b"[")
    assert bad_body.status_code == 400 and bad_body.json()["error"] == "Validation Error"
