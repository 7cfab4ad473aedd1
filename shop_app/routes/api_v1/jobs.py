"""/api/v1/jobs: create (uploads or URLs, Idempotency-Key), list, get (ETag), rename, delete, cancel, retry,
the model file, and the SSE stream."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.errors import Conflict, ValidationError
from shop_app.fetch import FetchError, FetchPolicy, check_url_early
from shop_app.jobs import commands
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.queries import Cursor, JobFilter
from shop_app.jobs.queries import list_jobs as query_jobs
from shop_app.jobs.results import job_result
from shop_app.jobs.submit import Images, Labels, SubmitRequest, find_for_owner_by_key, submit
from shop_app.jobs.views import JobView
from shop_app.models.jobs import CANCELED, FAILED, Job
from shop_app.routes.api_v1.common import (
    FAMILY,
    authenticate_first,
    invalid,
    job_headers,
    key_reused,
    owned_job,
    owner,
    params_from_fields,
    parse_statuses,
    request_fingerprint,
    run,
    snapshot,
    store_uploads,
    viewed_job,
)
from shop_app.web.auth import check_active_cap
from shop_app.web.db import in_db, notify
from shop_app.web.files import purge_files, stored_file_response
from shop_app.web.json_body import read_json
from shop_app.web.uploads import read_uploads

logger = logging.getLogger(__name__)

PAGE_DEFAULT, PAGE_MAX = 20, 50
MAX_FILES = 4  # images per job


async def _read_job_request(request: Request) -> tuple[dict[str, Any], list[Any], dict[str, Any], Any, Any]:
    """(inputs, uploads, params, labels, priority) from a JSON or multipart body."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await read_json(request, example='{"image_urls": ["https://..."]}')
        if not isinstance(body, dict):
            raise ValidationError("the JSON body must be an object")
        urls = body.get("image_urls", body.get("imageUrl"))
        if isinstance(urls, str):
            urls = [urls]
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError("params must be an object", details={"field": "params"})
        if body.get("prompt") and "prompt" not in params:
            params = {**params, "prompt": body["prompt"]}
        labels = {k: body.get(k) for k in ("name", "user_id", "session_id")}
        return {"image_urls": urls if urls is not None else []}, [], params, labels, body.get("priority", 0)
    uploads, fields = await read_uploads(request, field="files", max_files=MAX_FILES)
    labels = {k: fields.get(k) for k in ("name", "user_id", "session_id")}
    return {}, uploads, params_from_fields(fields), labels, fields.get("priority", 0)


def _check_urls(request: Request, urls: Any) -> None:
    # Refuse unfetchable URLs now, not after the job waited in the queue (host names: at fetch time).
    if not isinstance(urls, list):
        return
    policy = FetchPolicy.from_settings(request.state.settings)
    for url in urls:
        if isinstance(url, str):
            try:
                check_url_early(url, policy)
            except FetchError as err:
                raise ValidationError(
                    f"image URL {url[:200]!r} is refused: {err}",
                    details={"field": "image_urls", "url": url[:2048], "reason": err.code},
                ) from None


