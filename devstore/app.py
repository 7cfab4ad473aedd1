"""The devstore's Starlette application: shop-facing Admin API, OAuth, CDN, staged uploads, control API.

URL scheme (see README.md): real Shopify's ``https://{shop}`` becomes ``{base}/store/{shop}``; the control
API the devstore adds for tests and the CLI lives under ``{base}/_devstore/``.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstore import admin_endpoints, control_api, file_endpoints
from devstore.config import DevstoreConfig
from devstore.cost import LeakyBucket
from devstore.errors import DevstoreError, OAuthError
from devstore.oauth import TokenService
from devstore.records import STANDARD_LIMIT
from devstore.state import Store
from devstore.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)


# ---- errors ---------------------------------------------------------------------------------------------------


async def devstore_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, DevstoreError)
    return JSONResponse({"error": exc.message}, status_code=exc.status_code)


async def oauth_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, OAuthError)
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status_code
    )


class RequestIdMiddleware:
    """Adds ``X-Request-Id`` to every response, as Shopify does (apps log it with errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_devstore_app(config: DevstoreConfig, *, store: Store | None = None) -> Starlette:
    """Build the devstore application.

    Parameters:
        config: settings (see :class:`DevstoreConfig`).
        store: state to serve; a fresh in-memory :class:`Store` when omitted. Tests pass one to seed it
            directly; ``app.state.store`` exposes it either way.
    """
    state = store or Store()
    if config.public_url:
        state.base_url = config.public_url.rstrip("/")
    dispatcher = WebhookDispatcher(state, config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # a store handed in with shops already in it (seeded, or loaded by the CLI) is not overwritten
        if config.snapshot_path is not None and config.snapshot_path.exists() and not state.shops:
            state.load(config.snapshot_path)
            logger.info("devstore state loaded from %s", config.snapshot_path)
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()
            if config.snapshot_path is not None:
                state.save(config.snapshot_path)
                logger.info("devstore state saved to %s", config.snapshot_path)

    routes = [*admin_endpoints.routes, *file_endpoints.routes, *control_api.routes]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={DevstoreError: devstore_error, OAuthError: oauth_error},
        middleware=[Middleware(RequestIdMiddleware)],
    )
    app.state.config = config
    app.state.store = state
    app.state.dispatcher = dispatcher
    app.state.bucket = LeakyBucket(*STANDARD_LIMIT)  # each call names its shop's limit
    app.state.tokens = TokenService(state, config)
    return app
