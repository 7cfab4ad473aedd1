"""Every subscription in shopify.app.toml has a route, and the handler file the TOML names handles that topic."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from starlette.routing import Route

from webhooks import routes

ROOT = Path(__file__).resolve().parents[2]


def test_toml_uris_and_handler_files_match_the_routes() -> None:
    text = (ROOT / "shopify.app.toml").read_text()
    pairs = re.findall(r'uri = "/webhooks/([a-z_/]+)"\s*\n\s*# Handled by: webhooks/(\w+)\.py', text)
    assert len(pairs) == 9
    mounted = {r.path.lstrip("/"): r for r in routes.routes if isinstance(r, Route)}
    for topic, module_name in pairs:
        module = importlib.import_module(f"webhooks.{module_name}")
        assert module.TOPIC == topic
        assert topic in mounted and mounted[topic].methods == {"POST"}
    assert set(mounted) == {topic for topic, _ in pairs}
