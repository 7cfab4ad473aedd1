"""The composition root: create_app(settings) builds the Starlette app; the lifespan owns shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

import webhooks.routes
from shop_app.db import make_engine
from shop_app.errors import EXCEPTION_HANDLERS, unhandled_error_response
from shop_app.jobs.events import JobBroadcaster
from shop_app.ratelimit import RateLimitMiddleware, RateRule, storage_uri
from shop_app.request_context import RequestIdMiddleware
from shop_app.routes import (
    auth,
    embedded,
    embedded_admin,
    embedded_api,
    files,
    health,
    jobs_api,
    openapi,
    product_feed_api,
    seed_jobs,
)
from shop_app.settings import Settings
from shop_app.shopify.services import make_shopify_services
from shop_app.storage import Storage, make_storage

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, storage: Storage | None = None) -> Starlette:
    """Build the web app.

    Parameters:
        settings: the process settings (see shop_app.settings).
        storage: a file store to use instead of the one settings describe (tests pass one).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:  # noqa: ARG001
        db = make_engine(settings)
        store = storage if storage is not None else make_storage(settings)
        job_events = JobBroadcaster()
        job_events.bind(asyncio.get_running_loop())
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as http:
            state: dict[str, Any] = {
                "settings": settings,
                "db": db,
                "storage": store,
                "http": http,
                "shopify": make_shopify_services(settings, db, http),
                "job_events": job_events,
                "readiness_checks": {
                    "database": health.database_check,
                    "storage": health.storage_check,
                    "queue": jobs_api.queue_check,
                },
            }
            logger.info("nu3d web app started (database=%s, storage=%r)", db.url.get_backend_name(), store)
            try:
                yield state
            finally:
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
        *jobs_api.routes,
        *seed_jobs.routes,
        *product_feed_api.routes,
        # the admin shell's own scripts and vendored viewer (served by us: no third-party CDN, works offline)
        Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    rate_rules = [
        rule
        for rule in (
            RateRule(
                "store",
                "/store/",
                settings.rate_limit_store,
                per="ip",
                error_body=seed_jobs.seed_rate_limit_body,
            ),
            RateRule(
                "api", "/api/v1/", settings.rate_limit_api, per="key", exempt=jobs_api.rate_limit_exempt
            ),
        )
        if rule.limit
    ]
    middleware = [
        Middleware(RequestIdMiddleware, on_error=unhandled_error_response),
        Middleware(embedded.EmbeddedHeadersMiddleware, admin_base=settings.shopify_admin_base),
        Middleware(RateLimitMiddleware, rules=rate_rules, storage=storage_uri(settings.redis_url)),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
