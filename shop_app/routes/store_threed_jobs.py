"""Seed 000's 3D Jobs API: /store/threed-jobs, exactly as that document describes it.

Statuses are spoken in its vocabulary (pending, processing, completed, failed, cancelled); errors use its body
`{"success": false, "error", "type", "details"}`. Create, list and get are open (a storefront API, rate
limited per IP); `POST /store/threed-jobs/:id` (admin update) needs an API key with the admin scope.
Only jobs created through these routes are visible here.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.apikeys import authenticate
from shop_app.errors import AppError
from shop_app.jobs import commands
from shop_app.jobs.errors import InvalidTransition, JobNotFound
from shop_app.jobs.images import reencode
from shop_app.jobs.owners import PrincipalOwner
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.queries import JobFilter, get_owned
from shop_app.jobs.queries import list_jobs as query_jobs
from shop_app.jobs.results import generation_of
from shop_app.jobs.stats import estimate
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from shop_app.ratelimit import RateRule
from shop_app.settings import Settings
from shop_app.web.auth import presented_key
from shop_app.web.db import in_db, notify
from shop_app.web.family import ApiFamily, family_errors
from shop_app.web.render import iso_ms, result_urls
from shop_app.web.uploads import read_uploads

logger = logging.getLogger(__name__)

FAMILY = "store"
PREFIX = "/store/"
# A storefront API: every client shares the family's space (no per-client ownership in the document).
STORE = PrincipalOwner(family=FAMILY)
STATUSES = {
    QUEUED: "pending",
    RUNNING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "cancelled",
}
# Words the list filter accepts (its own, plus the core's and the other families' long-accepted ones).
STATUS_WORDS: dict[str, frozenset[str]] = {
    "pending": frozenset({QUEUED}),
    "queued": frozenset({QUEUED}),
    "waiting": frozenset({QUEUED}),
    "wait": frozenset({QUEUED}),
    "delayed": frozenset({QUEUED}),
    "processing": frozenset({RUNNING}),
    "running": frozenset({RUNNING}),
    "active": frozenset({RUNNING}),
    "run": frozenset({RUNNING}),
    "completed": frozenset({SUCCEEDED}),
    "succeeded": frozenset({SUCCEEDED}),
    "done": frozenset({SUCCEEDED}),
    "failed": frozenset({FAILED, CANCELED}),
    "fail": frozenset({FAILED, CANCELED}),
    "cancelled": frozenset({CANCELED}),
    "canceled": frozenset({CANCELED}),
}
MAX_FILES = 4
# engine param -> the seed's form field it comes from
SEED_FIELD = {"resolution": "octree_resolution", "prompt": "caption"}
Endpoint = Callable[[Request], Awaitable[Response]]
DEFAULTS = {"steps": 20, "guidance_scale": 7.5, "octree_resolution": "256"}


class SeedError(AppError):
    """An error in seed 000's shape."""

    TYPES = {
        400: "INVALID_DATA",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "INVALID_DATA",  # no seed type for it; the request (its method) is what is wrong
        413: "INVALID_DATA",
        422: "INVALID_DATA",
        429: "FORBIDDEN",  # see RATE_LIMIT_TYPE
    }

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 400,
        details: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message, status_code=status_code, headers=headers)
        self.type = type_ or self.TYPES.get(status_code, "INTERNAL_ERROR")
        self.details_text = details

    def body(self) -> dict[str, Any]:
        return {"success": False, "error": self.message, "type": self.type, "details": self.details_text}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


# Seed 000 documents no type for "too many requests" (its types: INVALID_DATA, NOT_FOUND, UNAUTHORIZED,
# FORBIDDEN, INTERNAL_ERROR). FORBIDDEN is the closest: the server refuses this client for now; the request is
# neither malformed (INVALID_DATA) nor a server fault (INTERNAL_ERROR). The status stays 429 with Retry-After,
# and `error`/`details` say it is the rate limit.
RATE_LIMIT_TYPE = "FORBIDDEN"


def rate_limit_body(message: str, retry_after: int) -> dict[str, Any]:
    return {
        "success": False,
        "error": message,
        "type": RATE_LIMIT_TYPE,
        "details": f"rate limited: 60 requests per minute per IP address; retry after {retry_after} s",
    }


def _from_app_error(err: AppError) -> SeedError:
    detail = err.details
    text = json.dumps(detail) if isinstance(detail, dict) else (str(detail) if detail else None)
    return SeedError(err.message, status_code=err.status_code, details=text)


