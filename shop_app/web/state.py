"""The lifespan's shared resources as one typed object.

Starlette copies the lifespan's mapping into every request's `request.state`; `AppState.scope_state()` is
that mapping (each field by name, for existing `request.state.db` readers, plus the object itself), and
`app_state(request)` gives typed access.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from starlette.requests import Request

from shop_app.jobs.events import JobBroadcaster
from shop_app.settings import Settings
from shop_app.shopify.services import ShopifyServices
from shop_app.storage import Storage

ReadinessCheck = Callable[[Request], Awaitable[None]]


@dataclass
class AppState:
    settings: Settings
    db: Engine
    storage: Storage
    http: httpx.AsyncClient
    shopify: ShopifyServices
    job_events: JobBroadcaster
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)

    def scope_state(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"app_state": self}


def app_state(request: Request) -> AppState:
    state = request.state.app_state
    assert isinstance(state, AppState)  # noqa: S101 - set by the lifespan
    return state
