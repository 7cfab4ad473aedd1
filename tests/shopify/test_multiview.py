"""Multi-view generation: photos labelled as views of one object (front/left/back/right) become ONE generation
in the engine's view order, shared by all of them; other photos keep one generation each. Webhook and scan
agree, a changed view re-queues the group, and the group has one decision and one published model."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from devstore.webhooks import webhook_hmac
from scheduler import jobs as scheduler_jobs
from shop_app.db import session_scope
from shop_app.models.jobs import CANCELED, QUEUED, Job
from shop_app.models.shopify import Approval, ProductImage
from shop_app.shopify.sync import view_label
from tests.shopify.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    RunningApp,
    finish_generation,
    install_shop,
    open_embedded,
    outcome_of,
    png,
    settle,
)

SHOP = "acme.myshopify.com"
RED, GREEN, BLUE, GREY, WHITE, BLACK = (
    (200, 0, 0),
    (0, 200, 0),
    (0, 0, 200),
    (90, 90, 90),
    (250, 250, 250),
    (10, 10, 10),
)


@pytest.mark.parametrize(
    ("alt", "url", "expected"),
    [
        ("Ceramic Mug, front", "https://x/a.png", "front"),
        ("Back to school mug, left", "https://x/a.png", "left"),  # only the last alt part names the view
        ("Ceramic Mug", "https://x/files/mug-back.png?v=1", "back"),  # the file name says it
        (None, "https://x/files/mug_RIGHT.jpg", "right"),
        ("Ceramic Mug, Blue", "https://x/files/mug-blue.png", None),  # a variant photo
        ("front and back", "https://x/a.png", None),  # two views named: none
        ("", "https://x/backpack.png", None),  # a word containing a view name is not one
    ],
)
def test_view_label(alt: str | None, url: str, expected: str | None) -> None:
    assert view_label(alt, url) == expected


@pytest.fixture
def shop(devstore: DevstoreServer, running_app: RunningApp) -> str:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return SHOP


def _create_mug(devstore: DevstoreServer, app: RunningApp) -> dict:
    # Views out of order on the product, plus an unlabelled photo and a per-variant photo.
    product = devstore.create_product(
        SHOP,
        title="Ceramic Mug",
        variants=[{"price": "9.99", "options": {"Color": "Blue"}}],
        images=[
            {"data": png(RED), "alt": "Ceramic Mug, back"},
            {"data": png(GREEN), "alt": "Ceramic Mug, front"},
            {"data": png(GREY), "alt": "Ceramic Mug on a table"},
            {"data": png(BLUE), "alt": "Ceramic Mug, right"},
            {"data": png(WHITE), "alt": "Ceramic Mug, left"},
            {"data": png(BLACK), "alt": "Ceramic Mug, Blue", "variants": [0]},
        ],
    )
    assert settle(devstore, app)
    return product


def _images(app: RunningApp) -> dict[str, ProductImage]:
    with session_scope(app.db) as session:
        return {i.alt or "": i for i in session.exec(select(ProductImage)).all()}


def _jobs(app: RunningApp) -> dict[str, Job]:
    with session_scope(app.db) as session:
        return {j.id: j for j in session.exec(select(Job)).all()}


def _call(devstore: DevstoreServer, app: RunningApp, method: str, path: str) -> httpx.Response:
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    return app.client.request(method, path, headers={"Authorization": f"Bearer {token}"})


def test_labelled_views_make_one_generation_in_engine_order(
    devstore: DevstoreServer, running_app: RunningApp, shop: str
) -> None:
    _create_mug(devstore, running_app)
    images = _images(running_app)
    jobs = _jobs(running_app)
    assert len(jobs) == 3  # the four views together, the table photo, the variant photo

    views = [images[f"Ceramic Mug, {v}"] for v in ("front", "left", "back", "right")]
    assert len({i.job_id for i in views}) == 1
    group_job = jobs[views[0].job_id]  # type: ignore[index]
    assert group_job.inputs == {"image_urls": [i.url for i in views]}  # front, left, back, right
    for alt in ("Ceramic Mug on a table", "Ceramic Mug, Blue"):
        assert jobs[images[alt].job_id].inputs == {"image_urls": [images[alt].url]}  # type: ignore[index]

    # The shell's API shows the group as one card with the four photos in view order.
    product = _call(devstore, running_app, "GET", "/app/api/products").json()["products"][0]
    assert sorted(len(g["photos"]) for g in product["groups"]) == [1, 1, 4]
    group = next(g for g in product["groups"] if g["multi_view"])
    assert [p["view"] for p in group["photos"]] == ["front", "left", "back", "right"]
    assert group["lead_image_id"] == views[0].id and group["generation"]["status"] == QUEUED

    # Each member names its group and lead; a photo outside the group is its own.
    member = _call(devstore, running_app, "GET", f"/app/api/images/{views[2].id}").json()
    assert member["group"] == {"lead_image_id": views[0].id, "image_ids": [i.id for i in views]}
    assert member["view"] == "back" and member["generation"]["job_id"] == views[0].job_id
    table = images["Ceramic Mug on a table"]
    alone = _call(devstore, running_app, "GET", f"/app/api/images/{table.id}").json()
    assert alone["group"] == {"lead_image_id": table.id, "image_ids": [table.id]}

    # The scan reads the same product over GraphQL and agrees: nothing new to queue.
    reports = scheduler_jobs.scan_products(running_app.settings, running_app.db)
    assert [r.queued for r in reports] == [0]
    assert len(_jobs(running_app)) == 3


def test_a_changed_view_requeues_the_whole_group(
    devstore: DevstoreServer, running_app: RunningApp, shop: str
) -> None:
    _create_mug(devstore, running_app)
    before = _images(running_app)
    old_group_job = before["Ceramic Mug, front"].job_id
    delivery = devstore.webhook_deliveries(shop=SHOP, topic="products/create")[0]
    payload = json.loads(delivery["body"])
    for image in payload["images"]:
        if image["alt"] == "Ceramic Mug, left":  # new bytes for the left view: Shopify bumps ?v=
            image["src"] = image["src"].split("?")[0] + "?v=999"
    payload["updated_at"] = "2099-01-01T00:00:00Z"
    body = json.dumps(payload).encode()
    headers = {
        **delivery["headers"],
        "X-Shopify-Event-Id": "edit-left",
        "X-Shopify-Webhook-Id": "edit-left",
        "X-Shopify-Hmac-Sha256": webhook_hmac(body, CLIENT_SECRET),
    }
    resp = httpx.post(delivery["uri"], content=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["outcome"] == "accepted", resp.text
    assert outcome_of(running_app.db, "edit-left") == "updated; queued 1"

    after = _images(running_app)
    jobs = _jobs(running_app)
    new_group_job = after["Ceramic Mug, front"].job_id
    assert new_group_job != old_group_job
    assert {after[f"Ceramic Mug, {v}"].job_id for v in ("front", "left", "back", "right")} == {new_group_job}
    assert jobs[old_group_job].status == CANCELED  # type: ignore[index]
    assert jobs[new_group_job].inputs["image_urls"][1].endswith("?v=999")  # type: ignore[index]
    # the photos outside the group keep their generation
    for alt in ("Ceramic Mug on a table", "Ceramic Mug, Blue"):
        assert after[alt].job_id == before[alt].job_id and jobs[after[alt].job_id].status == QUEUED  # type: ignore[index]


def test_the_group_has_one_decision_and_one_published_model(
    devstore: DevstoreServer, running_app: RunningApp, shop: str
) -> None:
    created = _create_mug(devstore, running_app)
    images = _images(running_app)
    front, back = images["Ceramic Mug, front"], images["Ceramic Mug, back"]
    finish_generation(running_app, back.id)  # type: ignore[arg-type]  # the group's job, through any member

    # Approving through a non-lead view approves the group (kept on its lead, the front view).
    resp = _call(devstore, running_app, "POST", f"/app/api/images/{back.id}/approve")
    assert resp.status_code == 200, resp.text
    assert resp.json()["image"]["id"] == front.id
    assert resp.json()["image"]["approval"]["status"] == "approved"
    with session_scope(running_app.db) as session:
        approvals = session.exec(select(Approval)).all()
        assert [a.product_image_id for a in approvals] == [front.id]
    # approving again through another view changes nothing
    assert (
        _call(
            devstore, running_app, "POST", f"/app/api/images/{images['Ceramic Mug, right'].id}/approve"
        ).status_code
        == 200
    )
    group = next(
        g
        for g in _call(devstore, running_app, "GET", "/app/api/products").json()["products"][0]["groups"]
        if g["multi_view"]
    )
    assert group["approval"]["status"] == "approved" and group["model"]["glb_url"]
    glb = running_app.client.get(group["model"]["glb_url"][len(running_app.url) :])
    assert glb.status_code == 200 and glb.content[:4] == b"glTF"

    for _ in range(50):
        scheduler_jobs.publish_models(running_app.settings, running_app.db)
        with session_scope(running_app.db) as session:
            if session.exec(select(Approval)).one().publish_status == "published":
                break
    media = [
        m for m in devstore.get_product(SHOP, created["id"])["media"] if m["media_content_type"] == "MODEL_3D"
    ]
    assert len(media) == 1  # one model for the four photos

    # Rejecting through yet another view rejects the group and takes the model off the product.
    assert (
        _call(
            devstore, running_app, "POST", f"/app/api/images/{images['Ceramic Mug, left'].id}/reject"
        ).status_code
        == 200
    )
    scheduler_jobs.publish_models(running_app.settings, running_app.db)
    with session_scope(running_app.db) as session:
        [approval] = session.exec(select(Approval)).all()
        assert approval.product_image_id == front.id and approval.status == "rejected"
    assert not [
        m for m in devstore.get_product(SHOP, created["id"])["media"] if m["media_content_type"] == "MODEL_3D"
    ]


def test_regenerating_a_view_requeues_its_group(
    devstore: DevstoreServer, running_app: RunningApp, shop: str
) -> None:
    _create_mug(devstore, running_app)
    images = _images(running_app)
    resp = _call(
        devstore, running_app, "POST", f"/app/api/images/{images['Ceramic Mug, right'].id}/regenerate"
    )
    assert resp.status_code == 202, resp.text
    after = _images(running_app)
    jobs = _jobs(running_app)
    new = {after[f"Ceramic Mug, {v}"].job_id for v in ("front", "left", "back", "right")}
    assert len(new) == 1 and new != {images["Ceramic Mug, front"].job_id}
    job = jobs[new.pop()]  # type: ignore[index]
    assert job.priority == 1 and len(job.inputs["image_urls"]) == 4
    assert jobs[images["Ceramic Mug, front"].job_id].status == CANCELED  # type: ignore[index]
