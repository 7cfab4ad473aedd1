"""SnapAsset's API (`/api/jobs`, `/api/sse/jobs/:id`, `/api/queue/...`) over the job core.

A SnapAsset job is a `platform_render` job: its "platforms" step renders a 3D model into platform-sized
images (`result.images`). The model is a finished Nu3D job's (`sourceJobId`) or a model id (`modelId`, the
`generationId` of an earlier result), or, without either, one the worker makes from the prompt (image provider,
then the engine). Auth: a bearer JWT from the operator's identity provider (the guide's Supabase token; any
issuer `NU3D_JWT_*` describes) or one of our API keys (`X-API-Key`, or as the bearer). Each JWT subject sees
its own jobs; an API key sees the jobs it created (an admin key sees all). The SSE stream is also open by
job id alone, because the guide's `EventSource` clients cannot send headers (ids carry 80 random bits).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shop_app.ratelimit import RateRule
from shop_app.settings import Settings
from shop_app.web.family import ApiFamily, family_errors

from . import events, jobs
from .wire import FAMILY, STATUSES, job_limit_body, rate_limit_body, render_error

PATHS = ("/api/jobs", "/api/sse/", "/api/queue/")
errors = family_errors(render_error)

routes: list[BaseRoute] = [
    Route("/api/jobs", errors(jobs.create_job), methods=["POST"]),
    Route("/api/jobs", errors(jobs.list_some), methods=["GET"]),
    Route("/api/jobs/{job_id}", errors(jobs.get_one), methods=["GET"]),
    Route("/api/jobs/{job_id}/retry", errors(jobs.retry), methods=["POST"]),
    Route("/api/jobs/{job_id}/cancel", errors(jobs.cancel), methods=["DELETE"]),
    Route("/api/sse/jobs/{job_id}", errors(events.stream), methods=["GET"]),
    Route("/api/queue/stats", errors(events.stats), methods=["GET"]),
    Route("/api/queue/clean", errors(events.clean), methods=["POST"]),
]


def _not_creation(method: str, path: str) -> bool:
    return not (method == "POST" and path.rstrip("/") == "/api/jobs")


def rate_rules(settings: Settings) -> list[RateRule]:
    rules = []
    if settings.rate_limit_snapasset:
        rules.append(
            RateRule("snapasset", PATHS, settings.rate_limit_snapasset, per="key", error_body=rate_limit_body)
        )
    if settings.rate_limit_snapasset_jobs:
        rules.append(
            RateRule(
                "snapasset-jobs",
                "/api/jobs",
                settings.rate_limit_snapasset_jobs,
                per="key",
                error_body=job_limit_body,
                exempt=_not_creation,
                stacks=True,
            )
        )
    return rules


family = ApiFamily(
    name=FAMILY,
    prefix="/api/",
    routes=routes,
    render_error=render_error,
    statuses=STATUSES,
    rate_rules=rate_rules,
    error_schema={
        "type": "object",
        "description": "SnapAsset's error body",
        "required": ["error", "message", "code", "timestamp"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "code": {"type": "string"},
            "timestamp": {"type": "string"},
            "retryAfter": {"type": "integer"},
        },
    },
)
