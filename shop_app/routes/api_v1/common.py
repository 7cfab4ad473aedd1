"""What every /api/v1 endpoint shares: the family's name and vocabulary, owner and cap checks, the
canonical job resource, and the mapping of core errors to this family's codes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from shop_app.errors import AppError, Conflict, NotFound, ValidationError
from shop_app.jobs.errors import InvalidCursor, InvalidJobRequest, InvalidTransition, JobNotFound
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.queries import get_owned
from shop_app.jobs.results import generation_of
from shop_app.jobs.stats import estimate
from shop_app.jobs.views import JobView, get_owned_view
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, STATUSES, SUCCEEDED, TERMINAL, Job
from shop_app.web.auth import api_key_owner, check_active_cap
from shop_app.web.db import in_db
from shop_app.web.render import iso, result_urls

T = TypeVar("T")
FAMILY = "v1"
PREFIX = "/api/v1"
PARAM_FIELDS = (
    "prompt",
    "resolution",
    "face_limit",
    "texture_size",
    "steps",
    "guidance_scale",
    "size_hint_m",
)

# The status words list filters accept: ours, and those of the seed APIs clients may already speak.
STATUS_WORDS: dict[str, frozenset[str]] = {s: frozenset({s}) for s in STATUSES} | {
    "pending": frozenset({QUEUED}),
    "waiting": frozenset({QUEUED}),
    "wait": frozenset({QUEUED}),
    "delayed": frozenset({QUEUED}),
    "processing": frozenset({RUNNING}),
    "active": frozenset({RUNNING}),
    "run": frozenset({RUNNING}),
    "completed": frozenset({SUCCEEDED}),
    "done": frozenset({SUCCEEDED}),
    "fail": frozenset({FAILED, CANCELED}),
    "failed": frozenset({FAILED, CANCELED}),
    "cancelled": frozenset({CANCELED}),
}
# Seed 002's and seed 004's words, for the compatibility view at /api/v1/jobs/{id}/status.
HYDRILLA_STATUS = {QUEUED: "WAIT", RUNNING: "RUN", SUCCEEDED: "DONE", FAILED: "FAIL", CANCELED: "FAIL"}
SNAPASSET_STATUS = {
    QUEUED: "waiting",
    RUNNING: "active",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "failed",
}


def parse_statuses(text: str) -> set[str]:
    statuses: set[str] = set()
    for word in text.split(","):
        found = STATUS_WORDS.get(word.strip().lower())
        if not found:
            raise ValidationError(
                f"unknown status {word!r}; use queued, running, succeeded, failed or canceled",
                details={"field": "status"},
            )
        statuses |= found
    return statuses


def owner(session: Session, request: Request) -> ApiKeyOwner:
    return api_key_owner(session, request)


def owned_job(session: Session, who: ApiKeyOwner, job_id: str) -> Job:
    try:
        return get_owned(session, who, job_id)
    except JobNotFound:
        # Someone else's job answers 404 like a missing one: ids must not be probeable.
        raise NotFound(f"no job {job_id!r}", code="JOB_NOT_FOUND") from None


def viewed_job(session: Session, who: ApiKeyOwner, job_id: str) -> JobView:
    """`owned_job` for a read: the row without the ORM entity (a poll's hot path)."""
    try:
        return get_owned_view(session, who, job_id)
    except JobNotFound:
        raise NotFound(f"no job {job_id!r}", code="JOB_NOT_FOUND") from None


async def run(
    request: Request, work: Callable[[Session], T], *, write: bool = False, poll: bool = False
) -> T:
    """`in_db`, with the core's errors turned into this family's."""
    try:
        return await in_db(request, work, write=write, poll=poll)
    except InvalidJobRequest as err:
        raise invalid(err) from None
    except InvalidTransition as err:
        raise Conflict(str(err), code="INVALID_STATE") from None
    except InvalidCursor as err:
        raise ValidationError(str(err)) from None


def invalid(err: InvalidJobRequest) -> ValidationError:
    return ValidationError(str(err), details={"field": err.field} if err.field else None)


async def authenticate_first(request: Request, *, adding: int = 1) -> None:
    """Authenticate (and check the key's active-jobs cap) before the body is read: an anonymous or bogus
    request must not get to upload anything into storage. The write transaction checks both again."""

    def check(session: Session) -> None:
        check_active_cap(request, session, owner(session, request), adding=adding)

    await in_db(request, check)


async def store_uploads(request: Request, uploads: list[Any]) -> list[str]:
    # storage.put is blocking I/O (disk or S3): keep it off the event loop.
    storage = request.state.storage
    return await run_in_threadpool(lambda: [storage.put(u.data, suffix=u.info.suffix) for u in uploads])


def params_from_fields(fields: dict[str, str]) -> dict[str, Any]:
    return {name: fields[name] for name in PARAM_FIELDS if fields.get(name) not in (None, "")}


def request_fingerprint(
    sources: list[str], params: dict[str, Any], labels: dict[str, Any], priority: int
) -> str:
    """What an Idempotency-Key is bound to: the images (SHA-256 of each file, or the URLs), the canonical
    params, labels and priority."""
    payload = {"images": sources, "params": params, "labels": labels, "priority": priority}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def key_reused(job: Job) -> AppError:
    return AppError(
        "this Idempotency-Key was already used with a different request (other images or "
        "parameters); use a new key for a new job, or resend exactly the first request",
        code="IDEMPOTENCY_KEY_REUSED",
        status_code=422,
        details={"job_id": job.id},
    )


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def job_headers(job: Job | JobView) -> dict[str, str]:
    headers = {"ETag": f'"{job.version}"'}
    if job.status not in TERMINAL:
        headers["Retry-After"] = "2" if job.status == RUNNING else "5"
    return headers


def legacy_source(job: Job | JobView) -> str | None:
    """The `source` field this resource has always shown: api, batch, store, or the Shopify image gid."""
    if job.family == FAMILY:
        return "batch" if job.batch_id else "api"
    if job.family == "shop":
        return job.image_gid
    return job.family


def snapshot(request: Request, session: Session, job: Job | JobView) -> dict[str, Any]:
    """The canonical job resource (`GET /api/v1/jobs/{id}`, SSE events)."""
    base = base_url(request)
    storage = request.state.storage
    est = estimate(session, job)
    result: dict[str, Any] | None = None
    generation = generation_of(session, job)
    if generation is not None:
        result = {
            "cached": job.cached,
            "model_url": f"{base}/api/v1/jobs/{job.id}/model",
            **result_urls(generation, storage),
            "metadata": generation.meta,
            "stats": generation.stats,
            "engine_seconds": generation.duration_s,
        }
    error = None
    if job.error_code and job.status in {FAILED, CANCELED, QUEUED}:
        error = {"code": job.error_code, "message": job.error_message, "retryable": bool(job.error_retryable)}
    inputs = job.inputs
    return {
        "id": job.id,
        "object": "job",
        "kind": job.kind,
        "status": job.status,
        "terminal": job.status in TERMINAL,
        "progress": job.progress,
        "stage": job.stage,
        "logs": job.logs,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "queue": {
            "position": est.position,
            "eta_seconds": None if est.eta_s is None else round(est.eta_s, 1),
            "live_workers": est.live_workers,
            "average_seconds": None if est.ewma_s is None else round(est.ewma_s, 1),
        },
        "name": job.name,
        "user_id": job.user_id,
        "session_id": job.session_id,
        "batch_id": job.batch_id,
        "source": legacy_source(job),
        "params": job.params,
        "inputs": {"image_count": len(inputs.get("image_urls") or inputs.get("image_keys") or [])}
        | ({"image_urls": inputs["image_urls"]} if "image_urls" in inputs else {}),
        "error": error,
        "result": result,
        "urls": {
            "get": f"{base}/api/v1/jobs/{job.id}",
            "cancel": f"{base}/api/v1/jobs/{job.id}/cancel",
            "stream": f"{base}/api/v1/jobs/{job.id}/events",
            "model": f"{base}/api/v1/jobs/{job.id}/model",
        },
        "version": job.version,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "duration_seconds": None if job.duration_s is None else round(job.duration_s, 3),
    }
