"""Webhooks reach the app when it is installed exactly as `nu3d demo` installs it.

Shopify appends a relative `[webhooks]` uri to `application_url`; the devstore does the same. The demo used to
register `…/app` as the app URL, so every delivery went to `/app/webhooks/<topic>` and was answered 405.
"""

from __future__ import annotations

import time
import tomllib

from devstore.testing import DevstoreServer
from shop_app import demo
from tests.shopify.harness import ROOT, RunningApp, png


def _delivery(devstore: DevstoreServer, topic: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [
            d
            for d in devstore.webhook_deliveries(shop=demo.DEMO_SHOP, topic=topic)
            if d["attempts"] and d["attempts"][-1].get("status_code") is not None
        ]
        if done:
            return done[0]
        time.sleep(0.05)
    raise AssertionError(f"no answered {topic} delivery within {timeout} s")


def test_demo_install_gets_webhooks_answered_200(devstore: DevstoreServer, running_app: RunningApp) -> None:
    devstore.create_shop(demo.DEMO_SHOP)
    app_port = int(running_app.url.rsplit(":", 1)[1])
    devstore_port = int(devstore.admin_base.rsplit(":", 1)[1])
    plan = demo.DemoPlan(port=app_port, devstore_port=devstore_port, device="cpu", env={})
    admin_url = demo.install_app(plan, running_app.settings)
    demo.open_embedded_app_once(admin_url)  # the admin's first load: token exchange, install recorded

    devstore.create_product(demo.DEMO_SHOP, title="Webhook Mug", images=[png()])
    delivery = _delivery(devstore, "products/create")
    assert delivery["uri"] == f"{running_app.url}/webhooks/products/create"
    assert delivery["attempts"][-1]["status_code"] == 200
    assert delivery["state"] == "delivered"


def test_application_url_is_an_origin_so_relative_uris_hit_the_routes() -> None:
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    url = config["application_url"]
    scheme, _, rest = url.partition("://")
    assert scheme == "https" and "/" not in rest.rstrip("/"), url
