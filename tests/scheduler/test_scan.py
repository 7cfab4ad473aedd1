"""The scheduler's product scan against the devstore: finds what no webhook announced, queues each new photo
once, pages with cursors, moves its watermark, and agrees with the webhooks about image identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs, scan
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.jobs import Job
from shop_app.models.shopify import Product, ProductImage, ScanState
from tests.shopify.harness import CLIENT_ID, RunningApp, install_shop, open_embedded, png, settle

SHOP = "acme.myshopify.com"


@pytest.fixture
def installed(devstore: DevstoreServer, running_app: RunningApp) -> RunningApp:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return running_app


def _silent_product(
    devstore: DevstoreServer,
    title: str,
    *,
    images: int = 1,
    status: str = "ACTIVE",
    created_at: datetime | None = None,
) -> int:
    """A product the app hears nothing about (no webhook), as when a delivery was lost."""
    store = devstore.store
    shop = store.get_shop(SHOP)
    product = store.create_product(shop, title=title, status=status, created_at=created_at, emit=False)
    for i in range(images):
        store.add_image(shop, png((i * 40 % 255, 90, 160)), product=product)
    return product.id


def _count(app: RunningApp, model: type) -> int:
    with session_scope(app.db) as session:
        return len(session.exec(select(model)).all())


def test_scan_finds_products_that_no_webhook_announced(
    devstore: DevstoreServer, installed: RunningApp
) -> None:
    _silent_product(devstore, "Mug", images=2)
    _silent_product(devstore, "Box")
    _silent_product(devstore, "Draft jar", status="DRAFT")
    _silent_product(devstore, "Yesterday's can", created_at=datetime.now(UTC) - timedelta(days=2))

    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.error is None
    assert report.products == 2 and report.queued == 3
    with session_scope(installed.db) as session:
        titles = sorted(p.title for p in session.exec(select(Product)).all())
        images = session.exec(select(ProductImage)).all()
        queued = session.exec(select(Job)).all()
    assert titles == ["Box", "Mug"]
    assert all(i.gid.startswith("gid://shopify/ProductImage/") and i.media_gid for i in images)
    assert {j.image_gid for j in queued} == {i.gid for i in images}
    assert all(
        j.inputs["image_urls"][0] == next(i.url for i in images if i.gid == j.image_gid) for j in queued
    )

    # Idempotent: a second scan queues nothing new.
    [again] = jobs.scan_products(installed.settings, installed.db)
    assert again.queued == 0 and _count(installed, Job) == 3


def test_scan_and_webhooks_agree_on_image_identity(devstore: DevstoreServer, installed: RunningApp) -> None:
    devstore.create_product(SHOP, title="Announced", images=[png(), png((0, 255, 0))])
    assert settle(devstore, installed)
    assert _count(installed, Job) == 2
    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.products == 1 and report.queued == 0
    assert _count(installed, Job) == 2 and _count(installed, ProductImage) == 2


def test_scan_pages_through_everything_and_moves_the_watermark(
    devstore: DevstoreServer, installed: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "PAGE_SIZE", 4)
    for n in range(10):
        _silent_product(devstore, f"Product {n}", images=0)
    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.products == 10 and report.pages == 6  # 3 pages of new products, 3 of reconciliation
    with session_scope(installed.db) as session:
        state = session.exec(select(ScanState)).one()
        newest = max(p.shopify_created_at for p in session.exec(select(Product)).all())  # type: ignore[type-var]
    assert state.watermark == newest and state.cursor is None and state.last_error is None
    assert state.updated_watermark == newest  # nothing was updated after creation
    assert state.last_finished_at is not None


def test_scan_resumes_from_a_saved_cursor(
    devstore: DevstoreServer, installed: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan, "PAGE_SIZE", 3)
    for n in range(7):
        _silent_product(devstore, f"Product {n}", images=0)
    # A scan that stopped after its first page left this cursor behind.
    with session_scope(installed.db) as session:
        state = session.exec(select(ScanState)).one()
        query = scan.search_query(state.watermark)  # type: ignore[arg-type]
    from devstore.oauth import mint_session_token  # noqa: F401  (devstore imported for its GraphQL only)

    first_page = devstore.graphql(
        SHOP,
        _token(installed),
        "query($q: String!) { products(first: 3, query: $q, sortKey: CREATED_AT) { pageInfo { endCursor } } }",
        {"q": query},
    ).json()
    cursor = first_page["data"]["products"]["pageInfo"]["endCursor"]
    with session_scope(installed.db) as session:
        state = session.exec(select(ScanState)).one()
        state.cursor, state.cursor_query = cursor, query
        session.add(state)
    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.products == 4  # pages 2 and 3 only


def _token(app: RunningApp) -> str:
    from shop_app.shopify.tokens import TokenCipher

    with session_scope(app.db) as session:
        shop = session.exec(select(Shop)).one()
    return TokenCipher(app.settings.token_encryption_key.get_secret_value()).decrypt(
        shop.access_token_enc or ""
    )


def test_scan_reconciles_updates_whose_webhook_was_lost(
    devstore: DevstoreServer, installed: RunningApp
) -> None:
    created = devstore.create_product(SHOP, title="Lamp", images=[png()])
    assert settle(devstore, installed)
    assert _count(installed, Job) == 1
    [first] = jobs.scan_products(installed.settings, installed.db)
    assert first.queued == 0
    # A second photo is added, and the products/update delivery never arrives.
    store = devstore.store
    shop = store.get_shop(SHOP)
    product = store.get_product(shop, created["id"])
    store.add_image(shop, png((0, 0, 0)), product=product)
    store.touch(product)
    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.error is None and report.reconciled >= 1 and report.queued == 1
    assert _count(installed, Job) == 2 and _count(installed, ProductImage) == 2
    [again] = jobs.scan_products(installed.settings, installed.db)
    assert again.queued == 0


def test_uninstalled_shops_are_not_scanned(devstore: DevstoreServer, installed: RunningApp) -> None:
    _silent_product(devstore, "Mug")
    devstore.uninstall_app(SHOP, CLIENT_ID)
    assert settle(devstore, installed)
    assert jobs.scan_products(installed.settings, installed.db) == []
    assert _count(installed, Product) == 0


def test_scan_errors_are_recorded_not_raised(devstore: DevstoreServer, installed: RunningApp) -> None:
    _silent_product(devstore, "Mug")
    # Shopify no longer accepts the stored token (revoked behind our back).
    from shop_app.shopify.tokens import TokenCipher

    with session_scope(installed.db) as session:
        shop = session.exec(select(Shop)).one()
        shop.access_token_enc = TokenCipher(
            installed.settings.token_encryption_key.get_secret_value()
        ).encrypt("revoked")
        session.add(shop)
    [report] = jobs.scan_products(installed.settings, installed.db)
    assert report.error and "Invalid API key or access token" in report.error
    with session_scope(installed.db) as session:
        assert session.exec(select(ScanState)).one().last_error == report.error
