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
from anyio import CapacityLimiter
from sqlalchemy.engine import Engine
from starlette.requests import Request

from shop_app.auth_jwt import JwtVerifier
from shop_app.jobs.events import JobBroadcaster
from shop_app.jobs.image_provider import OpenAIImages
from shop_app.logbuffer import LogBuffer
from shop_app.settings import Settings
from shop_app.shopify.services import ShopifyServices
from shop_app.storage import Storage
from shop_app.web.page_memo import PageMemo
from shop_app.web.previews import PreviewQueue

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
    # Bearer-JWT verification for the families that accept identity-provider tokens (None: not configured).
    jwt_verifier: JwtVerifier | None = None
    # Text → image (None: no provider configured; text routes answer 501) and the previews waiting for it.
    image_provider: OpenAIImages | None = None
    previews: PreviewQueue = field(default_factory=lambda: PreviewQueue(1))
    log_buffer: LogBuffer = field(default_factory=LogBuffer)  # this process's recent log lines
    # GET /api/nu3d answers without anything in flight, for a second (shop_app.web.page_memo).
    feed_pages: PageMemo = field(default_factory=lambda: PageMemo(ttl_s=1.0))
    # Threads running database work (`web.db.in_db`), bounded by the pool's size (None: anyio's default).
    db_threads: CapacityLimiter | None = None

    def scope_state(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"app_state": self}


def app_state(request: Request) -> AppState:
    state = request.state.app_state
    assert isinstance(state, AppState)  # noqa: S101 - set by the lifespan
    return state
