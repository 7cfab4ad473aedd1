"""app/uninstalled, app/scopes_update and the compliance topics, delivered by the devstore."""

from __future__ import annotations

import time

from sqlalchemy import func
from sqlmodel import select

from devstore.testing import DevstoreServer
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.jobs import CANCELED, Job
from shop_app.models.shopify import Product, ProductImage, ScanState, WebhookEvent
from tests.shopify.harness import CLIENT_ID, RunningApp, install_shop, open_embedded, png, settle

SHOP = "acme.myshopify.com"
OTHER = "other-shop.myshopify.com"


def _shop(app: RunningApp, domain: str = SHOP) -> Shop | None:
    with session_scope(app.db) as session:
        return session.exec(select(Shop).where(Shop.domain == domain)).first()


def _setup(devstore: DevstoreServer, app: RunningApp, shop: str = SHOP) -> None:
    install_shop(devstore, app, shop)
    assert open_embedded(devstore, app, shop).status_code == 200
    devstore.create_product(shop, title=f"Product of {shop}", images=[png()])
    assert settle(devstore, app)


def _count(app: RunningApp, model: type, **where: object) -> int:
    with session_scope(app.db) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.exec(query).one())


def test_uninstall_revokes_tokens_and_keeps_data(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _setup(devstore, running_app)
    devstore.uninstall_app(SHOP, CLIENT_ID)
    assert settle(devstore, running_app)
    shop = _shop(running_app)
    assert shop is not None and shop.uninstalled_at is not None
    assert shop.access_token_enc is None and shop.refresh_token_enc is None
    assert _count(running_app, Product) == 1  # kept until shop/redact
    with session_scope(running_app.db) as session:
        assert session.exec(select(Job)).one().status == CANCELED
    # Later product webhooks of the uninstalled shop store nothing new.
    from scheduler.scan import scannable_shops
    from shop_app.shopify.services import make_shopify_services

    services = make_shopify_services(running_app.settings, running_app.db, None)  # type: ignore[arg-type]
    assert scannable_shops(services) == []


def test_reinstall_after_uninstall_gets_a_new_token(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _setup(devstore, running_app)
    devstore.uninstall_app(SHOP, CLIENT_ID)
    assert settle(devstore, running_app)
    time.sleep(1.0)  # the reinstall happens after the uninstall, at Shopify's second precision
    from tests.shopify.harness import CLIENT_SECRET, SCOPES, toml_subscriptions

    devstore.install_app(
        SHOP,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_url=running_app.url,
        scopes=SCOPES,
        subscriptions=toml_subscriptions(),
    )
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    shop = _shop(running_app)
    assert shop is not None and shop.uninstalled_at is None and shop.access_token_enc


def test_scopes_update_stores_the_current_scopes(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _setup(devstore, running_app)
    devstore.update_scopes(SHOP, CLIENT_ID, ["read_products", "write_products"])
    assert settle(devstore, running_app)
    assert _shop(running_app).scopes == "read_products,write_products"  # type: ignore[union-attr]


def test_customer_compliance_topics_are_recorded(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _setup(devstore, running_app)
    for topic in ("customers/data_request", "customers/redact"):
        devstore.send_compliance_webhook(SHOP, topic, client_id=CLIENT_ID)
    assert settle(devstore, running_app)
    with session_scope(running_app.db) as session:
        events = session.exec(select(WebhookEvent).where(WebhookEvent.topic.startswith("customers/"))).all()  # type: ignore[attr-defined]
    assert sorted(e.topic for e in events) == ["customers/data_request", "customers/redact"]
    assert {e.outcome for e in events} == {"no_customer_data"}
    for delivery in devstore.webhook_deliveries(shop=SHOP):
        if delivery["topic"].startswith("customers/"):
            assert delivery["attempts"][0]["status_code"] == 200


def test_shop_redact_deletes_every_row_of_that_shop_only(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _setup(devstore, running_app, SHOP)
    _setup(devstore, running_app, OTHER)
    devstore.uninstall_app(SHOP, CLIENT_ID)
    assert settle(devstore, running_app)
    devstore.send_compliance_webhook(SHOP, "shop/redact", client_id=CLIENT_ID)
    assert settle(devstore, running_app)

    assert _shop(running_app, SHOP) is None
    other = _shop(running_app, OTHER)
    assert other is not None
    assert _count(running_app, Product) == 1 and _count(running_app, Product, shop_id=other.id) == 1
    assert _count(running_app, ProductImage) == 1 and _count(running_app, Job) == 1
    assert _count(running_app, ScanState) == 1
    with session_scope(running_app.db) as session:
        left = session.exec(select(WebhookEvent).where(WebhookEvent.shop_domain == SHOP)).all()
    assert [e.topic for e in left] == ["shop/redact"]  # only the record that we redacted