async def create_job(request: Request) -> Response:
    """Create a generation job from 1-4 uploaded images (multipart `files`) or JSON `image_urls`.
    ---
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [image_urls]
            properties:
              image_urls: {type: array, minItems: 1, maxItems: 4, items: {type: string, format: uri}}
              params: {type: object}
              prompt: {type: string}
              priority: {type: integer, minimum: -10, maximum: 10}
              name: {type: string, maxLength: 128}
              user_id: {type: string, maxLength: 128}
              session_id: {type: string, maxLength: 128}
        multipart/form-data:
          schema:
            type: object
            required: [files]
            properties:
              files: {type: array, minItems: 1, maxItems: 4, items: {type: string, format: binary}}
              priority: {type: integer, minimum: -10, maximum: 10}
              name: {type: string, maxLength: 128}
              user_id: {type: string, maxLength: 128}
              session_id: {type: string, maxLength: 128}
              prompt: {type: string}
              resolution: {type: integer}
              face_limit: {type: integer}
              texture_size: {type: integer}
              steps: {type: integer}
              guidance_scale: {type: number}
              size_hint_m: {type: number}
    description: Answers 202 at once with the job; poll `urls.get` or stream `urls.stream`. Honours
      `Idempotency-Key` (a repeat of the same request with the same key returns the first job; the same key
      with other images or params answers 422 IDEMPOTENCY_KEY_REUSED).
    responses:
      202: {description: the queued job}
      400: {description: VALIDATION_ERROR}
      401: {description: AUTHENTICATION_REQUIRED}
      413: {description: FILE_TOO_LARGE (more than 4 files or a file over 10 MB)}
      422: {description: IDEMPOTENCY_KEY_REUSED}
      429: {description: RATE_LIMIT_EXCEEDED or TOO_MANY_ACTIVE_JOBS}
    """
    idem = request.headers.get("idempotency-key")
    await authenticate_first(request)
    inputs, uploads, params, labels, priority = await _read_job_request(request)
    for label, value in labels.items():
        if value is not None and (not isinstance(value, str) or len(value) > 128):
            raise ValidationError(
                f"{label} must be a string of at most 128 characters", details={"field": label}
            )
    try:
        if isinstance(priority, bool) or (isinstance(priority, float) and priority != int(priority)):
            raise TypeError
        priority = int(priority)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("priority must be an integer", details={"field": "priority"}) from None
    if not -10 <= priority <= 10:
        raise ValidationError("priority must be between -10 and 10", details={"field": "priority"})
    try:
        canonical = normalize_params(params)  # refuse bad params before anything is stored
    except InvalidJobRequest as err:
        raise invalid(err) from None
    from_urls = "image_urls" in inputs
    if from_urls:
        _check_urls(request, inputs["image_urls"])
    sources = inputs["image_urls"] if from_urls else [hashlib.sha256(u.data).hexdigest() for u in uploads]
    fingerprint = request_fingerprint(sources, canonical, labels, priority)

    def replay(session: Session, who: ApiKeyOwner) -> Job | None:
        if not idem:
            return None
        existing = find_for_owner_by_key(session, owner=who, key=idem)
        if existing is not None and existing.meta.get("request_hash") not in (None, fingerprint):
            raise key_reused(existing)
        return existing

    if not from_urls:
        if idem:
            # A replay (or a reused key) must not store the files again.
            def precheck(session: Session) -> dict[str, Any] | None:
                found = replay(session, owner(session, request))
                return None if found is None else snapshot(request, session, found)

            first = await run(request, precheck)
            if first is not None:
                return JSONResponse(
                    first,
                    status_code=202,
                    headers={"Location": first["urls"]["get"], "Idempotent-Replayed": "true"},
                )
        inputs = {"image_keys": await store_uploads(request, uploads)}
    if from_urls and not isinstance(inputs["image_urls"], list):
        raise ValidationError("image_urls must be a list of strings", details={"field": "image_urls"})
    images = Images.from_urls(inputs["image_urls"]) if from_urls else Images.from_keys(inputs["image_keys"])

    def work(session: Session) -> tuple[dict[str, Any], bool, Job]:
        who = owner(session, request)
        existing = replay(session, who)
        if existing is not None:
            return snapshot(request, session, existing), True, existing
        check_active_cap(request, session, who)
        job = submit(
            session,
            SubmitRequest(
                family=FAMILY,
                owner=who,
                images=images,
                params=params,
                labels=Labels(**labels),
                priority=priority,
                idempotency_key=idem,
                max_attempts=request.state.settings.job_max_attempts,
                meta={"request_hash": fingerprint} if idem else {},
            ),
        )
        return snapshot(request, session, job), False, job

    body, replayed, job = await run(request, work, write=True)
    headers = {"Location": body["urls"]["get"], **job_headers(job)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=202, headers=headers)


async def list_jobs(request: Request) -> Response:
    """This key's jobs, newest first; filters status, user_id, session_id, batch_id; cursor pagination.
    ---
    responses:
      200: {description: '{"jobs": [...], "next_cursor": "..." | null}'}
    """
    q = request.query_params
    try:
        limit = min(PAGE_MAX, max(1, int(q.get("limit", PAGE_DEFAULT))))
    except ValueError:
        raise ValidationError("limit must be an integer") from None
    statuses = parse_statuses(q["status"]) if q.get("status") else None

    def work(session: Session) -> dict[str, Any]:
        cursor = Cursor.decode(q["cursor"]) if q.get("cursor") else None
        where = JobFilter(
            owner=owner(session, request),
            statuses=statuses,
            user_id=q.get("user_id"),
            session_id=q.get("session_id"),
            batch_id=q.get("batch_id"),
        )
        page = query_jobs(session, where, limit=limit, cursor=cursor)
        return {
            "object": "list",
            "jobs": [snapshot(request, session, job) for job in page.jobs],
            "next_cursor": page.next_cursor,
        }

    return JSONResponse(await run(request, work))


