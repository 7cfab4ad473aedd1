"""Our canonical job API under /api/v1 (API keys: `X-API-Key` or `Authorization: Bearer`; errors
`{"detail": {code, message, details}}`; core statuses spoken as they are)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shop_app.ratelimit import RateRule
from shop_app.routes.api_v1 import batches, events, jobs, queue
from shop_app.routes.api_v1.common import FAMILY, PREFIX
from shop_app.settings import Settings
from shop_app.web.body_limit import BodyRule, upload_bytes
from shop_app.web.family import ApiFamily


def rate_limit_exempt(method: str, path: str) -> bool:
    # A long-lived SSE stream is one request; counting it would let streams starve the key's budget.
    return method == "GET" and path.endswith("/events")


def rate_rules(settings: Settings) -> list[RateRule]:
    if not settings.rate_limit_api:
        return []
    return [RateRule("api", f"{PREFIX}/", settings.rate_limit_api, per="key", exempt=rate_limit_exempt)]


routes: list[BaseRoute] = [
    Route("/api/v1/jobs", jobs.create_job, methods=["POST"]),
    Route("/api/v1/jobs", jobs.list_jobs, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}", jobs.get_job, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}", jobs.update_job, methods=["PATCH"]),
    Route("/api/v1/jobs/{job_id}", jobs.delete_job, methods=["DELETE"]),
    Route("/api/v1/jobs/{job_id}/cancel", jobs.cancel, methods=["POST"]),
    Route("/api/v1/jobs/{job_id}/retry", jobs.retry, methods=["POST"]),
    Route("/api/v1/jobs/{job_id}/events", events.job_events, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}/model", jobs.download_model, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}/status", queue.job_status_compat, methods=["GET"]),
    Route("/api/v1/batches", batches.create_batch, methods=["POST"]),
    Route("/api/v1/batches/{batch_id}", batches.get_batch, methods=["GET"]),
    Route("/api/v1/batches/{batch_id}/download", batches.download_batch, methods=["GET"]),
    Route("/api/v1/queue/stats", queue.queue_stats, methods=["GET"]),
    Route("/api/v1/queue/info", queue.queue_info, methods=["GET"]),
]

POST = frozenset({"POST"})
family = ApiFamily(
    name=FAMILY,
    prefix=PREFIX,
    routes=routes,
    rate_rules=rate_rules,
    body_limits=[
        BodyRule("/api/v1/jobs", upload_bytes(jobs.MAX_FILES), POST, what="4 images of 10 MB"),
        BodyRule("/api/v1/batches", upload_bytes(batches.MAX_BATCH_FILES), POST, what="25 images of 10 MB"),
    ],
)