def _size_mb(size: int) -> str:
    return f"{size / 1024 / 1024:.2f}"


def _estimate_text(eta_s: float | None) -> str:
    if eta_s is None:
        return "2-5 minutes"
    low = max(1, math.floor(eta_s / 60))
    high = max(low + 1, math.ceil(eta_s * 1.5 / 60))
    return f"{low}-{high} minutes"


def _seed_params(fields: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(engine params, the request_params echoed in metadata)."""
    request_params: dict[str, Any] = {"caption": fields.get("caption") or None}
    try:
        request_params["steps"] = int(fields.get("steps") or DEFAULTS["steps"])
        request_params["guidance_scale"] = float(fields.get("guidance_scale") or DEFAULTS["guidance_scale"])
    except ValueError:
        raise SeedError(
            "steps must be a whole number and guidance_scale a number", details="steps=20, guidance_scale=7.5"
        ) from None
    octree = fields.get("octree_resolution") or DEFAULTS["octree_resolution"]
    if not octree.isdigit():
        raise SeedError('octree_resolution must be a number such as "256"', details="one of 128, 256, 384")
    request_params["octree_resolution"] = octree
    params = {
        "steps": request_params["steps"],
        "guidance_scale": request_params["guidance_scale"],
        "resolution": int(octree),
    }
    if request_params["caption"]:
        params["prompt"] = request_params["caption"]
    return params, request_params


def job_body(request: Request, session: Session, job: Job) -> dict[str, Any]:
    storage = request.state.storage
    seed = job.meta.get("seed000", {})
    model_url = None
    processing_ms = None
    engine_s = None
    generation = generation_of(session, job)
    if generation is not None:
        model_url = result_urls(generation, storage)["glb_url"]
        engine_s = generation.duration_s
    if job.started_at and job.finished_at and job.status == SUCCEEDED:
        processing_ms = int((job.finished_at - job.created_at).total_seconds() * 1000)
    uploaded = [
        {"url": storage.url(item["key"]), "filename": item["filename"], "size_mb": _size_mb(item["size"])}
        for item in seed.get("uploaded_images", [])
    ]
    stored = model_url is not None
    return {
        "id": job.id,
        "status": STATUSES[job.status],
        "prediction_id": f"gen_{job.generation_id}" if job.generation_id else None,
        "model_url": model_url,
        # No external provider: the original is the stored file itself.
        "original_model_url": model_url,
        "uploaded_images": uploaded,
        "compression_stats": seed.get("compression_stats", []),
        "processing_time": processing_ms,
        "error_message": job.error_message if job.status in {FAILED} or job.status == "canceled" else None,
        "created_at": iso_ms(job.created_at),
        "updated_at": iso_ms(job.updated_at),
        "metadata": {
            "request_params": seed.get("request_params", {}),
            "is_uploaded_to_storage": stored,
            "synexa_processing_time": engine_s,
            "upload_info": {
                "attempted_upload": job.status == SUCCEEDED,
                "upload_successful": stored,
                "fallback_used": False,
                "storage_url": model_url,
                "external_url": model_url,
            },
            **({"admin": job.meta["admin"]} if job.meta.get("admin") else {}),
        },
    }


def _seed_job(session: Session, job_id: str) -> Job:
    try:
        return get_owned(session, STORE, job_id)
    except JobNotFound:
        raise SeedError(f"Job {job_id} not found", status_code=404, details="check the job id") from None


async def _run(request: Request, work: Any, *, write: bool = False) -> Any:
    try:
        return await in_db(request, work, write=write)
    except SeedError:
        raise
    except AppError as err:
        raise _from_app_error(err) from None


async def create_job(request: Request) -> Response:
    """Create a 3D job from up to 4 images (multipart `files`) plus caption, steps, guidance_scale,
    octree_resolution, user_id, session_id, username.
    ---
    responses:
      202: {description: '{"success": true, "job_id": ..., "status": "pending", "polling_endpoint": ...}'}
      400: {description: INVALID_DATA}
      413: {description: a file over 10 MB, or more than 4 files}
    """
    try:
        uploads, fields = await read_uploads(request, field="files", min_files=0, max_files=MAX_FILES)
    except AppError as err:
        raise _from_app_error(err) from None
    if len(uploads) != MAX_FILES:
        # The seed documents the request as "files=[4 image files]" (one object, four angles).
        raise SeedError(
            f"{len(uploads)} image file(s) received; send exactly 4 image files (JPEG or PNG) in the "
            "'files' field, one per angle of the object",
            details="files=[4 image files]",
        )
    params, request_params = _seed_params(fields)
    try:
        normalize_params(params)  # refuse bad numbers before anything is stored
    except InvalidJobRequest as err:
        field = SEED_FIELD.get(err.field or "", err.field)
        message = str(err).replace(err.field, field) if err.field and field else str(err)
        raise SeedError(message, details=f"field: {field}" if field else None) from None
    for label in ("user_id", "session_id", "username"):
        if len(fields.get(label) or "") > 128:
            raise SeedError(f"{label} is longer than 128 characters")
    storage = request.state.storage

    def compress() -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
        keys, uploaded, stats = [], [], []
        for index, upload in enumerate(uploads, start=1):
            small = reencode(upload.data, upload.info)
            key = storage.put(small.data, suffix=small.suffix)
            stem = upload.filename.rsplit(".", 1)[0][:80] or f"image{index}"
            filename = f"compressed_{index}_{stem}{small.suffix}"
            keys.append(key)
            uploaded.append({"key": key, "filename": filename, "size": len(small.data)})
            saved = 100.0 * (1 - len(small.data) / small.original_size) if small.original_size else 0.0
            stats.append(
                {
                    "filename": filename,
                    "original_size_mb": _size_mb(small.original_size),
                    "compressed_size_mb": _size_mb(len(small.data)),
                    "compression_ratio": f"{saved:.1f}%",
                }
            )
        return keys, uploaded, stats

    keys, uploaded, stats = await run_in_threadpool(compress)

    def work(session: Session) -> tuple[Job, float | None]:
        try:
            job = submit(
                session,
                SubmitRequest(
                    family=FAMILY,
                    owner=STORE,
                    images=Images.from_keys(keys),
                    params=params,
                    labels=Labels(
                        name=request_params["caption"],
                        user_id=fields.get("user_id") or None,
                        session_id=fields.get("session_id") or None,
                        username=fields.get("username") or None,
                    ),
                    max_attempts=request.state.settings.job_max_attempts,
                    meta={
                        "seed000": {
                            "uploaded_images": uploaded,
                            "compression_stats": stats,
                            "request_params": request_params,
                        }
                    },
                ),
            )
        except InvalidJobRequest as err:
            raise SeedError(str(err), details=f"field: {err.field}" if err.field else None) from None
        return job, estimate(session, job).eta_s

    job, eta = await _run(request, work, write=True)
    return JSONResponse(
        {
            "success": True,
            "message": "3D model generation job started",
            "job_id": job.id,
            "status": STATUSES[job.status],
            "estimated_completion_time": _estimate_text(eta),
            "polling_endpoint": f"/store/threed-jobs/{job.id}",
        },
        status_code=202,
    )


async def list_jobs(request: Request) -> Response:
    """Jobs created here, newest first; filters status, user_id, session_id; limit (≤100) and offset.
    ---
    responses:
      200: {description: '{"success": true, "jobs": [...], "count": N}'}
    """
    q = request.query_params
    try:
        limit = min(100, max(1, int(q.get("limit", 50))))
        offset = max(0, int(q.get("offset", 0)))
    except ValueError:
        raise SeedError("limit and offset must be whole numbers") from None
    statuses = None
    if q.get("status"):
        statuses = STATUS_WORDS.get(q["status"].lower())
        if not statuses:
            raise SeedError(
                f"unknown status {q['status']!r}",
                details="use pending, processing, completed, failed or cancelled",
            )

    def work(session: Session) -> dict[str, Any]:
        where = JobFilter(
            owner=STORE,
            family=FAMILY,
            statuses=statuses,
            user_id=q.get("user_id") or None,
            session_id=q.get("session_id") or None,
        )
        page = query_jobs(session, where, limit=limit, offset=offset)
        jobs = [job_body(request, session, job) for job in page.jobs]
        return {"success": True, "jobs": jobs, "count": len(jobs)}

    return JSONResponse(await _run(request, work))


async def get_job(request: Request) -> Response:
    """Status and details of one job.
    ---
    responses:
      200: {description: '{"success": true, "job": {...}}'}
      404: {description: NOT_FOUND}
    """
    job_id = request.path_params["job_id"]
    return JSONResponse(
        await _run(request, lambda s: {"success": True, "job": job_body(request, s, _seed_job(s, job_id))})
    )


ADMIN_STATUSES = {"cancelled", "pending", "failed"}


async def update_job(request: Request) -> Response:
    """Admin update (API key with the admin scope): `status` (cancelled | pending to re-queue | failed),
    `error_message`, `metadata` (merged, shown under metadata.admin).
    ---
    responses:
      200: {description: '{"success": true, "job": {...}}'}
      401: {description: UNAUTHORIZED}
      403: {description: FORBIDDEN}
    """
    job_id = request.path_params["job_id"]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SeedError("the body must be JSON", details='e.g. {"status": "cancelled"}') from None
    if not isinstance(body, dict) or not body:
        raise SeedError(
            "the body must be a non-empty JSON object", details="fields: status, error_message, metadata"
        )
    unknown = set(body) - {"status", "error_message", "metadata"}
    if unknown:
        raise SeedError(
            f"unknown field(s): {', '.join(sorted(unknown))}",
            details="fields: status, error_message, metadata",
        )
    status = body.get("status")
    if status is not None and status not in ADMIN_STATUSES:
        raise SeedError(
            f"status must be one of {', '.join(sorted(ADMIN_STATUSES))}", details=f"got {status!r}"
        )
    if "metadata" in body and not isinstance(body["metadata"], dict):
        raise SeedError("metadata must be an object")
    if "error_message" in body and not isinstance(body["error_message"], str | None):
        raise SeedError("error_message must be a string")
    presented = presented_key(request)

    def work(session: Session) -> dict[str, Any]:
        try:
            key = authenticate(session, presented, scope="admin")
        except AppError as err:
            if err.status_code == 403:
                raise SeedError(
                    "Insufficient permissions", status_code=403, details="this API key lacks the admin scope"
                ) from None
            detail = "the API key is not valid" if presented else "send an admin API key"
            raise SeedError("Authentication required", status_code=401, details=detail) from None
        job = _seed_job(session, job_id)
        log = f"updated by admin key #{key.id}"
        try:
            if status == "cancelled":
                commands.cancel(session, job)
            elif status == "pending":
                commands.retry(session, job, log=f"queued again by admin key #{key.id}")
            elif status == "failed":
                message = body.get("error_message") or "marked failed by an administrator"
                commands.fail(session, job, message=message, log=f"marked failed by admin key #{key.id}")
        except InvalidTransition as err:
            hint = "status: cancelled" if status == "failed" else None
            raise SeedError(str(err), details=hint) from None
        rewording = body.get("error_message") if "error_message" in body and status != "failed" else None
        admin_meta = (
            {"admin": {**job.meta.get("admin", {}), **body["metadata"]}} if "metadata" in body else None
        )
        commands.annotate(session, job, log=log, meta=admin_meta, error_message=rewording)
        return {"success": True, "job": job_body(request, session, job)}

    result = await _run(request, work, write=True)
    notify(request, job_id)
    return JSONResponse(result)


def render_error(err: AppError) -> Response:
    """Every error from a /store/ route in seed 000's shape (the family's renderer)."""
    if isinstance(err, SeedError):
        return err.response()
    if err.code == "INTERNAL_ERROR":
        request_id = (err.details or {}).get("request_id")
        return SeedError(
            "Internal server error",
            status_code=500,
            details=f"quote request id {request_id} when reporting it",
        ).response()
    return _from_app_error(err).response()


seed_errors = family_errors(render_error)


def _method_not_allowed(allowed: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return SeedError(
            f"{request.method} is not supported on {request.url.path}",
            status_code=405,
            details=f"allowed methods: {allowed}",
            headers={"Allow": allowed},
        ).response()

    return endpoint


async def _not_found(request: Request) -> Response:
    return SeedError(
        f"{request.url.path} not found",
        status_code=404,
        details="endpoints: /store/threed-jobs and /store/threed-jobs/:id",
    ).response()


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
    Route("/store/threed-jobs", _method_not_allowed("GET, HEAD, POST"), methods=OTHER_METHODS),
    Route("/store/threed-jobs/{job_id}", _method_not_allowed("GET, HEAD, POST"), methods=OTHER_METHODS),
    Route("/store/{rest:path}", _not_found, methods=ALL_METHODS),
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
)
