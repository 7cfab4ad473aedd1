"""The merchant's review through the embedded endpoints: regenerate makes a NEW model (new seed, not the stored
result) while the published one stays until the new one is approved; the history lists both; approving a
chosen generation replaces the model on Shopify; a publish the devstore fails is shown and a retry works."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs
from shop_app.db import session_scope
from shop_app.models.jobs import QUEUED, Job
from shop_app.models.shopify import Approval, ProductImage
from shop_app.shopify.publish import MAX_PUBLISH_ATTEMPTS
from tests.shopify.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningApp,
    install_shop,
    open_embedded,
    png,
    settle,
)
from tests.shopify.test_product_feed import finish

SHOP = "review.myshopify.com"


@pytest.fixture
def product(devstore: DevstoreServer, running_app: RunningApp) -> dict:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    created = devstore.create_product(SHOP, title="Ceramic Mug", images=[png()])
    assert settle(devstore, running_app)  # answered, and processed by the inbox
    return created


def _image_id(app: RunningApp) -> int:
    with session_scope(app.db) as session:
        return session.exec(select(ProductImage)).one().id  # type: ignore[return-value]


def _call(devstore: DevstoreServer, app: RunningApp, method: str, path: str, **kw: Any) -> httpx.Response:
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    return app.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)


def _approval(app: RunningApp) -> Approval:
    with session_scope(app.db) as session:
        approval = session.exec(select(Approval)).first()
        assert approval is not None
        return approval


def _publish_until(app: RunningApp, status: str, timeout: float = 10.0) -> Approval:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs.publish_models(app.settings, app.db)
        approval = _approval(app)
        if approval.publish_status == status:
            return approval
        time.sleep(0.05)
    raise AssertionError(f"approval never reached {status}: {_approval(app)}")


def _models_on_shopify(devstore: DevstoreServer, product_id: int) -> list[str]:
    media = devstore.get_product(SHOP, product_id).get("media", [])
    return [m["admin_graphql_api_id"] for m in media if m["media_content_type"] == "MODEL_3D"]


def test_regenerate_makes_a_new_model_and_the_old_one_stays_until_approved(
    devstore: DevstoreServer, running_app: RunningApp, product: dict
) -> None:
    image_id = _image_id(running_app)
    first_job = finish(running_app, image_id)
    assert _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve").status_code == 200
    old_media = _publish_until(running_app, "published").media_gid

    resp = _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/regenerate")
    assert resp.status_code == 202, resp.text
    new_job_id = resp.json()["generation"]["job_id"]
    assert new_job_id != first_job
    with session_scope(running_app.db) as session:
        new_job = session.get(Job, new_job_id)
        assert new_job is not None and new_job.status == QUEUED, "a new run, not the stored result"
        assert new_job.params.get("seed"), "the variation is recorded in the params"
        assert not new_job.cached

    # Until the new model is approved, the old one stays published and is still served.
    jobs.publish_models(running_app.settings, running_app.db)
    assert _models_on_shopify(devstore, product["id"]) == [old_media]
    feed = running_app.client.get("/api/nu3d", params={"shop": SHOP}).json()
    shown = feed["data"]["products"][0]["variants"]["nodes"][0]["images"][0]
    assert shown["status"] == "processing" and shown["model_glb_url"], "the previous model is still shown"
    assert shown["approvalStatus"] == "approved" and shown["approvedModel3dUrl"]

    finish(running_app, image_id)
    history = _call(devstore, running_app, "GET", f"/app/api/images/{image_id}/generations").json()
    listed = history["generations"]
    assert [g["job_id"] for g in listed] == [new_job_id, first_job], "newest first"
    assert [g["approved"] for g in listed] == [False, True]
    assert [g["current"] for g in listed] == [True, False]
    assert listed[0]["model_glb_url"] != listed[1]["model_glb_url"]
    assert httpx.get(listed[0]["model_glb_url"]).content != httpx.get(listed[1]["model_glb_url"]).content
    for g in listed:
        assert set(g) >= {
            "job_id", "status", "created_at", "finished_at", "preview_url", "model_glb_url",
            "gaussian_splat_url", "faces", "approved", "current",
        }  # fmt: skip

    # Approving the new one replaces the model on the product: old media detached, new media attached.
    approved = _call(
        devstore, running_app, "POST", f"/app/api/images/{image_id}/approve", json={"job_id": new_job_id}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["image"]["approval"]["job_id"] == new_job_id
    new_media = _publish_until(running_app, "published").media_gid
    assert new_media != old_media
    assert _models_on_shopify(devstore, product["id"]) == [new_media]

    # Going back to the first generation is a choice too.
    back = _call(
        devstore, running_app, "POST", f"/app/api/images/{image_id}/approve", json={"job_id": first_job}
    )
    assert back.status_code == 200
    assert _publish_until(running_app, "published").job_id == first_job


def test_approve_body_errors(devstore: DevstoreServer, running_app: RunningApp, product: dict) -> None:
    image_id = _image_id(running_app)
    finish(running_app, image_id)
    bad_json = _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve", content=b"{nope")
    assert bad_json.status_code == 400
    unknown = _call(
        devstore, running_app, "POST", f"/app/api/images/{image_id}/approve", json={"job_id": "job_x"}
    )
    assert unknown.status_code == 404 and "job_x" in unknown.json()["detail"]["message"]
    wrong_type = _call(
        devstore, running_app, "POST", f"/app/api/images/{image_id}/approve", json={"job_id": 5}
    )
    assert wrong_type.status_code == 400


def test_a_failed_publish_is_shown_and_a_retry_publishes(
    devstore: DevstoreServer, running_app: RunningApp, product: dict
) -> None:
    image_id = _image_id(running_app)
    finish(running_app, image_id)
    devstore.inject_fault("staged_upload", count=MAX_PUBLISH_ATTEMPTS)
    assert _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve").status_code == 200
    failed = _publish_until(running_app, "failed")
    assert "503" in (failed.publish_error or "")
    shown = _call(devstore, running_app, "GET", f"/app/api/images/{image_id}").json()
    assert shown["approval"]["publish_status"] == "failed" and "503" in shown["approval"]["error"]
    assert _models_on_shopify(devstore, product["id"]) == []

    retry = _call(devstore, running_app, "POST", f"/app/api/images/{image_id}/approve")
    assert retry.status_code == 200 and retry.json()["image"]["approval"]["publish_status"] == "pending"
    published = _publish_until(running_app, "published")
    assert _models_on_shopify(devstore, product["id"]) == [published.media_gid]