async def get_job(request: Request) -> Response:
    """One job: status, progress, stage, logs, queue position, ETA, its URLs, results with signed file URLs.
    ---
    responses:
      200: {description: the job}
      304: {description: unchanged since If-None-Match}
      404: {description: JOB_NOT_FOUND}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> tuple[dict[str, Any] | None, JobView]:
        job = viewed_job(session, owner(session, request), job_id)
        if request.headers.get("if-none-match") == f'"{job.version}"':
            return None, job
        return snapshot(request, session, job), job

    body, job = await run(request, work, poll=True)
    if body is None:
        return Response(status_code=304, headers=job_headers(job))
    return JSONResponse(body, headers=job_headers(job))


CANCEL_MESSAGES = {
    commands.CancelOutcome.CANCELED: "The job was canceled before it started.",
    commands.CancelOutcome.REQUESTED: "Cancellation requested; the job stops at its next checkpoint.",
    commands.CancelOutcome.ALREADY_FINISHED: "The job had already finished ({status}); nothing to cancel.",
}


async def cancel(request: Request) -> Response:
    """Cancel: queued → canceled; running → cancellation requested (202); finished → already_completed.
    ---
    responses:
      200: {description: '{"status": "canceled" | "already_completed", "job": {...}}'}
      202: {description: '{"status": "cancellation_requested", "job": {...}}'}
      404: {description: JOB_NOT_FOUND}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> tuple[commands.CancelOutcome, dict[str, Any]]:
        job = owned_job(session, owner(session, request), job_id)
        outcome = commands.cancel(session, job)
        return outcome, snapshot(request, session, job)

    outcome, body = await run(request, work, write=True)
    notify(request, job_id)
    return JSONResponse(
        {
            "id": job_id,
            "status": outcome.value,
            "message": CANCEL_MESSAGES[outcome].format(status=body["status"]),
            "job": body,
        },
        status_code=202 if outcome == commands.CancelOutcome.REQUESTED else 200,
    )


async def retry(request: Request) -> Response:
    """Queue a failed or canceled job again (a fresh round of attempts).
    ---
    responses:
      202: {description: the queued job}
      409: {description: the job is not failed or canceled}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> dict[str, Any]:
        job = owned_job(session, owner(session, request), job_id)
        if job.status not in {FAILED, CANCELED}:
            raise Conflict(
                f"only failed or canceled jobs can be retried; this job is {job.status}",
                code="INVALID_STATE",
                details={"status": job.status},
            )
        commands.retry(session, job)
        return snapshot(request, session, job)

    body = await run(request, work, write=True)
    notify(request, job_id)
    return JSONResponse(body, status_code=202)


async def update_job(request: Request) -> Response:
    """Rename a job: `{"name": "..."}`.
    ---
    requestBody:
      required: true
      content: {application/json: {schema: {type: object, required: [name], additionalProperties: false,
        properties: {name: {type: string, maxLength: 255, nullable: true}}}}}
    responses:
      200: {description: the job}
    """
    job_id = request.path_params["job_id"]
    await in_db(request, lambda session: owner(session, request))  # the key first, then the body
    body = await read_json(request, example='{"name": "My model"}')
    if not isinstance(body, dict) or set(body) - {"name"} or "name" not in body:
        raise ValidationError('only the name can be changed: send {"name": "..."}', details={"field": "name"})
    name = body["name"]
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise ValidationError("name must be a string of at most 255 characters", details={"field": "name"})

    def work(session: Session) -> dict[str, Any]:
        job = owned_job(session, owner(session, request), job_id)
        commands.rename(session, job, name)
        return snapshot(request, session, job)

    result = await run(request, work, write=True)
    notify(request, job_id)
    return JSONResponse(result)


async def delete_job(request: Request) -> Response:
    """Delete a finished job and the files no other job shares.
    ---
    responses:
      200: {description: '{"deleted": true, "purged_files": N}'}
      409: {description: the job is running (cancel it first)}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> list[str]:
        return commands.delete(session, owned_job(session, owner(session, request), job_id))

    orphaned = await run(request, work, write=True)
    purged = await run_in_threadpool(purge_files, request.state.storage, orphaned)
    return JSONResponse({"id": job_id, "deleted": True, "purged_files": purged})


async def download_model(request: Request) -> Response:
    """The job's GLB: the file itself (local storage) or a redirect to a signed URL (S3).
    ---
    responses:
      200: {description: model/gltf-binary}
      302: {description: redirect to a signed object-store URL}
      409: {description: MODEL_NOT_READY}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> str:
        job = owned_job(session, owner(session, request), job_id)
        result = job_result(session, job)
        if result is None:
            raise Conflict(
                f"the job is {job.status}; its model is available once it has succeeded",
                code="MODEL_NOT_READY",
                details={"status": job.status},
            )
        return result.glb_key

    glb_key = await run(request, work)
    return stored_file_response(request, glb_key, filename=f"{job_id}.glb")
