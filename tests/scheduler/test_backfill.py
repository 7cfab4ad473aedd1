"""Backfills against the devstore: older active products (or one collection's) get their photos queued once;
bad requests get 400/404; throttling mid-way is absorbed; an uninstall mid-way stops the backfill cleanly."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import backfill as runner
from scheduler import jobs
from shop_app.db import session_scope
from shop_app.models.jobs import Job
from shop_app.models.product_models import Backfill
from shop_app.shopify.services import make_shopify_services
from tests.shopify.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningApp,
    install_shop,
    open_embedded,
    png,
    settle,
)

SHOP = "old-catalogue.myshopify.com"
LAST_YEAR = datetime.now(UTC) - timedelta(days=400)


@pytest.fixture
def installed(devstore: DevstoreServer, running_app: RunningApp) -> RunningApp:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return running_app


def _old_product(devstore: DevstoreServer, title: str, *, status: str = "ACTIVE", images: int = 1) -> int:
    store = devstore.store
    shop = store.get_shop(SHOP)
    product = store.create_product(shop, title=title, status=status, created_at=LAST_YEAR, emit=False)
    for i in range(images):
        store.add_image(shop, png((len(title) * 7 % 255, i * 50 % 255, 90)), product=product)
    return product.id


def _post(devstore: DevstoreServer, app: RunningApp, body: object) -> httpx.Response:
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    return app.client.post("/app/api/backfill", json=body, headers={"Authorization": f"Bearer {token}"})


def _get(devstore: DevstoreServer, app: RunningApp) -> dict:
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    return app.client.get("/app/api/backfill", headers={"Authorization": f"Bearer {token}"}).json()


def _jobs(app: RunningApp) -> int:
    with session_scope(app.db) as session:
        return len(session.exec(select(Job)).all())


def test_backfill_of_all_active_products(devstore: DevstoreServer, installed: RunningApp) -> None:
    for n in range(6):
        _old_product(devstore, f"Old {n}")
    _old_product(devstore, "Draft", status="DRAFT")
    assert _get(devstore, installed) == {"backfill": None}
    jobs.scan_products(installed.settings, installed.db)
    assert _jobs(installed) == 0, "the daily scan only offers today's products"

    started = _post(devstore, installed, {"collection_id": None})
    assert started.status_code == 202, started.text
    body = started.json()["backfill"]
    assert body["status"] == "running" and body["collection_id"] is None and body["finished_at"] is None
    assert set(body) == {
        "id", "status", "collection_id", "products_seen", "images_queued", "started_at", "finished_at", "error",
    }  # fmt: skip
    again = _post(devstore, installed, {})
    assert again.json()["backfill"]["id"] == body["id"], "one backfill at a time per shop"

    assert jobs.backfill_products(installed.settings, installed.db) == {body["id"]: "finished"}
    latest = _get(devstore, installed)["backfill"]
    assert latest["status"] == "finished" and latest["products_seen"] == 6 and latest["images_queued"] == 6
    assert latest["finished_at"] and latest["error"] is None
    assert _jobs(installed) == 6

    # A second backfill finds everything already queued.
    second = _post(devstore, installed, None).json()["backfill"]
    assert second["id"] != body["id"]
    jobs.backfill_products(installed.settings, installed.db)
    assert _get(devstore, installed)["backfill"]["images_queued"] == 0 and _jobs(installed) == 6


def test_backfill_of_one_collection(devstore: DevstoreServer, installed: RunningApp) -> None:
    ids = [_old_product(devstore, f"Chair {n}") for n in range(4)]
    draft = _old_product(devstore, "Draft chair", status="DRAFT")
    collection = devstore.create_collection(SHOP, title="Chairs", product_ids=[ids[1], ids[3], draft])
    started = _post(devstore, installed, {"collection_id": collection["admin_graphql_api_id"]})
    assert started.status_code == 202
    jobs.backfill_products(installed.settings, installed.db)
    latest = _get(devstore, installed)["backfill"]
    assert latest["status"] == "finished" and latest["products_seen"] == 2
    assert latest["collection_id"] == collection["admin_graphql_api_id"]
    with session_scope(installed.db) as session:
        names = sorted(j.name for j in session.exec(select(Job)).all())
    assert names == ["Chair 1", "Chair 3"]


def test_bad_backfill_requests(devstore: DevstoreServer, installed: RunningApp) -> None:
    for body in (
        {"collection_id": "123"},
        {"collection_id": "gid://shopify/Product/1"},
        {"collection_id": 5},
        [],
    ):
        resp = _post(devstore, installed, body)
        assert resp.status_code == 400, body
    missing = _post(devstore, installed, {"collection_id": "gid://shopify/Collection/999999"})
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]["message"]
    with session_scope(installed.db) as session:
        assert session.exec(select(Backfill)).first() is None, "nothing recorded for a refused request"


def _offline_token(app: RunningApp) -> str:
    from shop_app.models.core import Shop
    from shop_app.shopify.tokens import TokenCipher

    with session_scope(app.db) as session:
        shop = session.exec(select(Shop).where(Shop.domain == SHOP)).one()
    return TokenCipher(app.settings.token_encryption_key.get_secret_value()).decrypt(
        shop.access_token_enc or ""
    )


EXPENSIVE = "{ products(first: 150) { nodes { id media(first: 3) { nodes { id } } } } }"


def test_throttling_mid_backfill_is_absorbed(
    devstore: DevstoreServer, installed: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PAGE_SIZE", 3)
    for n in range(7):
        _old_product(devstore, f"Lamp {n}")
    # A small bucket that refills fast: another caller of the same app can empty it between two pages.
    devstore.set_rate_limit(SHOP, bucket_size=1000, restore_rate=500)
    backfill_id = _post(devstore, installed, None).json()["backfill"]["id"]
    token = _offline_token(installed)
    drained: list[int] = []

    async def drain_the_bucket(seen: int) -> None:
        for _ in range(20):  # until Shopify answers THROTTLED: the bucket is empty right now
            body = (await asyncio.to_thread(devstore.graphql, SHOP, token, EXPENSIVE)).json()
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or []):
                drained.append(seen)
                return

    async def run() -> str:
        async with httpx.AsyncClient() as http:
            services = make_shopify_services(installed.settings, installed.db, http)
            return await runner.run_backfill(services, backfill_id, after_page=drain_the_bucket)

    assert asyncio.run(run()) == "finished"
    assert drained == [3, 6], "the bucket was empty when the backfill went on after each page"
    latest = _get(devstore, installed)["backfill"]
    assert latest["products_seen"] == 7 and latest["images_queued"] == 7 and latest["error"] is None


def test_uninstall_mid_backfill_stops_it_cleanly(
    devstore: DevstoreServer, installed: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "PAGE_SIZE", 3)
    for n in range(9):
        _old_product(devstore, f"Vase {n}")
    backfill_id = _post(devstore, installed, None).json()["backfill"]["id"]

    async def uninstall_after_first_page(seen: int) -> None:
        if seen == 3:
            await asyncio.to_thread(devstore.uninstall_app, SHOP, CLIENT_ID)
            await asyncio.to_thread(settle, devstore, installed)  # the uninstall is processed

    async def run() -> str:
        async with httpx.AsyncClient() as http:
            services = make_shopify_services(installed.settings, installed.db, http)
            return await runner.run_backfill(services, backfill_id, after_page=uninstall_after_first_page)

    assert asyncio.run(run()) == "failed"
    with session_scope(installed.db) as session:
        row = session.get(Backfill, backfill_id)
        assert row is not None and row.status == "failed" and row.finished_at is not None
        assert row.products_seen == 3 and "uninstalled" in (row.error or "")
        assert len(session.exec(select(Job)).all()) <= 3, "nothing queued after the uninstall"
    assert jobs.backfill_products(installed.settings, installed.db) == {}, "a stopped backfill stays stopped"


@pytest.mark.slow
def test_large_catalogue_backfills_through_one_bulk_operation(
    devstore: DevstoreServer, installed: RunningApp
) -> None:
    store = devstore.store
    shop = store.get_shop(SHOP)
    photo = png((30, 60, 90))
    for n in range(2000):
        product = store.create_product(
            shop,
            title=f"Item {n}",
            status="DRAFT" if n % 200 == 0 else "ACTIVE",
            created_at=LAST_YEAR,
            emit=False,
        )
        # every 10th product shares one photo: generated once, queued for each product
        store.add_image(shop, photo if n % 10 == 0 else png((n % 256, n // 256, 7)), product=product)
    backfill_id = _post(devstore, installed, None).json()["backfill"]["id"]

    assert jobs.backfill_products(installed.settings, installed.db) == {backfill_id: "running"}
    with session_scope(installed.db) as session:
        row = session.get(Backfill, backfill_id)
        assert row is not None and row.mode == "bulk" and row.bulk_operation_id
        operation = row.bulk_operation_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # Shopify tells the app when the operation is done
        finished = [
            d for d in devstore.webhook_deliveries(shop=SHOP, topic="bulk_operations/finish")
            if d["attempts"] and d["attempts"][-1].get("status_code") == 200
        ]  # fmt: skip
        if finished:
            break
        time.sleep(0.1)
    assert finished and finished[0]["payload"]["admin_graphql_api_id"] == operation

    assert jobs.backfill_products(installed.settings, installed.db) == {backfill_id: "finished"}
    latest = _get(devstore, installed)["backfill"]
    assert latest["products_seen"] == 1990 and latest["images_queued"] == 1990
    assert _jobs(installed) == 1990


def test_jsonl_rebuilds_products_with_their_media_and_variants() -> None:
    text = "\n".join(
        json.dumps(line)
        for line in [
            {"id": "gid://shopify/Product/1", "title": "Mug", "status": "ACTIVE"},
            {"id": "gid://shopify/MediaImage/5", "mediaContentType": "IMAGE", "__parentId": "gid://shopify/Product/1",
             "image": {"id": "gid://shopify/ImageSource/9", "url": "https://cdn/x.png"}},
            {"id": "gid://shopify/ProductVariant/7", "sku": "M", "__parentId": "gid://shopify/Product/1"},
            {"id": "gid://shopify/MediaImage/5", "__parentId": "gid://shopify/ProductVariant/7"},
            {"id": "gid://shopify/Product/2", "title": "Cup", "status": "ACTIVE"},
        ]
    )  # fmt: skip
    (mug, mug_media), (cup, cup_media) = runner.products_from_jsonl(text)
    assert mug["title"] == "Mug" and [m["id"] for m in mug_media] == ["gid://shopify/MediaImage/5"]
    assert mug["variants"]["nodes"][0]["media"]["nodes"] == [{"id": "gid://shopify/MediaImage/5"}]
    assert cup["title"] == "Cup" and cup_media == [] and cup["variants"]["nodes"] == []
