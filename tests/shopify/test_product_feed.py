"""GET /api/nu3d over real HTTP: seed 001's exact shape from stored state, paging, the product-level cache and
its invalidation, the documented error bodies, and access in production."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import select

from devstore.testing import DevstoreServer
from shop_app.apikeys import create_api_key
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.product_models import ProductModelCache
from shop_app.models.shopify import ProductImage
from shop_app.storage import make_storage
from tests.shopify.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningApp,
    install_shop,
    open_embedded,
    png,
)

SHOP = "feed-shop.myshopify.com"
IMAGE_KEYS = {
    "id", "originalImageUrl", "altText", "width", "height", "image_id", "status", "job_id",
    "gaussian_splat_url", "model_glb_url", "original_url", "metadata", "message", "model3dUrl",
    "model3dStatus", "model3dImageId", "cached", "approvalStatus", "approvedModel3dUrl", "processedAt",
}  # fmt: skip
PRODUCT_KEYS = {
    "id", "title", "handle", "description", "vendor", "productType", "status", "tags", "createdAt",
    "updatedAt", "variants",
}  # fmt: skip
META = {
    "scale": [[2.0, 2.0, 2.0]],
    "rotation": [[1.0, 0.0, 0.0, 0.0]],
    "translation": [[0.0, 0.1, 2.9]],
    "camera_pose": None,
    "object_index": 0,
    "engine": "test",
}


def _install(devstore: DevstoreServer, app: RunningApp) -> None:
    install_shop(devstore, app, SHOP)
    assert open_embedded(devstore, app, SHOP).status_code == 200


def _images(app: RunningApp) -> list[ProductImage]:
    with session_scope(app.db) as session:
        return list(session.exec(select(ProductImage).order_by(ProductImage.id)).all())


def _wait_images(app: RunningApp, count: int, timeout: float = 15.0) -> list[ProductImage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        images = [i for i in _images(app) if i.job_id]
        if len(images) >= count:
            return images
        time.sleep(0.05)
    raise AssertionError(f"{count} queued images expected, got {len(_images(app))}")


def distinct_glb(label: str) -> bytes:
    """A small valid GLB whose shape depends on `label` (two generations give two different models)."""
    import hashlib

    import trimesh

    height = 1.0 + hashlib.sha256(label.encode()).digest()[0] / 255.0
    return bytes(trimesh.creation.box(extents=(1.0, height, 1.0)).export(file_type="glb"))


def finish(app: RunningApp, image_id: int, *, fail: bool = False) -> str:
    """Complete the image's generation as a worker does: GLB + splat + input photo stored, job finished."""
    storage = make_storage(app.settings)
    with session_scope(app.db) as session:
        image = session.get(ProductImage, image_id)
        assert image is not None and image.job_id
        job = session.get(Job, image.job_id)
        assert job is not None
        if fail:
            job.status, job.error_message, job.finished_at = (
                "failed",
                "the photo shows no object",
                datetime.now(UTC),
            )
            session.add(job)
            return job.id
        generation = Generation(
            input_hash=f"test-{job.id}",
            glb_key=storage.put(distinct_glb(job.id), suffix=".glb", content_type="model/gltf-binary"),
            splat_key=storage.put(
                b"ply\n" + job.id.encode(), suffix=".ply", content_type="application/octet-stream"
            ),
            image_keys=[storage.put(png(), suffix=".png", content_type="image/png")],
            meta=META,
        )
        session.add(generation)
        session.flush()
        job.status, job.generation_id, job.progress = SUCCEEDED, generation.id, 100
        job.finished_at = datetime.now(UTC)
        session.add(job)
        return job.id


def feed(app: RunningApp, **params: Any) -> httpx.Response:
    return app.client.get("/api/nu3d", params={"shop": "feed-shop", **params})


