"""End to end: a shop with 60 products created today (some sharing one photo across products and variants,
some photographed from several sides, some never announced by a webhook) → webhooks and the scan → a real
worker (fake engine) → each unique photo set generated exactly once → GET /api/nu3d pages through all of them
in seed 001's shape, served from the product-level cache on the second pass."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs
from shop_app.db import session_scope
from shop_app.models.jobs import TERMINAL, Generation, Job
from tests.jobs.conftest import WorkerProcs, settings_env
from tests.shopify.harness import RunningApp, install_shop, open_embedded, png, settle
from tests.shopify.test_product_feed import IMAGE_KEYS, PRODUCT_KEYS

pytestmark = pytest.mark.slow
SHOP = "sixty.myshopify.com"


def _wait_all_done(app: RunningApp, expected: int, timeout: float = 240.0) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(app.db) as session:
            found = list(session.exec(select(Job)).all())
        if len(found) >= expected and all(j.status in TERMINAL for j in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"jobs not finished: {[(j.id, j.status) for j in found]}")


def test_sixty_products_end_to_end(devstore: DevstoreServer, running_app: RunningApp, tmp_path) -> None:  # noqa: ANN001
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    shared = png((10, 200, 10))
    unique_sets = 0
    for n in range(40):  # one photo each, announced by products/create
        devstore.create_product(SHOP, title=f"Plain {n}", images=[png((n * 6 % 256, 40, 200))])
        unique_sets += 1
    for n in range(8):  # the same photo on several products, and on both variants of each
        devstore.create_product(
            SHOP,
            title=f"Shared {n}",
            variants=[{"options": {"Size": "S"}}, {"options": {"Size": "L"}}],
            images=[{"data": shared, "alt": "Green cup", "variants": [0, 1]}],
        )
    unique_sets += 1
    for n in range(6):  # front/left/back views: one multi-view model per product
        views = [
            {"data": png((200, n * 30, k * 60)), "alt": f"Vase {n}, {side}"}
            for k, side in enumerate(("front", "left", "back"))
        ]
        devstore.create_product(SHOP, title=f"Views {n}", images=views)
        unique_sets += 1
    store = devstore.store
    shop = store.get_shop(SHOP)
    for n in range(6):  # products no webhook announced: the scan finds them
        product = store.create_product(shop, title=f"Silent {n}", emit=False)
        store.add_image(shop, png((n * 40, 0, 90)), product=product)
        unique_sets += 1
    assert settle(devstore, running_app, timeout=30)  # answered, and processed by the inbox
    jobs.scan_products(running_app.settings, running_app.db)

    host = devstore.admin_base.split("://", 1)[1]
    workers = WorkerProcs(settings_env(running_app.settings, NU3D_FETCH_ALLOW_HOSTS=host), tmp_path)
    try:
        workers.start(fake_stage_s=0.01)
        done = _wait_all_done(running_app, expected=60)
    finally:
        workers.stop_all()
    assert len(done) == 60, "one generation request per product photo set (8 shared ones included)"
    with session_scope(running_app.db) as session:
        generations = session.exec(select(Generation)).all()
    assert len(generations) == unique_sets, "each unique photo set is generated exactly once"
    assert sum(1 for j in done if j.cached) == 7, "the 7 other products with the shared photo reuse its model"

    def page_through() -> list[dict]:
        products, after = [], None
        while True:
            params = {"shop": SHOP} | ({"after": after} if after else {})
            data = running_app.client.get("/api/nu3d", params=params).json()["data"]
            assert len(data["products"]) <= 5 and data["total"] == 60
            products += data["products"]
            if not data["pageInfo"]["hasNextPage"]:
                return products
            after = data["pageInfo"]["endCursor"]

    first = page_through()
    assert len(first) == 60 and len({p["id"] for p in first}) == 60
    for product in first:
        assert set(product) == PRODUCT_KEYS
        for variant in product["variants"]["nodes"]:
            for image in variant["images"]:
                assert set(image) == IMAGE_KEYS
                assert image["status"] == "completed" and image["model_glb_url"] and not image["cached"]
    views = next(p for p in first if p["title"] == "Views 0")["variants"]["nodes"][0]["images"]
    assert len(views) == 3 and len({i["job_id"] for i in views}) == 1, "one model for the three views"
    second = page_through()
    assert all(i["cached"] for p in second for v in p["variants"]["nodes"] for i in v["images"])
