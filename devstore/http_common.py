"""What every devstore endpoint reads from a request: the base URL, a JSON body, the store and the shop."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from devstore.config import DevstoreConfig
from devstore.errors import DevstoreError
from devstore.records import Shop
from devstore.state import Store


def base_url(request: Request) -> str:
    config: DevstoreConfig = request.app.state.config
    base = config.public_url or str(request.base_url)
    base = base.rstrip("/")
    request.app.state.store.base_url = base
    return base


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise DevstoreError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise DevstoreError("request body must be a JSON object")
    return body


def store_of(request: Request) -> Store:
    return request.app.state.store


def shop_of(request: Request) -> Shop:
    return store_of(request).get_shop(request.path_params["shop"])
