"""The embedded admin's index, summary and settings APIs, and the settings the pipeline honours: over real HTTP,
with products arriving from the devstore by webhook."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs as scheduler_jobs
from shop_app.db import session_scope
from shop_app.models.jobs import Job
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


class Admin:
    """The embedded UI's calls, each with a fresh session token as App Bridge sends them."""

    def __init__(self, devstore: DevstoreServer, app: RunningApp) -> None:
        self.devstore, self.app = devstore, app

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = self.devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
        return self.app.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def index(self, **params: Any) -> dict[str, Any]:
        response = self.call("GET", "/app/api/index", params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def admin(devstore: DevstoreServer, running_app: RunningApp) -> Admin:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return Admin(devstore, running_app)


def _image_ids(app: RunningApp) -> dict[str, int]:
    """Product title -> its first image id."""
    from shop_app.models.shopify import Product

    with session_scope(app.db) as session:
        rows = session.exec(select(Product.title, ProductImage.id).join(ProductImage)).all()
        return {title: image_id for title, image_id in rows}  # type: ignore[misc]


def test_index_filters_searches_sorts_and_pages_with_cursors(admin: Admin, running_app: RunningApp) -> None:
    titles = ["Ceramic Mug", "Tin Can", "Glass Vase", "Oak Bowl", "Clay Mug"]
    # a catalogue older than the app (distinct creation dates to sort by): no webhook for these, whose
    # payloads would be stale; the merchant's backfill brings them in
    for i, title in enumerate(titles):
        admin.devstore.create_product(
            SHOP,
            title=title,
            images=[png((20 * i, 90, 200))],
            created_at=f"2026-11-0{i + 1}T10:00:00Z",
            notify=False,
        )
    assert admin.call("POST", "/app/api/backfill", json={"collection_id": None}).status_code == 202
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # the scheduler job runs its own event loop
        pool.submit(scheduler_jobs.backfill_products, running_app.settings, running_app.db).result()
    ids = _image_ids(running_app)
    finish_generation(running_app, ids["Ceramic Mug"])
    finish_generation(running_app, ids["Glass Vase"])
    assert admin.call("POST", f"/app/api/images/{ids['Glass Vase']}/approve").status_code == 200

    # newest first, two per page; the cursors walk every product exactly once
    seen, cursor = [], None
    while True:
        page = admin.index(limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == 5
        seen += [p["title"] for p in page["products"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(titles))
    assert [p["title"] for p in admin.index(sort="title")["products"]] == sorted(titles)
    assert [p["title"] for p in admin.index(sort="oldest", limit=1)["products"]] == ["Ceramic Mug"]

    assert [p["title"] for p in admin.index(filter="needs_review")["products"]] == ["Ceramic Mug"]
    assert [p["title"] for p in admin.index(filter="approved")["products"]] == ["Glass Vase"]
    assert {p["title"] for p in admin.index(filter="generating")["products"]} == {
        "Tin Can",
        "Oak Bowl",
        "Clay Mug",
    }
    assert admin.index(filter="failed")["products"] == []
    assert [p["title"] for p in admin.index(q="mug", sort="title")["products"]] == ["Ceramic Mug", "Clay Mug"]
    assert admin.index(q="100%_")["products"] == []  # LIKE wildcards are matched literally

    summary = admin.call("GET", "/app/api/summary").json()
    assert summary["ready_for_review"] == 1 and summary["generating"] == 3 and summary["queued"] == 3
    assert summary["publishing"] == 1 and summary["published"] == 0 and summary["failed"] == 0
    assert summary["queue"]["next_position"] == 0  # nothing of another shop ahead


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter": "maybe"}, "filter"),
        ({"sort": "price"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "251"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_index_refuses_bad_parameters_naming_the_field(
    admin: Admin, params: dict[str, str], field: str
) -> None:
    response = admin.call("GET", "/app/api/index", params=params)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["code"] == "VALIDATION_ERROR" and detail["details"]["field"] == field


def test_a_cursor_of_another_sort_order_is_refused(admin: Admin) -> None:
    for title in ("A", "B"):
        admin.devstore.create_product(SHOP, title=title, images=[png()])
    assert settle(admin.devstore, admin.app)
    cursor = admin.index(limit=1)["next_cursor"]
    response = admin.call("GET", "/app/api/index", params={"cursor": cursor, "sort": "title"})
    assert response.status_code == 400 and "first page" in response.json()["detail"]["message"]


def test_settings_are_validated_whole_and_stored_per_shop(admin: Admin) -> None:
    defaults = admin.call("GET", "/app/api/settings").json()["settings"]
    assert (
        defaults["auto_generate"] is True
        and defaults["face_limit"] is None
        and defaults["auto_publish"] is False
    )
    bad = admin.call("PUT", "/app/api/settings", json={"auto_generate": "no", "face_limit": 10, "colour": 1})
    assert bad.status_code == 400
    fields = bad.json()["detail"]["details"]["fields"]
    assert set(fields) == {"auto_generate", "face_limit", "colour"}
    assert "500" in fields["face_limit"] and "true or false" in fields["auto_generate"]
    assert admin.call("GET", "/app/api/settings").json()["settings"] == defaults  # nothing half-written
    assert admin.call("PUT", "/app/api/settings", content=b"{nope").status_code == 400
    saved = admin.call("PUT", "/app/api/settings", json={"face_limit": 20000, "notify_failures": False})
    assert saved.status_code == 200
    again = admin.call("GET", "/app/api/settings").json()["settings"]
    assert (
        again["face_limit"] == 20000 and again["notify_failures"] is False and again["auto_generate"] is True
    )
    # another shop still has the defaults
    other = "other.myshopify.com"
    install_shop(admin.devstore, admin.app, other)
    assert open_embedded(admin.devstore, admin.app, other).status_code == 200
    token = admin.devstore.mint_session_token(other, CLIENT_ID, CLIENT_SECRET)
    theirs = admin.app.client.get("/app/api/settings", headers={"Authorization": f"Bearer {token}"}).json()
    assert theirs["settings"]["face_limit"] is None


def test_on_demand_shops_get_no_automatic_generation_but_can_ask(
    admin: Admin, running_app: RunningApp
) -> None:
    assert (
        admin.call("PUT", "/app/api/settings", json={"auto_generate": False, "face_limit": 8000}).status_code
        == 200
    )
    admin.devstore.create_product(SHOP, title="Ceramic Mug", images=[png()])
    assert settle(admin.devstore, admin.app)
    [product] = admin.index(filter="no_model")["products"]
    assert product["groups"][0]["generation"] is None
    image_id = product["groups"][0]["lead_image_id"]
    assert admin.call("POST", f"/app/api/images/{image_id}/regenerate").status_code == 202
    with session_scope(running_app.db) as session:
        job = session.exec(select(Job)).one()
        assert job.params["face_limit"] == 8000  # the shop's face limit reaches the engine


def test_auto_publish_shops_get_finished_models_approved_by_the_pipeline(
    admin: Admin, running_app: RunningApp
) -> None:
    assert admin.call("PUT", "/app/api/settings", json={"auto_publish": True}).status_code == 200
    admin.devstore.create_product(SHOP, title="Ceramic Mug", images=[png()])
    assert settle(admin.devstore, admin.app)
    finish_generation(running_app, _image_ids(running_app)["Ceramic Mug"])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(scheduler_jobs.publish_models, running_app.settings, running_app.db).result()
    with session_scope(running_app.db) as session:
        approval = session.exec(select(Approval)).one()
        assert approval.status == "approved" and approval.decided_by == "nu3d:auto-publish"