def test_todays_products_in_the_seed_shape_then_served_from_the_cache(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _install(devstore, running_app)
    product = devstore.create_product(
        SHOP,
        title="Canvas Tote",
        body_html="<p>A sturdy <b>tote</b> bag.</p>",
        vendor="Acme",
        product_type="Bags",
        tags=["eco", "canvas"],
        variants=[
            {"options": {"Color": "Red"}, "price": "19.5", "sku": "TOTE-R", "inventory_quantity": 3},
            {"options": {"Color": "Blue"}, "price": "21", "sku": "TOTE-B"},
        ],
        images=[
            {"data": png((200, 0, 0)), "alt": "Red tote", "variants": [0]},
            {"data": png((0, 0, 200)), "alt": "Blue tote"},
        ],
    )
    devstore.create_product(SHOP, title="Old Mug", created_at="2020-01-01T00:00:00Z", images=[png()])
    images = _wait_images(running_app, 2)

    first = feed(running_app)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["success"] is True and body["message"] == "Nu3d products retrieved and processed successfully"
    data = body["data"]
    assert set(data) == {"products", "total", "pageInfo", "filters"}
    assert data["total"] == 1, "only today's products (the 2020 product is not offered)"
    assert data["filters"]["status"] == "ACTIVE" and data["filters"]["limit"] == 5
    assert data["filters"]["createdToday"].endswith("T00:00:00.000Z")
    assert data["pageInfo"]["hasNextPage"] is False and data["pageInfo"]["endCursor"]
    (item,) = data["products"]
    assert set(item) == PRODUCT_KEYS
    assert item["id"] == product["admin_graphql_api_id"] and item["title"] == "Canvas Tote"
    assert item["description"] == "A sturdy tote bag." and sorted(item["tags"]) == ["canvas", "eco"]
    assert item["vendor"] == "Acme" and item["productType"] == "Bags" and item["status"] == "ACTIVE"
    red, blue = item["variants"]["nodes"]
    assert (red["title"], red["sku"], red["price"], red["availableForSale"]) == (
        "Red",
        "TOTE-R",
        "19.50",
        True,
    )
    assert blue["availableForSale"] is False
    assert [i["altText"] for i in red["images"]] == ["Red tote"], "a variant with its own photo shows it"
    assert len(blue["images"]) == 2, "a variant without a photo shows the product's photos"
    for image in red["images"] + blue["images"]:
        assert set(image) == IMAGE_KEYS
        assert image["status"] == image["model3dStatus"] == "processing"
        assert image["model_glb_url"] is None and image["cached"] is False
        assert image["approvalStatus"] == "pending" and image["job_id"]

    for image in images:
        finish(running_app, image.id)  # type: ignore[arg-type]
    done = feed(running_app).json()["data"]["products"][0]
    red_image = done["variants"]["nodes"][0]["images"][0]
    assert red_image["status"] == "completed" and red_image["cached"] is False
    assert red_image["message"] == "3D generation completed successfully"
    assert red_image["model3dUrl"] == red_image["model_glb_url"]
    assert red_image["model3dImageId"] == red_image["image_id"]
    assert red_image["metadata"] == [{k: v for k, v in META.items() if k != "engine"}]
    assert red_image["processedAt"].endswith("Z")
    glb = httpx.get(red_image["model_glb_url"])
    assert glb.status_code == 200 and glb.content.startswith(b"glTF")
    assert httpx.get(red_image["gaussian_splat_url"]).content.startswith(b"ply")
    assert httpx.get(red_image["original_url"]).status_code == 200

    again = feed(running_app).json()["data"]["products"][0]
    cached = again["variants"]["nodes"][0]["images"][0]
    assert cached["cached"] is True
    assert {k: v for k, v in cached.items() if k not in ("cached",) and not k.endswith(("url", "Url"))} == {
        k: v for k, v in red_image.items() if k not in ("cached",) and not k.endswith(("url", "Url"))
    }
    assert httpx.get(cached["model_glb_url"]).content == glb.content, "cached answers carry fresh signed URLs"


def test_pages_of_five_with_an_opaque_cursor(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _install(devstore, running_app)
    for n in range(7):
        devstore.create_product(SHOP, title=f"Item {n}", images=[png((n * 30, 0, 0))])
    _wait_images(running_app, 7)
    page1 = feed(running_app).json()["data"]
    assert page1["total"] == 7 and len(page1["products"]) == 5 and page1["pageInfo"]["hasNextPage"] is True
    page2 = feed(running_app, after=page1["pageInfo"]["endCursor"]).json()["data"]
    assert len(page2["products"]) == 2 and page2["pageInfo"]["hasNextPage"] is False
    titles = [p["title"] for p in page1["products"] + page2["products"]]
    assert sorted(titles) == [f"Item {n}" for n in range(7)]

    bad = feed(running_app, after="not-a-cursor")
    assert bad.status_code == 400
    assert bad.json()["error"] == "Validation Error" and bad.json()["success"] is False


def test_documented_error_bodies(devstore: DevstoreServer, running_app: RunningApp) -> None:
    missing = running_app.client.get("/api/nu3d")
    assert missing.status_code == 400
    assert missing.json() == {
        "success": False,
        "error": "Validation Error",
        "message": "Missing required query parameter: shop",
    }
    for shop in ("evil.com", "a b", "x.myshopify.com.evil.com"):
        invalid = running_app.client.get("/api/nu3d", params={"shop": shop})
        assert invalid.status_code == 400
        assert invalid.json() == {
            "success": False,
            "error": "Validation Error",
            "message": "Invalid shop domain",
        }
    unknown = running_app.client.get("/api/nu3d", params={"shop": "nobody"})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "success": False,
        "error": "Not Found",
        "message": "Store not found or app not installed",
    }
    too_long = running_app.client.get("/api/nu3d", params={"shop": "nobody", "wait": "31"})
    assert too_long.status_code == 400 and "wait" in too_long.json()["message"]


def test_uninstalled_shop_is_not_found(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _install(devstore, running_app)
    assert feed(running_app).status_code == 200
    devstore.uninstall_app(SHOP, CLIENT_ID)
    deadline = time.monotonic() + 10
    while feed(running_app).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed(running_app).json()["message"] == "Store not found or app not installed"


def test_cache_is_dropped_on_approve_and_on_delete(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _install(devstore, running_app)
    product = devstore.create_product(SHOP, title="Lamp", images=[png()])
    (image,) = _wait_images(running_app, 1)
    finish(running_app, image.id)  # type: ignore[arg-type]
    feed(running_app)
    assert _cache_rows(running_app) == 1
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    approved = running_app.client.post(
        f"/app/api/images/{image.id}/approve", headers={"Authorization": f"Bearer {token}"}
    )
    assert approved.status_code == 200, approved.text
    assert _cache_rows(running_app) == 0
    shown = feed(running_app).json()["data"]["products"][0]["variants"]["nodes"][0]["images"][0]
    assert shown["approvalStatus"] == "approved" and shown["cached"] is False
    assert shown["approvedModel3dUrl"], "the approved model's URL until Shopify has published it"
    assert _cache_rows(running_app) == 1

    devstore.delete_product(SHOP, product["id"])
    deadline = time.monotonic() + 10
    while _cache_rows(running_app) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _cache_rows(running_app) == 0
    assert feed(running_app).json()["data"]["products"] == []


def test_failed_and_mixed_images_are_cached_once_all_finished(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _install(devstore, running_app)
    devstore.create_product(SHOP, title="Chair", images=[png((1, 2, 3)), png((9, 9, 9))])
    one, two = _wait_images(running_app, 2)
    finish(running_app, one.id, fail=True)  # type: ignore[arg-type]
    assert feed(running_app).status_code == 200
    assert _cache_rows(running_app) == 0, "not cached while an image is still generating"
    finish(running_app, two.id)  # type: ignore[arg-type]
    images = feed(running_app).json()["data"]["products"][0]["variants"]["nodes"][0]["images"]
    assert sorted(i["status"] for i in images) == ["completed", "failed"]
    failed = next(i for i in images if i["status"] == "failed")
    assert failed["message"] == "the photo shows no object" and failed["model_glb_url"] is None
    assert _cache_rows(running_app) == 1


def test_all_failed_product_is_never_cached(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _install(devstore, running_app)
    devstore.create_product(SHOP, title="Ghost", images=[png()])
    (image,) = _wait_images(running_app, 1)
    finish(running_app, image.id, fail=True)  # type: ignore[arg-type]
    feed(running_app)
    assert _cache_rows(running_app) == 0


def test_wait_long_polls_until_the_model_is_ready(devstore: DevstoreServer, running_app: RunningApp) -> None:
    import threading

    _install(devstore, running_app)
    devstore.create_product(SHOP, title="Vase", images=[png()])
    (image,) = _wait_images(running_app, 1)
    answered: dict[str, Any] = {}

    def call() -> None:
        answered["response"] = feed(running_app, wait="20")

    thread = threading.Thread(target=call)
    thread.start()
    finish(running_app, image.id)  # type: ignore[arg-type]
    thread.join(timeout=30)
    shown = answered["response"].json()["data"]["products"][0]["variants"]["nodes"][0]["images"][0]
    assert shown["status"] == "completed"


def test_production_needs_an_api_key_unless_opened(devstore: DevstoreServer, app_factory: Any) -> None:
    app = app_factory(NU3D_ENV="production")
    _install(devstore, app)
    refused = app.client.get("/api/nu3d", params={"shop": "feed-shop"})
    assert refused.status_code == 401 and refused.json()["success"] is False
    wrong = app.client.get("/api/nu3d", params={"shop": "feed-shop"}, headers={"X-API-Key": "nu3d_nope"})
    assert wrong.status_code == 401
    with session_scope(app.db) as session:
        _, key = create_api_key(session=session, name="storefront", scopes=["jobs"])
        other_shop = Shop(domain="other-shop.myshopify.com")
        session.add(other_shop)
        session.flush()
        _, other = create_api_key(session=session, name="other", scopes=["jobs"], shop_id=other_shop.id)
    ok = app.client.get("/api/nu3d", params={"shop": "feed-shop"}, headers={"X-API-Key": key})
    assert ok.status_code == 200 and ok.json()["success"] is True
    foreign = app.client.get(
        "/api/nu3d", params={"shop": "feed-shop"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert foreign.status_code == 403

    opened = app_factory(NU3D_ENV="production", NU3D_PRODUCT_FEED_PUBLIC="true")
    assert opened.client.get("/api/nu3d", params={"shop": "feed-shop"}).status_code == 200


def _cache_rows(app: RunningApp) -> int:
    with session_scope(app.db) as session:
        return len(session.exec(select(ProductModelCache)).all())


def test_product_deleted_while_generating(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _install(devstore, running_app)
    keep = devstore.create_product(SHOP, title="Keeper", images=[png((5, 5, 5))])
    gone = devstore.create_product(SHOP, title="Doomed", images=[png((250, 5, 5))])
    images = _wait_images(running_app, 2)
    with session_scope(running_app.db) as session:  # a worker has claimed the doomed product's generation
        doomed = next(i for i in images if i.gid == gone["images"][0]["admin_graphql_api_id"])
        job = session.get(Job, doomed.job_id)
        assert job is not None
        job.status, job.lease_owner, job.started_at = "running", "worker-1", datetime.now(UTC)
        session.add(job)
    finish(running_app, next(i for i in images if i.id != doomed.id).id)  # type: ignore[arg-type]
    assert [p["title"] for p in feed(running_app).json()["data"]["products"]] == ["Keeper", "Doomed"]

    devstore.delete_product(SHOP, gone["id"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with session_scope(running_app.db) as session:
            job = session.get(Job, doomed.job_id)
            if job is not None and job.cancel_requested:
                break
        time.sleep(0.05)
    assert job is not None and job.cancel_requested, "the running generation is asked to stop"
    assert [p["title"] for p in feed(running_app).json()["data"]["products"]] == ["Keeper"]
    with session_scope(running_app.db) as session:
        rows = session.exec(select(ProductModelCache)).all()
        assert [r.payload["title"] for r in rows] == ["Keeper"], "only the kept product is cached"
    del keep
