"""Product webhooks from the devstore, over HTTP: a new product becomes queued generations; updates queue
only new image content; deletes drop pending work; replays and late deliveries change nothing."""

from __future__ import annotations

import time

from sqlmodel import select

from devstore.testing import DevstoreServer
from shop_app.db import session_scope
from shop_app.models.jobs import CANCELED, QUEUED, Job
from shop_app.models.shopify import Product, ProductImage, WebhookEvent
from tests.shopify.harness import RunningApp, install_shop, open_embedded, outcome_of, png, settle

SHOP = "acme.myshopify.com"


def _installed(devstore: DevstoreServer, app: RunningApp, shop: str = SHOP) -> None:
    install_shop(devstore, app, shop)
    assert open_embedded(devstore, app, shop).status_code == 200


def _jobs(app: RunningApp) -> list[Job]:
    with session_scope(app.db) as session:
        return list(session.exec(select(Job).order_by(Job.created_at)).all())


def _images(app: RunningApp) -> list[ProductImage]:
    with session_scope(app.db) as session:
        return list(session.exec(select(ProductImage).order_by(ProductImage.position)).all())


def _wait_for_jobs(app: RunningApp, count: int, timeout: float = 10.0) -> list[Job]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = _jobs(app)
        if len(jobs) >= count:
            return jobs
        time.sleep(0.02)
    return _jobs(app)


