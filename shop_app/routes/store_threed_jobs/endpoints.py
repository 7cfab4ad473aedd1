"""The four documented endpoints: create, list, get, admin update."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.apikeys import authenticate
from shop_app.errors import AppError
from shop_app.jobs import commands
from shop_app.jobs.errors import InvalidTransition
from shop_app.jobs.images import reencode
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.queries import JobFilter
from shop_app.jobs.queries import list_jobs as query_jobs
from shop_app.jobs.stats import estimate
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models import ApiKey
from shop_app.models.jobs import Job
from shop_app.routes.store_threed_jobs.bodies import (
    FAMILY,
    MAX_FILES,
    SEED_FIELD,
    STATUS_WORDS,
    STATUSES,
    STORE,
    estimate_text,
    job_body,
    run,
    seed_job,
    seed_params,
    size_mb,
)
from shop_app.routes.store_threed_jobs.errors import SeedError, from_app_error
from shop_app.web.auth import presented_key
from shop_app.web.db import notify
from shop_app.web.json_body import read_json
from shop_app.web.uploads import read_uploads


async def create_job(request: Request) -> Response:
    """Create a 3D job from up to 4 images (multipart `files`) plus caption, steps, guidance_scale,
    octree_resolution, user_id, session_id, username.
    ---
    requestBody:
      required: true
      content:
        multipart/form-data:
          schema:
            required: [files]
            properties:
              files: {type: array, minItems: 4, maxItems: 4, items: {format: binary, type: string}}
              caption: {type: string}
              steps: {type: integer, minimum: 1, maximum: 100}
              guidance_scale: {type: number, minimum: 0, maximum: 50}
              octree_resolution: {type: string, enum: ["128", "256", "384"]}
              user_id: {type: string, maxLength: 128}
              session_id: {type: string, maxLength: 128}
              username: {type: string, maxLength: 128}
    responses:
      202: {description: '{"success": true, "job_id": ..., "status": "pending", "polling_endpoint": ...}'}
      400: {description: INVALID_DATA}
      413: {description: a file over 10 MB, or more than 4 files}
    """
    try:
        uploads, fields = await read_uploads(request, field="files", min_files=0, max_files=MAX_FILES)
    except AppError as err:
        raise from_app_error(err) from None
    if len(uploads) != MAX_FILES:
        # The seed documents the request as "files=[4 image files]" (one object, four angles).
        raise SeedError(
            f"{len(uploads)} image file(s) received; send exactly 4 image files (JPEG or PNG) in the "
            "'files' field, one per angle of the object",
            details="files=[4 image files]",
        )
    params, request_params = seed_params(fields)
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
                    "original_size_mb": size_mb(small.original_size),
                    "compressed_size_mb": size_mb(len(small.data)),
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

    job, eta = await run(request, work, write=True)
    return JSONResponse(
        {
            "success": True,
            "message": "3D model generation job started",
            "job_id": job.id,
            "status": STATUSES[job.status],
            "estimated_completion_time": estimate_text(eta),
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

    return JSONResponse(await run(request, work))


async def get_job(request: Request) -> Response:
    """Status and details of one job.
    ---
    responses:
      200: {description: '{"success": true, "job": {...}}'}
      404: {description: NOT_FOUND}
    """
    job_id = request.path_params["job_id"]
    return JSONResponse(
        await run(request, lambda s: {"success": True, "job": job_body(request, s, seed_job(s, job_id))})
    )


ADMIN_STATUSES = {"cancelled", "pending", "failed"}


def _admin_key(session: Session, presented: str | None) -> ApiKey:
    try:
        return authenticate(session, presented, scope="admin")
    except AppError as err:
        if err.status_code == 403:
            raise SeedError(
                "Insufficient permissions", status_code=403, details="this API key lacks the admin scope"
            ) from None
        detail = "the API key is not valid" if presented else "send an admin API key"
        raise SeedError("Authentication required", status_code=401, details=detail) from None


async def update_job(request: Request) -> Response:
    """Admin update (API key with the admin scope): `status` (cancelled | pending to re-queue | failed),
    `error_message`, `metadata` (merged, shown under metadata.admin).
    ---
    security: [{ApiKey: []}, {Bearer: []}]
    requestBody:
      required: true
      content:
        application/json:
          schema:
            minProperties: 1
            type: object
            additionalProperties: false
            properties:
              status: {type: string, enum: [cancelled, pending, failed]}
              error_message: {type: string, nullable: true}
              metadata: {type: object}
    responses:
      200: {description: '{"success": true, "job": {...}}'}
      401: {description: UNAUTHORIZED}
      403: {description: FORBIDDEN}
    """
    job_id = request.path_params["job_id"]
    presented = presented_key(request)
    await run(request, lambda session: _admin_key(session, presented))  # the key first, then the body
    try:
        body = await read_json(request, example='{"status": "cancelled"}')
    except AppError as err:
        raise SeedError(err.message, details='e.g. {"status": "cancelled"}') from None
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
    if status is not None and (not isinstance(status, str) or status not in ADMIN_STATUSES):
        raise SeedError(
            f"status must be one of {', '.join(sorted(ADMIN_STATUSES))}", details=f"got {status!r}"
        )
    if "metadata" in body and not isinstance(body["metadata"], dict):
        raise SeedError("metadata must be an object")
    if "error_message" in body and not isinstance(body["error_message"], str | None):
        raise SeedError("error_message must be a string")

    def work(session: Session) -> dict[str, Any]:
        key = _admin_key(session, presented)
        job = seed_job(session, job_id)
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

    result = await run(request, work, write=True)
    notify(request, job_id)
    return JSONResponse(result)
