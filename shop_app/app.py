"""The composition root: create_app(settings) builds the Starlette app; the lifespan owns shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

import webhooks.routes
from shop_app.auth_jwt import JwtVerifier
from shop_app.db import make_engine
from shop_app.jobs.events import JobBroadcaster
from shop_app.jobs.image_provider import OpenAIImages
from shop_app.logbuffer import LogBuffer
from shop_app.ratelimit import RateLimitMiddleware, storage_uri
from shop_app.routes import (
    api_v1,
    auth,
    embedded,
    embedded_admin,
    embedded_api,
    files,
    generate3d,
    health,
    hydrilla,
    image2model,
    openapi,
    product_feed,
    snapasset,
    store_threed_jobs,
)
from shop_app.settings import Settings
from shop_app.shopify.services import make_shopify_services
from shop_app.storage import Storage, make_storage
from shop_app.web.body_limit import BodyLimitMiddleware, BodyRule
from shop_app.web.db import db_thread_limiter
from shop_app.web.errors import EXCEPTION_HANDLERS, unhandled_error_response
from shop_app.web.family import ApiFamily, path_owner
from shop_app.web.methods import AllowHeaderMiddleware
from shop_app.web.previews import PreviewQueue
from shop_app.web.readiness import CHECKS
from shop_app.web.request_id import RequestIdMiddleware
from shop_app.web.routing import IndexedRouter
from shop_app.web.state import AppState

logger = logging.getLogger(__name__)

# The job API families, each one module (see shop_app/web/family.py, "How to add an API family").
# A family whose paths sit under another's prefix comes first (its routes and rate rules match first).
FAMILIES: list[ApiFamily] = [
    image2model.family,  # its paths sit under /api/v1: before api_v1
    api_v1.family,
    store_threed_jobs.family,
    snapasset.family,
    product_feed.family,
    generate3d.family,
    hydrilla.api3d_family,
    hydrilla.backend_family,  # at the root by default: last, after every family with a prefix
]


def create_app(settings: Settings, *, storage: Storage | None = None) -> Starlette:
    """Build the web app.

    Parameters:
        settings: the process settings (see shop_app.settings).
        storage: a file store to use instead of the one settings describe (tests pass one).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:  # noqa: ARG001
        db = make_engine(settings)
        store = storage if storage is not None else make_storage(settings)
        job_events = JobBroadcaster()
        job_events.bind(asyncio.get_running_loop())
        log_buffer = LogBuffer()
        log_buffer.install()
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
            state = AppState(
                settings=settings,
                db=db,
                storage=store,
                http=http,
                shopify=make_shopify_services(settings, db, http),
                job_events=job_events,
                jwt_verifier=JwtVerifier.from_settings(settings),
                readiness_checks=dict(CHECKS),
                log_buffer=log_buffer,
                image_provider=OpenAIImages.from_settings(settings),
                previews=PreviewQueue(settings.image_api_concurrency),
                db_threads=db_thread_limiter(db),
            )
            for family in FAMILIES:
                state.readiness_checks.update(family.readiness)
            logger.info("nu3d web app started (database=%s, storage=%r)", db.url.get_backend_name(), store)
            try:
                yield state.scope_state()
            finally:
                log_buffer.uninstall()
                db.dispose()

    routes: list[BaseRoute] = [
        *health.routes,
        *openapi.routes,
        *files.routes,
        *embedded_api.routes,  # before embedded's /app/{page:path}
        *embedded_admin.routes,
        *embedded.routes,
        *auth.routes,
        Mount("/webhooks", routes=webhooks.routes.routes),
        *(route for family in FAMILIES for route in family.mounted_routes(settings)),
        # the admin shell's own scripts and vendored viewer (served by us: no third-party CDN, works offline)
        Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    rate_rules = [rule for family in FAMILIES for rule in family.rate_rules(settings)]
    middleware = [
        Middleware(RequestIdMiddleware, on_error=unhandled_error_response),
        Middleware(embedded.EmbeddedHeadersMiddleware, admin_base=settings.shopify_admin_base),
        Middleware(RateLimitMiddleware, rules=rate_rules, storage=storage_uri(settings.redis_url)),
        Middleware(AllowHeaderMiddleware, routes=routes),
        Middleware(
            BodyLimitMiddleware,
            rules=[
                *(rule for family in FAMILIES for rule in family.body_limits),
                # Shopify's payloads (a product with many variants) can pass 1 MB.
                BodyRule("/webhooks/.*", 10 * 1024 * 1024, frozenset({"POST"})),
            ],
            owner_of=path_owner(FAMILIES, settings),
        ),
    ]
    app = Starlette(middleware=middleware, exception_handlers=EXCEPTION_HANDLERS)
    # Starlette builds its own Router; ours is the same router, with an index of which routes a path can
    # match (shop_app/web/routing.py). Set before the first request builds the middleware stack around it.
    app.router = IndexedRouter(routes, lifespan=lifespan)
    app.state.openapi_document = openapi.build_document(
        routes,
        owner_of=path_owner(FAMILIES, settings),
    )
    return app
