"""Image2Model's API (its document: ../shared/seeds/003_4c16804c3a80ef45.txt), served under /api/v1 next to
our own /api/v1 routes: batch uploads, single-model (re)generation, batch status and its SSE stream,
downloads (one model, or all as a ZIP), admin system info and cleanup, logs, health.

API keys as `Authorization: Bearer <key>` (or `X-API-Key`); admin endpoints need the admin scope. Errors
`{"detail": {"code", "message", "details"}}` with the document's codes; 60 requests a minute and 1000 an
hour per key (`NU3D_RATE_LIMIT_IMAGE2MODEL`) with `X-RateLimit-*` headers. File statuses: pending,
processing, completed, failed.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.errors import AppError
from shop_app.ratelimit import RateRule
from shop_app.routes.image2model import admin, downloads, status, uploads
from shop_app.routes.image2model.common import FAMILY, PREFIX, STATUSES
from shop_app.settings import Settings
from shop_app.web.body_limit import BodyRule, upload_bytes
from shop_app.web.family import ApiFamily, family_errors

# Paths the family's rate rule counts (health probes are left out).
LIMITED = tuple(f"{PREFIX}/{p}" for p in ("upload/", "models/", "status/", "download/", "admin/", "logs"))


def render_error(err: AppError) -> Response:
    """Our default body; an unexpected failure is the document's PROCESSING_ERROR."""
    code = "PROCESSING_ERROR" if err.code == "INTERNAL_ERROR" else err.code
    detail: dict[str, object] = {"code": code, "message": err.message}
    if err.details:
        detail["details"] = err.details
    return JSONResponse({"detail": detail}, status_code=err.status_code, headers=err.headers)


def rate_rules(settings: Settings) -> list[RateRule]:
    if not settings.rate_limit_image2model:
        return []
    return [RateRule("image2model", LIMITED, settings.rate_limit_image2model, per="key")]


_errors = family_errors(render_error)

routes: list[BaseRoute] = [
    Route(f"{PREFIX}/health", _errors(admin.health), methods=["GET"]),
    Route(f"{PREFIX}/health/ready", _errors(admin.ready), methods=["GET"]),
    Route(f"{PREFIX}/upload/batch", _errors(uploads.upload_batch), methods=["POST"]),
    Route(f"{PREFIX}/models/generate-single", _errors(uploads.generate_single), methods=["POST"]),
    Route(f"{PREFIX}/status/stream/{{job_id}}", _errors(status.stream_status), methods=["GET"]),
    Route(f"{PREFIX}/status/{{job_id}}", _errors(status.get_status), methods=["GET"]),
    Route(f"{PREFIX}/download/{{job_id}}/all", _errors(downloads.download_all), methods=["GET"]),
    Route(
        f"{PREFIX}/download/{{job_id}}/{{file_id}}/model", _errors(downloads.download_model), methods=["GET"]
    ),
    Route(f"{PREFIX}/admin/system-info", _errors(admin.system_info), methods=["GET"]),
    Route(f"{PREFIX}/admin/cleanup", _errors(admin.cleanup), methods=["POST"]),
    Route(f"{PREFIX}/logs", _errors(admin.logs), methods=["GET"]),
]

family = ApiFamily(
    name=FAMILY,
    prefix=PREFIX,
    routes=routes,
    render_error=render_error,
    statuses=STATUSES,
    rate_rules=rate_rules,
    body_limits=[
        BodyRule(
            f"{PREFIX}/upload/batch", upload_bytes(uploads.MAX_FILES), frozenset({"POST"}), what="25 images"
        )
    ],
)
