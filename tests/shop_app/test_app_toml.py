"""shopify.app.toml is what Shopify deploys; check it says what the app implements."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_app_configuration() -> None:
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert config["embedded"] is True
    assert config["application_url"].startswith("https://")
    assert set(config["access_scopes"]["scopes"].split(",")) == {
        "read_products",
        "write_products",
        "write_files",
    }
    assert config["access_scopes"]["use_legacy_install_flow"] is False
    assert config["webhooks"]["api_version"] == "2026-10"


def test_every_subscription_names_its_handler_file() -> None:
    text = (ROOT / "shopify.app.toml").read_text()
    config = tomllib.loads(text)
    topics = []
    for sub in config["webhooks"]["subscriptions"]:
        for topic in sub.get("topics", []) + sub.get("compliance_topics", []):
            topics.append(topic)
            assert sub["uri"] == f"/webhooks/{topic}"
    assert set(topics) == {
        "products/create",
        "products/update",
        "products/delete",
        "bulk_operations/finish",
        "app/uninstalled",
        "app/scopes_update",
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    }
    handled = re.findall(r"# Handled by: (webhooks/\w+\.py)", text)
    assert sorted(handled) == sorted(f"webhooks/{t.replace('/', '_')}.py" for t in topics)


def test_api_version_matches_the_code() -> None:
    from shop_app.settings import SHOPIFY_API_VERSION

    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    assert config["webhooks"]["api_version"] == SHOPIFY_API_VERSION
