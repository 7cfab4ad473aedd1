"""Approve → publish as MODEL_3D media on the devstore product; reject/withdraw → taken off the product."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs
from shop_app.db import session_scope
from shop_app.models.shopify import Approval, ProductImage
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

SHOP = "acme.myshopify.com"


@pytest.fixture
def product(devstore: DevstoreServer, running_app: RunningApp) -> dict:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    created = devstore.create_product(SHOP, title="Ceramic Mug", images=[png()])
    assert settle(devstore, running_app)
    return created


def _image_id(app: RunningApp) -> int:
    with session_scope(app.db) as session:
        return session.exec(select(ProductImage)).one().id  # type: ignore[return-value]


def _call(devstore: DevstoreServer, app: RunningApp, method: str, path: str):  # noqa: ANN202
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    return app.client.request(method, path, headers={"Authorization": f"Bearer {token}"})


def _model_media(devstore: DevstoreServer, product_id: int) -> list[dict]:
    return [
        m
        for m in devstore.get_product(SHOP, product_id).get("media", [])
        if m["media_content_type"] == "MODEL_3D"
    ]


def _approval(app: RunningApp) -> Approval | None:
    with session_scope(app.db) as session:
        return session.exec(select(Approval)).first()


def _publish_until(app: RunningApp, status: str, timeout: float = 5.0) -> Approval:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs.publish_models(app.settings, app.db)
        approval = _approval(app)
        if approval is not None and approval.publish_status == status:
            return approval
        time.sleep(0.1)
    raise AssertionError(f"approval never reached {status}: {_approval(app)}")


def test_approved_model_is_published_to_the_product(
    devstore: DevstoreServer, running_app: RunningApp, product: dict
) -> None:
    image_id = _image_id(running_app)
    not_ready = _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve")
    assert not_ready.status_code == 409 and _approval(running_app) is None

    finish_generation(running_app, image_id)
    resp = _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve")
    assert resp.status_code == 200, resp.text
    assert resp.json()["image"]["approval"]["publish_status"] == "pending"

    approval = _publish_until(running_app, "published")
    assert approval.media_gid and approval.media_gid.startswith("gid://shopify/Model3d/")
    assert approval.model_url and "/cdn/" in approval.model_url
    media = _model_media(devstore, product["id"])
    assert [m["admin_graphql_api_id"] for m in media] == [approval.media_gid]
    shown = _call(devstore, running_app, "GET", f"/app/api/images/{image_id}").json()
    assert shown["approval"]["status"] == "approved" and shown["approval"]["publish_status"] == "published"

    # Rejecting it afterwards takes it off the product.
    assert _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/reject").status_code == 200
    jobs.publish_models(running_app.settings, running_app.db)
    after = _approval(running_app)
    assert after is not None and after.status == "rejected" and after.publish_status is None
    assert _model_media(devstore, product["id"]) == []


def test_an_invalid_model_fails_with_shopifys_reason(
    devstore: DevstoreServer, running_app: RunningApp, product: dict
) -> None:
    image_id = _image_id(running_app)
    finish_generation(running_app, image_id, glb=b"glTF" + b"\x00" * 60)
    assert _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve").status_code == 200
    approval = _publish_until(running_app, "failed")
    assert "MODEL3D_VALIDATION_ERROR" in (approval.publish_error or "")


def test_withdrawing_an_unpublished_approval_forgets_it(
    devstore: DevstoreServer, running_app: RunningApp, product: dict
) -> None:
    image_id = _image_id(running_app)
    finish_generation(running_app, image_id)
    assert _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve").status_code == 200
    resp = _call(devstore, running_app, "DELETE", f"/app/api/images/{image_id}/approval")
    assert resp.status_code == 200 and resp.json()["result"] == "withdrawn"
    assert _approval(running_app) is None
    assert _call(devstore, running_app, "DELETE", f"/app/api/images/{image_id}/approval").status_code == 404
    jobs.publish_models(running_app.settings, running_app.db)
    assert _model_media(devstore, product["id"]) == []