def test_new_product_arrives_as_queued_generations(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _installed(devstore, running_app)
    started = time.monotonic()
    product = devstore.create_product(SHOP, title="Tin Can", images=[png((255, 0, 0)), png((0, 0, 255))])
    jobs = _wait_for_jobs(running_app, 2)
    elapsed = time.monotonic() - started

    assert len(jobs) == 2, "one generation per product photo"
    images = _images(running_app)
    assert [i.gid for i in images] == [img["admin_graphql_api_id"] for img in product["images"]]
    for job, image in zip(
        sorted(jobs, key=lambda j: j.image_gid or ""), sorted(images, key=lambda i: i.gid), strict=True
    ):
        assert job.status == QUEUED  # queued, never generated inline by the webhook
        assert job.image_gid == image.gid and image.job_id == job.id
        assert job.inputs == {"image_urls": [image.url]}
        assert "v=" in image.url and image.content_version.startswith("v:")
        assert job.shop_id == images[0].shop_id
    # The app commits before it answers, so the jobs can be visible before the devstore has recorded the answer.
    assert settle(devstore, running_app)
    delivery = devstore.webhook_deliveries(shop=SHOP, topic="products/create")[0]
    # Accepted on the first attempt (Shopify's timeout is 5 s; the answer comes from a DB write, not the work).
    assert delivery["state"] == "delivered" and len(delivery["attempts"]) == 1, delivery
    assert delivery["attempts"][0]["status_code"] == 200
    print(
        f"product created → {len(jobs)} queued generations in {elapsed:.3f} s "
        f"(webhook answered in {delivery['attempts'][0]['duration_ms']} ms)"
    )


def test_update_queues_only_new_image_content(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _installed(devstore, running_app)
    product = devstore.create_product(SHOP, title="Jar", images=[png((10, 10, 10))])
    assert len(_wait_for_jobs(running_app, 1)) == 1

    devstore.update_product(SHOP, product["id"], title="Jar (large)")  # same photo
    assert settle(devstore, running_app)
    assert len(_jobs(running_app)) == 1
    with session_scope(running_app.db) as session:
        assert session.exec(select(Product)).one().title == "Jar (large)"

    # Two more photos: each new one is queued, the first one's generation is left alone.
    updated = devstore.update_product(SHOP, product["id"], images=[png((20, 20, 20)), png((200, 200, 0))])
    assert settle(devstore, running_app)
    jobs = _wait_for_jobs(running_app, 3)
    assert len(jobs) == 3
    assert {j.image_gid for j in jobs} == {img["admin_graphql_api_id"] for img in updated["images"]}
    assert all(j.status == QUEUED for j in jobs)


def _resend(app: RunningApp, delivery: dict, payload: dict, event_id: str) -> str:
    """Deliver a changed payload as Shopify would (same topic and shop, fresh event id, signed body); the
    outcome of processing it."""
    import json

    import httpx

    from devstore.webhooks import webhook_hmac
    from tests.shopify.harness import CLIENT_SECRET

    body = json.dumps(payload).encode()
    headers = {
        **delivery["headers"],
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": event_id,
        "X-Shopify-Hmac-Sha256": webhook_hmac(body, CLIENT_SECRET),
    }
    resp = httpx.post(delivery["uri"], content=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["outcome"] == "accepted", resp.text
    return outcome_of(app.db, event_id)


def test_new_image_version_replaces_the_waiting_generation(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _installed(devstore, running_app)
    devstore.create_product(SHOP, title="Bottle", images=[png(), png((0, 200, 0))])
    assert len(_wait_for_jobs(running_app, 2)) == 2
    delivery = devstore.webhook_deliveries(shop=SHOP, topic="products/create")[0]
    payload = dict(delivery["payload"])
    first, second = payload["images"]
    # Same image id, new bytes (Shopify bumps ?v=), and the second photo removed from the product.
    payload["images"] = [{**first, "src": first["src"].split("?")[0] + "?v=999"}]
    payload["updated_at"] = "2099-01-01T00:00:00Z"
    assert _resend(running_app, delivery, payload, "edit-1") == "updated; queued 1"

    jobs = {j.id: j for j in _jobs(running_app)}
    images = {i.gid: i for i in _images(running_app)}
    assert len(jobs) == 3
    edited, removed = images[first["admin_graphql_api_id"]], images[second["admin_graphql_api_id"]]
    assert edited.content_version == "v:999" and jobs[edited.job_id].status == QUEUED
    assert jobs[edited.job_id].inputs == {"image_urls": [edited.url]}
    assert removed.removed_at is not None and jobs[removed.job_id].status == CANCELED
    canceled = [j for j in jobs.values() if j.status == CANCELED]
    assert {j.image_gid for j in canceled} == {first["admin_graphql_api_id"], second["admin_graphql_api_id"]}

    # The same content again (another subscription, another event id): nothing new.
    payload["title"] = "Bottle (same photos)"
    assert _resend(running_app, delivery, payload, "edit-2") == "updated"
    assert len(_jobs(running_app)) == 3


def test_replayed_delivery_is_ignored(devstore: DevstoreServer, running_app: RunningApp) -> None:
    import httpx

    _installed(devstore, running_app)
    devstore.create_product(SHOP, title="Box", images=[png()])
    assert len(_wait_for_jobs(running_app, 1)) == 1
    delivery = devstore.webhook_deliveries(shop=SHOP, topic="products/create")[0]

    replay = httpx.post(delivery["uri"], content=delivery["body"].encode(), headers=delivery["headers"])
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    # The same signed body with fresh ids (a captured delivery replayed): a duplicate too.
    fresh = {**delivery["headers"], "X-Shopify-Event-Id": "fresh-1", "X-Shopify-Webhook-Id": "fresh-1"}
    replay = httpx.post(delivery["uri"], content=delivery["body"].encode(), headers=fresh)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    running_app.wait_for_inbox()
    assert len(_jobs(running_app)) == 1
    with session_scope(running_app.db) as session:
        assert (
            len(session.exec(select(WebhookEvent).where(WebhookEvent.topic == "products/create")).all()) == 1
        )


def test_late_update_does_not_overwrite_a_newer_one(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:

    _installed(devstore, running_app)
    product = devstore.create_product(SHOP, title="v1", images=[png()])
    devstore.update_product(SHOP, product["id"], title="v2")
    assert settle(devstore, running_app)
    time.sleep(1.1)  # Shopify timestamps have second precision
    devstore.update_product(SHOP, product["id"], title="v3")
    assert settle(devstore, running_app)
    older = [
        d
        for d in devstore.webhook_deliveries(shop=SHOP, topic="products/update")
        if d["payload"]["title"] == "v2"
    ][0]
    # The v2 delivery arrives again with a new event id (as a second subscription would deliver it): stale.
    # (a re-signed copy: the unchanged body would be refused as a replay of the first delivery)
    payload = {**older["payload"], "vendor": "second subscription"}
    assert _resend(running_app, older, payload, "late-v2-delivery") == "stale"
    with session_scope(running_app.db) as session:
        assert session.exec(select(Product)).one().title == "v3"


def test_delete_marks_deleted_and_drops_pending_work(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _installed(devstore, running_app)
    product = devstore.create_product(SHOP, title="Mug", images=[png()])
    assert len(_wait_for_jobs(running_app, 1)) == 1
    devstore.delete_product(SHOP, product["id"])
    assert settle(devstore, running_app)
    with session_scope(running_app.db) as session:
        row = session.exec(select(Product)).one()
        assert row.deleted_at is not None
        assert session.exec(select(Job)).one().status == CANCELED
    # A late products/update for the deleted product does not bring it back or queue anything.
    import httpx

    late = devstore.webhook_deliveries(shop=SHOP, topic="products/create")[0]
    headers = {
        **late["headers"],
        "X-Shopify-Event-Id": "late-after-delete",
        "X-Shopify-Topic": "products/update",
    }
    resp = httpx.post(
        late["uri"].replace("/create", "/update"), content=late["body"].encode(), headers=headers
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "accepted"
    assert outcome_of(running_app.db, "late-after-delete") == "deleted_product"
    assert len(_jobs(running_app)) == 1


def test_draft_products_are_mirrored_but_not_generated_until_active(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _installed(devstore, running_app)
    product = devstore.create_product(SHOP, title="Draft", status="DRAFT", images=[png()])
    assert settle(devstore, running_app)
    assert _jobs(running_app) == [] and len(_images(running_app)) == 1
    devstore.update_product(SHOP, product["id"], status="ACTIVE")
    assert len(_wait_for_jobs(running_app, 1)) == 1


def test_products_of_a_shop_that_never_installed_are_not_stored(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    install_shop(devstore, running_app, SHOP)  # managed install, but the app was never opened: no token
    devstore.create_product(SHOP, title="Early", images=[png()])
    assert settle(devstore, running_app)
    with session_scope(running_app.db) as session:
        assert session.exec(select(Product)).all() == []
        assert session.exec(select(WebhookEvent)).one().outcome == "shop_not_installed"
