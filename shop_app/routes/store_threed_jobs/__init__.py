"""Seed 000's 3D Jobs API: /store/threed-jobs, exactly as that document describes it.

Statuses are spoken in its vocabulary (pending, processing, completed, failed, cancelled); errors use its body
`{"success": false, "error", "type", "details"}`. Create, list and get are open (a storefront API, rate
limited per IP); `POST /store/threed-jobs/:id` (admin update) needs an API key with the admin scope.
Only jobs created through these routes are visible here.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shop_app.ratelimit import RateRule
from shop_app.routes.store_threed_jobs.bodies import FAMILY, MAX_FILES, PREFIX, STATUSES
from shop_app.routes.store_threed_jobs.endpoints import create_job, get_job, list_jobs, update_job
from shop_app.routes.store_threed_jobs.errors import (
    SeedError,
    method_not_allowed,
    not_found,
    rate_limit_body,
    render_error,
    seed_errors,
)
from shop_app.settings import Settings
from shop_app.web.body_limit import BodyRule, upload_bytes
from shop_app.web.family import ApiFamily

# A function endpoint without `methods` would be GET-only in Starlette: name every method.
OTHER_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
ALL_METHODS = ["GET", "HEAD", "POST", *OTHER_METHODS]

routes: list[BaseRoute] = [
    Route("/store/threed-jobs", seed_errors(create_job), methods=["POST"]),
    Route("/store/threed-jobs", seed_errors(list_jobs), methods=["GET"]),
    Route("/store/threed-jobs/{job_id}", seed_errors(get_job), methods=["GET"]),
    Route("/store/threed-jobs/{job_id}", seed_errors(update_job), methods=["POST"]),
    # Other methods on these paths, and other paths under /store/, answer in the seed's shape too (Starlette's
    # own 405/404 would go through the shared /api/v1-shaped handler). Listed after the real routes.
    # Not endpoints of their own: out of the OpenAPI document and of the Allow header (shop_app/web/methods.py).
    Route(
        "/store/threed-jobs",
        method_not_allowed("GET, HEAD, OPTIONS, POST"),
        methods=OTHER_METHODS,
        include_in_schema=False,
    ),
    Route(
        "/store/threed-jobs/{job_id}",
        method_not_allowed("GET, HEAD, OPTIONS, POST"),
        methods=OTHER_METHODS,
        include_in_schema=False,
    ),
    Route("/store/{rest:path}", not_found, methods=ALL_METHODS, include_in_schema=False),
]


def rate_rules(settings: Settings) -> list[RateRule]:
    if not settings.rate_limit_store:
        return []
    return [RateRule("store", PREFIX, settings.rate_limit_store, per="ip", error_body=rate_limit_body)]


family = ApiFamily(
    name=FAMILY,
    prefix=PREFIX,
    routes=routes,
    render_error=render_error,
    statuses=STATUSES,
    rate_rules=rate_rules,
    body_limits=[
        BodyRule("/store/threed-jobs", upload_bytes(MAX_FILES), frozenset({"POST"}), what="4 images")
    ],
    error_schema={
        "type": "object",
        "description": "seed 000's error body",
        "required": ["success", "error", "type", "details"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "error": {"type": "string"},
            "type": {"type": "string", "enum": sorted({*SeedError.TYPES.values(), "INTERNAL_ERROR"})},
            "details": {"type": "string", "nullable": True},
        },
    },
)
