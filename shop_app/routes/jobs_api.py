"""The canonical job API under /api/v1 (API-key auth; error body `{"detail": {code, message, details}}`)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json
import logging
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from shop_app.apikeys import find_api_key, key_has_scope
from shop_app.db import begin_immediate, session_scope
from shop_app.errors import (
    AppError,
    AuthenticationRequired,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationError,
)
from shop_app.fetch import FetchError, FetchPolicy, check_url_early
from shop_app.jobs import queue
from shop_app.jobs.intake import read_uploads
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.views import SEED002_STATUS, SEED004_STATUS, STATUS_ALIASES, iso, job_snapshot
from shop_app.models import ApiKey
from shop_app.models.base import utcnow
from shop_app.models.jobs import (
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    Generation,
    Job,
    JobBatch,
)
from shop_app.storage import LocalStorage, ObjectNotFound

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH_FILES = 25
PAGE_DEFAULT, PAGE_MAX = 20, 50
SSE_POLL_S = 0.5
LAST_USED_EVERY_S = 60
PARAM_FIELDS = (
    "prompt",
    "resolution",
    "face_limit",
    "texture_size",
    "steps",
    "guidance_scale",
    "size_hint_m",
)


# ---------------------------------------------------------------------------------------------- helpers


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def authenticate(session: Session, request: Request, scope: str = "jobs") -> ApiKey:
    presented = presented_key(request)
    if not presented:
        raise AuthenticationRequired(
            "an API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>' "
            "(create one with: nu3d apikey create)"
        )
    # touch=False: last_used_at is written by _note_key_use, throttled.
    key = find_api_key(session=session, presented=presented, touch=False)
    if key is None:
        raise AuthenticationRequired("the API key is not valid (unknown or revoked)", code="INVALID_API_KEY")
    if not key_has_scope(key, scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope", code="INVALID_API_KEY")
    _note_key_use(session, request, key)
    return key


def _note_key_use(session: Session, request: Request, key: ApiKey) -> None:
    # last_used_at is refreshed at most once a minute: writing it on every poll would turn each GET into a
    # write that all requests with this key queue behind. Reads do it in their own short transaction;
    # a request that already holds the write lock does it in its own transaction.
    now = utcnow()
    if key.last_used_at is not None and (now - key.last_used_at).total_seconds() < LAST_USED_EVERY_S:
        return
    if session.info.get("write"):
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))  # type: ignore[arg-type]
        return
    try:
        with session_scope(request.state.db) as session:
            begin_immediate(session)
            session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))  # type: ignore[arg-type]
    except SQLAlchemyError as err:
        logger.warning("could not record the use of API key #%s: %s", key.id, str(err).splitlines()[0])


def _is_admin(key: ApiKey) -> bool:
    return "admin" in key.scopes.split()


def _owned_job(session: Session, key: ApiKey, job_id: str) -> Job:
    job = session.get(Job, job_id)
    # Someone else's job answers 404 like a missing one: ids must not be probeable.
    if job is None or (not _is_admin(key) and job.api_key_id != key.id):
        raise NotFound(f"no job {job_id!r}", code="JOB_NOT_FOUND")
    return job


async def in_db(request: Request, work: Callable[[Session], T], *, write: bool = False) -> T:
    """Run `work` with a session (one transaction) in the thread pool.

    `write=True` takes SQLite's write lock first (BEGIN IMMEDIATE): a transaction that reads and then writes
    would otherwise fail with "database is locked" when another writer got in between."""

    def run() -> T:
        with session_scope(request.state.db) as session:
            if write:
                begin_immediate(session)
                session.info["write"] = True
            return work(session)

    return await run_in_threadpool(run)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _snapshot(request: Request, session: Session, job: Job) -> dict[str, Any]:
    return job_snapshot(session, job, storage=request.state.storage, base_url=_base_url(request))


def _notify(request: Request, job_id: str) -> None:
    events = getattr(request.state, "job_events", None)
    if events is not None:
        events.notify(job_id)


def _job_headers(job: Job) -> dict[str, str]:
    headers = {"ETag": f'"{job.version}"'}
    if job.status not in TERMINAL:
        headers["Retry-After"] = "2" if job.status == RUNNING else "5"
    return headers


def _params_from_fields(fields: dict[str, str]) -> dict[str, Any]:
    return {name: fields[name] for name in PARAM_FIELDS if fields.get(name) not in (None, "")}


def _check_active_cap(request: Request, session: Session, key: ApiKey, adding: int = 1) -> None:
    cap = request.state.settings.job_max_active_per_key
    active = queue.active_job_count(session, api_key_id=key.id)
    if active + adding > cap:
        raise RateLimited(
            f"this API key has {active} unfinished jobs; the limit is {cap}. Wait for some to finish.",
            code="TOO_MANY_ACTIVE_JOBS",
            details={"active_jobs": active, "limit": cap},
            headers={"Retry-After": "10"},
        )


async def authenticate_first(request: Request, *, adding: int = 1) -> None:
    """Authenticate (and check the key's active-jobs cap) before the body is read: an anonymous or bogus
    request must not get to upload anything into storage. The write transaction checks both again."""

    def check(session: Session) -> None:
        key = authenticate(session, request)
        _check_active_cap(request, session, key, adding=adding)

    await in_db(request, check)


async def store_uploads(request: Request, uploads: list[Any]) -> list[str]:
    # storage.put is blocking I/O (disk or S3): keep it off the event loop.
    storage = request.state.storage
    return await run_in_threadpool(lambda: [storage.put(u.data, suffix=u.info.suffix) for u in uploads])


def request_fingerprint(
    sources: list[str], params: dict[str, Any], labels: dict[str, Any], priority: int
) -> str:
    """What an Idempotency-Key is bound to: the images (SHA-256 of each file, or the URLs), the canonical
    params, labels and priority."""
    payload = {"images": sources, "params": params, "labels": labels, "priority": priority}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _invalid(err: InvalidJobRequest) -> ValidationError:
    return ValidationError(str(err), details={"field": err.field} if err.field else None)


def rate_limit_exempt(method: str, path: str) -> bool:
    # A long-lived SSE stream is one request; counting it would let streams starve the key's budget.
    return method == "GET" and path.endswith("/events")


async def queue_check(request: Request) -> None:
    """Readiness: the job table answers (migrated and reachable)."""

    def probe() -> None:
        with session_scope(request.state.db) as session:
            session.exec(select(func.count()).select_from(Job).where(Job.status == QUEUED)).one()

    await run_in_threadpool(probe)


# ------------------------------------------------------------------------------------------------- jobs


async def create_job(request: Request) -> Response:
    """Create a generation job from 1-4 uploaded images (multipart `files`) or JSON `image_urls`.
    ---
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
    content_type = request.headers.get("content-type", "")
    idem = request.headers.get("idempotency-key")
    uploads: list[Any] = []
    inputs: dict[str, Any] = {}
    await authenticate_first(request)
    if content_type.startswith("application/json"):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValidationError("the JSON body must be an object")
        urls = body.get("image_urls", body.get("imageUrl"))
        if isinstance(urls, str):
            urls = [urls]
        inputs = {"image_urls": urls if urls is not None else []}
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ValidationError("params must be an object", details={"field": "params"})
        if body.get("prompt") and "prompt" not in params:
            params = {**params, "prompt": body["prompt"]}
        labels = {k: body.get(k) for k in ("name", "user_id", "session_id")}
        priority = body.get("priority", 0)
    else:
        uploads, fields = await read_uploads(request, field="files", max_files=4)
        params = _params_from_fields(fields)
        labels = {k: fields.get(k) for k in ("name", "user_id", "session_id")}
        priority = fields.get("priority", 0)
    for label, value in labels.items():
        if value is not None and (not isinstance(value, str) or len(value) > 128):
            raise ValidationError(
                f"{label} must be a string of at most 128 characters", details={"field": label}
            )
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        raise ValidationError("priority must be an integer", details={"field": "priority"}) from None
    if not -10 <= priority <= 10:
        raise ValidationError("priority must be between -10 and 10", details={"field": "priority"})
    try:
        canonical = normalize_params(params)  # refuse bad params before anything is stored
    except InvalidJobRequest as err:
        raise _invalid(err) from None
    from_urls = "image_urls" in inputs
    if from_urls and isinstance(inputs["image_urls"], list):
        # Refuse unfetchable URLs now, not after the job waited in the queue (host names: at fetch time).
        policy = FetchPolicy.from_settings(request.state.settings)
        for url in inputs["image_urls"]:
            if isinstance(url, str):
                try:
                    check_url_early(url, policy)
                except FetchError as err:
                    raise ValidationError(
                        f"image URL {url[:200]!r} is refused: {err}",
                        details={"field": "image_urls", "url": url[:2048], "reason": err.code},
                    ) from None
    sources = inputs["image_urls"] if from_urls else [hashlib.sha256(u.data).hexdigest() for u in uploads]
    fingerprint = request_fingerprint(sources, canonical, labels, priority)

    def replay(session: Session, key: ApiKey) -> Job | None:
        if not idem:
            return None
        scope = queue.idempotency_scope(api_key_id=key.id, shop_id=None)
        existing = queue.find_by_idempotency_key(session=session, scope=scope, key=idem)
        if existing is not None and existing.meta.get("request_hash") not in (None, fingerprint):
            raise AppError(
                "this Idempotency-Key was already used with a different request (other images or "
                "parameters); use a new key for a new job, or resend exactly the first request",
                code="IDEMPOTENCY_KEY_REUSED",
                status_code=422,
                details={"job_id": existing.id},
            )
        return existing

    if not from_urls:
        if idem:
            # A replay (or a reused key) must not store the files again.
            def precheck(session: Session) -> dict[str, Any] | None:
                found = replay(session, authenticate(session, request))
                return None if found is None else _snapshot(request, session, found)

            first = await in_db(request, precheck)
            if first is not None:
                return JSONResponse(
                    first,
                    status_code=202,
                    headers={"Location": first["urls"]["get"], "Idempotent-Replayed": "true"},
                )
        inputs = {"image_keys": await store_uploads(request, uploads)}

    def work(session: Session) -> tuple[dict[str, Any], bool, Job]:
        key = authenticate(session, request)
        existing = replay(session, key)
        if existing is not None:
            return _snapshot(request, session, existing), True, existing
        _check_active_cap(request, session, key)
        try:
            job = queue.enqueue_job(
                session=session,
                inputs=inputs,
                params=params,
                api_key_id=key.id,
                shop_id=key.shop_id,
                priority=priority,
                idempotency_key=idem,
                max_attempts=request.state.settings.job_max_attempts,
                source="api",
                meta={"request_hash": fingerprint} if idem else None,
                **labels,
            )
        except InvalidJobRequest as err:
            raise _invalid(err) from None
        return _snapshot(request, session, job), False, job

    snapshot, replayed, job = await in_db(request, work, write=True)
    headers = {"Location": snapshot["urls"]["get"], **_job_headers(job)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(snapshot, status_code=202, headers=headers)


def _encode_cursor(job: Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created_at.isoformat()}|{job.id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("the cursor is not valid; use next_cursor from the previous page") from None


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
    statuses: set[str] | None = None
    if q.get("status"):
        statuses = set()
        for word in q["status"].split(","):
            found = STATUS_ALIASES.get(word.strip().lower())
            if not found:
                raise ValidationError(
                    f"unknown status {word!r}; use queued, running, succeeded, failed or canceled",
                    details={"field": "status"},
                )
            statuses |= found
    cursor = _decode_cursor(q["cursor"]) if q.get("cursor") else None

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        query = select(Job)
        if not _is_admin(key):
            query = query.where(Job.api_key_id == key.id)
        if statuses:
            query = query.where(Job.status.in_(sorted(statuses)))  # type: ignore[attr-defined]
        for name in ("user_id", "session_id", "batch_id"):
            if q.get(name):
                query = query.where(getattr(Job, name) == q[name])
        if cursor:
            created, last_id = cursor
            query = query.where(
                or_(Job.created_at < created, and_(Job.created_at == created, Job.id < last_id))  # type: ignore[arg-type]
            )
        rows = session.exec(
            query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)  # type: ignore[attr-defined]
        ).all()
        page = rows[:limit]
        return {
            "object": "list",
            "jobs": [_snapshot(request, session, job) for job in page],
            "next_cursor": _encode_cursor(page[-1]) if len(rows) > limit else None,
        }

    return JSONResponse(await in_db(request, work))


async def get_job(request: Request) -> Response:
    """One job: status, progress, stage, logs, queue position, ETA, its URLs, results with signed file URLs.
    ---
    responses:
      200: {description: the job}
      304: {description: unchanged since If-None-Match}
      404: {description: JOB_NOT_FOUND}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> tuple[dict[str, Any] | None, Job]:
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        if request.headers.get("if-none-match") == f'"{job.version}"':
            return None, job
        return _snapshot(request, session, job), job

    snapshot, job = await in_db(request, work)
    if snapshot is None:
        return Response(status_code=304, headers=_job_headers(job))
    return JSONResponse(snapshot, headers=_job_headers(job))


async def cancel(request: Request) -> Response:
    """Cancel: queued → canceled; running → cancellation requested (202); finished → already_completed.
    ---
    responses:
      200: {description: '{"status": "canceled" | "already_completed", "job": {...}}'}
      202: {description: '{"status": "cancellation_requested", "job": {...}}'}
      404: {description: JOB_NOT_FOUND}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> tuple[str, dict[str, Any]]:
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        outcome = queue.cancel_job(session, job)
        return outcome, _snapshot(request, session, job)

    outcome, snapshot = await in_db(request, work, write=True)
    _notify(request, job_id)
    messages = {
        queue.CANCELED_NOW: "The job was canceled before it started.",
        queue.CANCELLATION_REQUESTED: "Cancellation requested; the job stops at its next checkpoint.",
        queue.ALREADY_COMPLETED: f"The job had already finished ({snapshot['status']}); nothing to cancel.",
    }
    status_code = 202 if outcome == queue.CANCELLATION_REQUESTED else 200
    return JSONResponse(
        {"id": job_id, "status": outcome, "message": messages[outcome], "job": snapshot},
        status_code=status_code,
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
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        try:
            queue.retry_job(session, job)
        except queue.InvalidTransition as err:
            raise Conflict(str(err), code="INVALID_STATE", details={"status": job.status}) from None
        return _snapshot(request, session, job)

    snapshot = await in_db(request, work, write=True)
    _notify(request, job_id)
    return JSONResponse(snapshot, status_code=202)


async def update_job(request: Request) -> Response:
    """Rename a job: `{"name": "..."}`.
    ---
    responses:
      200: {description: the job}
    """
    job_id = request.path_params["job_id"]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError('the body must be JSON like {"name": "My model"}') from None
    if not isinstance(body, dict) or set(body) - {"name"} or "name" not in body:
        raise ValidationError('only the name can be changed: send {"name": "..."}', details={"field": "name"})
    name = body["name"]
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise ValidationError("name must be a string of at most 255 characters", details={"field": "name"})

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        job.name = name.strip() if name else None
        job.version += 1
        job.updated_at = utcnow()
        session.add(job)
        session.flush()
        return _snapshot(request, session, job)

    snapshot = await in_db(request, work, write=True)
    _notify(request, job_id)
    return JSONResponse(snapshot)


async def delete_job(request: Request) -> Response:
    """Delete a finished job and the files no other job shares.
    ---
    responses:
      200: {description: '{"deleted": true, "purged_files": N}'}
      409: {description: the job is running (cancel it first)}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> list[str]:
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        try:
            return queue.delete_job(session, job)
        except queue.InvalidTransition as err:
            raise Conflict(str(err), code="INVALID_STATE") from None

    orphaned = await in_db(request, work, write=True)
    storage = request.state.storage

    def purge() -> int:
        for key in orphaned:
            try:
                storage.delete(key)
            except Exception as err:  # the row is gone; a leftover file is only wasted space
                logger.warning("could not delete %s: %s", key, err)
        return len(orphaned)

    purged = await run_in_threadpool(purge)
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
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        result = queue.get_job_result(session=session, job_id=job.id)
        if result is None:
            raise Conflict(
                f"the job is {job.status}; its model is available once it has succeeded",
                code="MODEL_NOT_READY",
                details={"status": job.status},
            )
        return result.glb_key

    glb_key = await in_db(request, work)
    return _file_response(request, glb_key, filename=f"{job_id}.glb")


def _file_response(request: Request, key: str, *, filename: str) -> Response:
    storage = request.state.storage
    if isinstance(storage, LocalStorage):
        path = storage.path_for(key)
        if not path.is_file():
            raise NotFound("the model file is missing from storage", code="FILE_MISSING")
        return FileResponse(path, media_type="model/gltf-binary", filename=filename)
    return RedirectResponse(storage.url(key), status_code=302)


# ------------------------------------------------------------------------------------------------- SSE


def _sse(data: dict[str, Any], *, event_id: int | None = None, event: str | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


async def job_events(request: Request) -> Response:
    """Server-sent events: a full job snapshot (`id: <version>`) on every change, `: ping` every 15 s,
    resume with `Last-Event-ID`, closed after the terminal snapshot.
    ---
    responses:
      200: {description: text/event-stream}
    """
    job_id = request.path_params["job_id"]
    await in_db(request, lambda session: _owned_job(session, authenticate(session, request), job_id))
    try:
        last_seen = int(request.headers.get("last-event-id", "0") or 0)
    except ValueError:
        last_seen = 0
    ping_s = float(request.state.settings.sse_ping_s)
    events = getattr(request.state, "job_events", None)
    db = request.state.db

    def version_of() -> tuple[int, str] | None:
        with session_scope(db) as session:
            row = session.exec(select(Job.version, Job.status).where(Job.id == job_id)).first()
            return (int(row[0]), str(row[1])) if row else None

    def snapshot() -> dict[str, Any] | None:
        with session_scope(db) as session:
            job = session.get(Job, job_id)
            return _snapshot(request, session, job) if job else None

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        sent = last_seen
        next_ping = time.monotonic() + ping_s
        while True:
            try:
                current = await run_in_threadpool(version_of)
            except Exception as err:  # the database is briefly unavailable: say so and keep the stream
                logger.warning("SSE %s: cannot read the job: %s", job_id, str(err).splitlines()[0])
                yield _sse({"type": "error", "message": "temporarily unable to read the job"}, event="error")
                current = (sent, "")
            if current is None:
                yield _sse({"type": "error", "message": "the job was deleted"}, event="error")
                return
            version, status = current
            if version > sent:
                snap = await run_in_threadpool(snapshot)
                if snap is None:
                    return
                sent = snap["version"]
                snap["type"] = _event_type(snap["status"])
                yield _sse(snap, event_id=sent)
                next_ping = time.monotonic() + ping_s
                if snap["status"] in TERMINAL:
                    return
            elif status in TERMINAL:
                return  # the client already holds the terminal snapshot (Last-Event-ID)
            wait = max(0.0, min(SSE_POLL_S, next_ping - time.monotonic()))
            if events is not None:
                await events.wait(job_id, wait)
            else:
                await asyncio.sleep(wait)
            if time.monotonic() >= next_ping:
                yield ": ping\n\n"
                next_ping = time.monotonic() + ping_s

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )


def _event_type(status: str) -> str:
    return {SUCCEEDED: "completed", FAILED: "failed", CANCELED: "canceled"}.get(status, "progress")


# ---------------------------------------------------------------------------------------------- batches


async def create_batch(request: Request) -> Response:
    """Upload up to 25 images; each becomes its own job. Multipart field `files`.
    ---
    responses:
      202: {description: the batch with its jobs}
      413: {description: more than 25 files or a file over 10 MB}
    """
    await authenticate_first(request)
    uploads, fields = await read_uploads(request, field="files", max_files=MAX_BATCH_FILES)
    params = _params_from_fields(fields)
    try:
        normalize_params(params)  # refuse bad params before anything is stored
    except InvalidJobRequest as err:
        raise _invalid(err) from None
    keys = await store_uploads(request, uploads)
    session_label = fields.get("session_id")

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        _check_active_cap(request, session, key, adding=len(uploads))
        batch = JobBatch(
            id=queue.new_id("batch"),
            api_key_id=key.id,
            shop_id=key.shop_id,
            name=fields.get("name"),
            session_id=session_label,
            total=len(uploads),
        )
        session.add(batch)
        session.flush()
        files = []
        for upload, image_key in zip(uploads, keys, strict=True):
            try:
                job = queue.enqueue_job(
                    session=session,
                    inputs={"image_keys": [image_key]},
                    params=params,
                    api_key_id=key.id,
                    shop_id=key.shop_id,
                    batch_id=batch.id,
                    name=upload.filename[:255],
                    session_id=session_label,
                    max_attempts=request.state.settings.job_max_attempts,
                    source="batch",
                )
            except InvalidJobRequest as err:
                raise _invalid(err) from None
            files.append(
                {"file_id": job.id, "job_id": job.id, "filename": upload.filename, "status": job.status}
            )
        return {
            "id": batch.id,
            "job_id": batch.id,
            "session_id": session_label,
            "files": files,
            "total_files": len(files),
            "status": "processing",
            "urls": {
                "get": f"{_base_url(request)}/api/v1/batches/{batch.id}",
                "download": f"{_base_url(request)}/api/v1/batches/{batch.id}/download",
            },
        }

    return JSONResponse(await in_db(request, work, write=True), status_code=202)


def _owned_batch(session: Session, key: ApiKey, batch_id: str) -> JobBatch:
    batch = session.get(JobBatch, batch_id)
    if batch is None or (not _is_admin(key) and batch.api_key_id != key.id):
        raise NotFound(f"no batch {batch_id!r}", code="BATCH_NOT_FOUND")
    return batch


async def get_batch(request: Request) -> Response:
    """Aggregate progress of a batch and the state of each file's job.
    ---
    responses:
      200: {description: the batch}
    """
    batch_id = request.path_params["batch_id"]

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        batch = _owned_batch(session, key, batch_id)
        jobs = session.exec(
            select(Job).where(Job.batch_id == batch.id).order_by(Job.created_at, Job.id)
        ).all()  # type: ignore[arg-type]
        counts = {s: 0 for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)}
        for job in jobs:
            counts[job.status] += 1
        done = counts[SUCCEEDED] + counts[FAILED] + counts[CANCELED]
        progress = sum(100 if j.status in TERMINAL else j.progress for j in jobs) / max(1, len(jobs))
        storage = request.state.storage
        files = []
        for job in jobs:
            entry: dict[str, Any] = {
                "file_id": job.id,
                "job_id": job.id,
                "filename": job.name,
                "status": job.status,
                "progress": job.progress,
                "error": job.error_message if job.status == FAILED else None,
            }
            if job.status == SUCCEEDED and job.generation_id is not None:
                generation = session.get(Generation, job.generation_id)
                if generation is not None:
                    entry["model_url"] = storage.url(generation.glb_key)
            files.append(entry)
        status = "completed" if done == len(jobs) else "processing"
        if done == len(jobs) and counts[SUCCEEDED] == 0 and jobs:
            status = "failed"
        return {
            "id": batch.id,
            "job_id": batch.id,
            "status": status,
            "total_files": len(jobs),
            "processed_files": counts[SUCCEEDED],
            "failed_files": counts[FAILED] + counts[CANCELED],
            "progress": round(progress, 2),
            "counts": counts,
            "files": files,
            "created_at": iso(batch.created_at),
        }

    return JSONResponse(await in_db(request, work))


class _ZipSink(io.RawIOBase):
    """A write-only stream whose bytes are handed out as they are written (zipfile streams into it)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._offset

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks = []
        return out


async def download_batch(request: Request) -> Response:
    """A ZIP of the batch's finished GLBs, streamed as it is built.
    ---
    responses:
      200: {description: application/zip}
      409: {description: no model in the batch has finished yet}
    """
    batch_id = request.path_params["batch_id"]

    def work(session: Session) -> list[tuple[str, str]]:
        key = authenticate(session, request)
        batch = _owned_batch(session, key, batch_id)
        rows = session.exec(
            select(Job.id, Job.name, Generation.glb_key)
            .join(Generation, Generation.id == Job.generation_id)  # type: ignore[arg-type]
            .where(Job.batch_id == batch.id, Job.status == SUCCEEDED)
            .order_by(Job.created_at, Job.id)  # type: ignore[arg-type]
        ).all()
        if not rows:
            raise Conflict("no model in this batch has finished yet", code="NOTHING_TO_DOWNLOAD")
        used: set[str] = set()
        entries = []
        for job_id, name, glb_key in rows:
            stem = (name or job_id).rsplit(".", 1)[0].replace("/", "_")[:100] or job_id
            filename = f"{stem}.glb" if f"{stem}.glb" not in used else f"{stem}-{job_id}.glb"
            used.add(filename)
            entries.append((filename, glb_key))
        return entries

    entries = await in_db(request, work)
    storage = request.state.storage

    def build() -> Iterator[bytes]:
        sink = _ZipSink()
        with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            for filename, key in entries:
                try:
                    data = storage.get(key)
                except ObjectNotFound:
                    logger.warning("batch %s: %s is missing from storage; left out of the ZIP", batch_id, key)
                    continue
                with archive.open(filename, mode="w") as member:
                    member.write(data)
                yield sink.take()
        yield sink.take()

    return StreamingResponse(
        build(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}.zip"'},
    )


# ------------------------------------------------------------------------------------------------ queue


async def queue_stats(request: Request) -> Response:
    """Counts per status (seed 004's names), delayed retries, live workers.
    ---
    responses:
      200: {description: '{"waiting", "active", "completed", "failed", "delayed", "canceled", "total", ...}'}
    """

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        stats = queue.queue_stats(session, shop_id=None if _is_admin(key) else key.shop_id)
        c = stats.counts
        return {
            "waiting": c[QUEUED] - stats.delayed,
            "active": c[RUNNING],
            "completed": c[SUCCEEDED],
            "failed": c[FAILED],
            "delayed": stats.delayed,
            "canceled": c[CANCELED],
            "total": sum(c.values()),
            "live_workers": stats.live_workers,
            "average_job_seconds": None if stats.ewma_s is None else round(stats.ewma_s, 1),
            "timestamp": iso(utcnow()),
        }

    return JSONResponse(await in_db(request, work))


async def queue_info(request: Request) -> Response:
    """Queue length and the wait a new job would see (seed 002's /queue/info). No key needed.
    ---
    responses:
      200: {description: '{"queue_length", "currently_processing", "estimated_wait_for_new_job_seconds", ...}'}
    """

    def work(session: Session) -> dict[str, Any]:
        stats = queue.queue_stats(session)
        waiting, running = stats.counts[QUEUED], stats.counts[RUNNING]
        ewma = stats.ewma_s
        workers = stats.live_workers
        wait = None
        if ewma is not None and workers:
            wait = round((waiting + running) * ewma / workers, 1)
        return {
            "queue_length": waiting,
            "currently_processing": running > 0,
            "processing_jobs": running,
            "waiting_jobs": waiting,
            "live_workers": workers,
            "estimated_wait_for_new_job_seconds": wait,
            "estimated_time_per_job_seconds": None if ewma is None else round(ewma, 1),
        }

    return JSONResponse(await in_db(request, work))


async def job_status_compat(request: Request) -> Response:
    """A job in seed 002's shape (`{"job": {... "status": WAIT|RUN|DONE|FAIL}, "queue": {...}}`).
    ---
    responses:
      200: {description: the job in seed 002's vocabulary}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> dict[str, Any]:
        key = authenticate(session, request)
        job = _owned_job(session, key, job_id)
        snap = _snapshot(request, session, job)
        est = snap["queue"]
        result = snap["result"] or {}
        position = est["position"]
        stats = queue.queue_stats(session)
        return {
            "job": {
                "id": job.id,
                "userId": job.user_id,
                "status": SEED002_STATUS[job.status],
                "state": SEED004_STATUS[job.status],
                "progress": job.progress,
                "resultGlbUrl": result.get("glb_url"),
                "previewImageUrl": result.get("preview_url"),
                "errorCode": job.error_code if job.status in {FAILED, CANCELED} else None,
                "errorMessage": job.error_message if job.status in {FAILED, CANCELED} else None,
                "name": job.name,
                "createdAt": snap["created_at"],
                "updatedAt": snap["updated_at"],
            },
            "queue": {
                "position": 0 if position is None else position + 1,
                "jobs_ahead": position or 0,
                "estimated_wait_seconds": None
                if est["eta_seconds"] is None or est["average_seconds"] is None
                else max(0.0, round(est["eta_seconds"] - est["average_seconds"], 1))
                if job.status == QUEUED
                else 0,
                "estimated_total_seconds": est["eta_seconds"],
                "queue_length": stats.counts[QUEUED],
                "currently_processing": job.status == RUNNING,
            },
        }

    return JSONResponse(await in_db(request, work))


routes: list[BaseRoute] = [
    Route("/api/v1/jobs", create_job, methods=["POST"]),
    Route("/api/v1/jobs", list_jobs, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}", update_job, methods=["PATCH"]),
    Route("/api/v1/jobs/{job_id}", delete_job, methods=["DELETE"]),
    Route("/api/v1/jobs/{job_id}/cancel", cancel, methods=["POST"]),
    Route("/api/v1/jobs/{job_id}/retry", retry, methods=["POST"]),
    Route("/api/v1/jobs/{job_id}/events", job_events, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}/model", download_model, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}/status", job_status_compat, methods=["GET"]),
    Route("/api/v1/batches", create_batch, methods=["POST"]),
    Route("/api/v1/batches/{batch_id}", get_batch, methods=["GET"]),
    Route("/api/v1/batches/{batch_id}/download", download_batch, methods=["GET"]),
    Route("/api/v1/queue/stats", queue_stats, methods=["GET"]),
    Route("/api/v1/queue/info", queue_info, methods=["GET"]),
]
