"""Webhook routes, mounted by shop_app.app under /webhooks. One module per topic (see shopify.app.toml)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
