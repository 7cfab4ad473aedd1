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

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.apikeys import KEY_PREFIX
from shop_app.auth_jwt import KeySetUnavailable, TokenRejected, bearer_token
from shop_app.errors import AppError
from shop_app.jobs import commands
from shop_app.jobs.errors import InvalidTransition, JobNotFound
from shop_app.jobs.image_provider import NOT_CONFIGURED
from shop_app.jobs.owners import Owner, PrincipalOwner
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import JobFilter, get_job, get_owned, list_jobs
from shop_app.jobs.renders import (
    PLATFORM_RENDER_KIND,
    SourceModelError,
    owns_model,
    platform_images,
    render_inputs,
)
from shop_app.jobs.stats import estimate, queue_stats
from shop_app.jobs.submit import Labels, SubmitRequest, submit
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, TERMINAL, Job
from shop_app.ratelimit import RateRule
from shop_app.settings import Settings
from shop_app.web.auth import api_key_owner
from shop_app.web.db import in_db, notify
from shop_app.web.family import ApiFamily, family_errors
from shop_app.web.render import iso
from shop_app.web.state import app_state
from shop_app.web.streaming import Pinger, sse, sse_response

from .wire import (
    CLEANABLE,
    FAMILY,
    FILTERS,
    STATUSES,
    SnapAssetError,
    estimated_time,
    invalid,
    job_body,
    job_limit_body,
    list_item,
    not_found,
    parse_clean,
    parse_create,
    parse_limit,
    rate_limit_body,
    render_error,
    result_body,
    status_word,
)

logger = logging.getLogger(__name__)

PATHS = ("/api/jobs", "/api/sse/", "/api/queue/")
errors = family_errors(render_error)


# -------------------------------------------------------------------------------------------------- auth


def unauthorized(message: str) -> SnapAssetError:
    return SnapAssetError(message, code="UNAUTHORIZED", status_code=401)


async def owner_of(request: Request, *, required: bool = True) -> Owner | None:
    """The caller: an API key's owner, or a JWT subject in this family's space."""
    api_key = request.headers.get("x-api-key")
    token = bearer_token(request.headers.get("authorization"))
    if api_key or (token and token.startswith(KEY_PREFIX)):
        try:
            return await in_db(request, lambda session: api_key_owner(session, request))
        except AppError as err:
            raise unauthorized(f"Invalid API key: {err.message}") from None
    if token:
        verifier = app_state(request).jwt_verifier
        if verifier is None:
            raise unauthorized(
                "Bearer tokens cannot be checked: the operator has not configured NU3D_JWT_JWKS_URL or "
                "NU3D_JWT_HS256_SECRET; use an X-API-Key instead"
            )
        try:
            principal = await run_in_threadpool(verifier.verify, token)
        except TokenRejected as err:
            raise unauthorized(f"Invalid token: {err.message}") from None
        except KeySetUnavailable as err:
            raise SnapAssetError(
                f"Tokens cannot be verified right now: {err}", code="INTERNAL_ERROR", status_code=503
            ) from None
        return PrincipalOwner(family=FAMILY, subject=principal.subject)
    if not required:
        return None
    raise unauthorized("Authentication required: send Authorization: Bearer <JWT> or X-API-Key: <key>")


async def caller(request: Request) -> Owner:
    owner = await owner_of(request)
    assert owner is not None  # noqa: S101 - required=True raised otherwise
    return owner


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid("The request body is not valid JSON") from None


def owned(session: Session, owner: Owner, job_id: str) -> Job:
    try:
        return get_owned(session, owner, job_id, family=FAMILY)
    except JobNotFound:
        raise not_found(job_id) from None


# ------------------------------------------------------------------------------------------------- jobs


async def create_job(request: Request) -> Response:
    """Create a job: userId, prompt (10+ characters), platforms, options; sourceJobId or modelId to render
    that finished 3D model (else the model is made from the prompt).
    ---
    responses:
      201: {description: '{"jobId", "status": "queued", "message", "estimatedTime"}'}
      400: {description: INVALID_REQUEST}
      401: {description: UNAUTHORIZED}
      404: {description: JOB_NOT_FOUND (the sourceJobId)}
      429: {description: RATE_LIMIT_EXCEEDED or JOB_LIMIT_EXCEEDED}
      501: {description: a prompt-only job while no image provider is configured}
    """
    owner = await caller(request)
    job_in = parse_create(await json_body(request))
    settings = app_state(request).settings
    from_prompt = job_in.source_job_id is None and job_in.model_id is None
    if from_prompt and not settings.image_api_base_url:
        raise SnapAssetError(
            f"This job has no sourceJobId or modelId, so its model would be made from the prompt, but {NOT_CONFIGURED}",
            code="NOT_IMPLEMENTED",
            status_code=501,
        )

    def work(session: Session) -> tuple[Job, float | None]:
        if job_in.source_job_id is not None:
            try:
                get_owned(session, owner, job_in.source_job_id)
            except JobNotFound:
                raise SnapAssetError(
                    f"Source job {job_in.source_job_id} not found; check the sourceJobId",
                    code="JOB_NOT_FOUND",
                    status_code=404,
                ) from None
        if job_in.model_id is not None and not owns_model(session, owner, job_in.model_id):
            raise invalid(f"modelId {job_in.model_id} is not a model of one of your jobs", field="modelId")
        try:
            inputs = render_inputs(
                session,
                platforms=list(job_in.platforms),
                source_job_id=job_in.source_job_id,
                generation_id=job_in.model_id,
                text_prompt=job_in.prompt if from_prompt else None,
            )
            job = submit(
                session,
                SubmitRequest(
                    family=FAMILY,
                    owner=owner,
                    images=inputs,
                    kind=PLATFORM_RENDER_KIND,
                    params={"prompt": job_in.prompt} if from_prompt else {},
                    labels=Labels(name=job_in.prompt[:255], user_id=job_in.user_id),
                    max_attempts=settings.job_max_attempts,
                    meta={FAMILY: job_in.data()},
                ),
            )
        except SourceModelError as err:
            raise invalid(str(err), field=err.field) from None
        except InvalidJobRequest as err:
            raise invalid(str(err), field=err.field) from None
        return job, estimate(session, job).eta_s

    job, eta = await in_db(request, work, write=True)
    return JSONResponse(
        {
            "jobId": job.id,
            "status": "queued",
            "message": "Job created successfully",
            "estimatedTime": estimated_time(eta),
        },
        status_code=201,
    )


async def get_one(request: Request) -> Response:
    """A job: status (waiting, active, completed, failed, delayed, cancelled), progress, data, logs, result.
    ---
    responses:
      200: {description: '{"jobId", "status", "progress", "data", "logs", "createdAt", "processedAt", "result"?}'}
      404: {description: JOB_NOT_FOUND}
    """
    owner = await caller(request)
    job_id = request.path_params["job_id"]
    storage = app_state(request).storage

    def work(session: Session) -> dict[str, Any]:
        job = owned(session, owner, job_id)
        images = platform_images(session, job.id) if job.status == SUCCEEDED else None
        return job_body(job, images, storage)

    return JSONResponse(await in_db(request, work))


async def list_some(request: Request) -> Response:
    """The caller's jobs, newest first: `status` (waiting, active, completed, failed, delayed, cancelled), `limit`
    (default 20, at most 100).
    ---
    responses:
      200: {description: '{"jobs": [{"jobId", "status", "progress", "createdAt"}], "count", "status"}'}
      400: {description: INVALID_REQUEST (unknown status, bad limit)}
    """
    owner = await caller(request)
    word = request.query_params.get("status") or None
    limit = parse_limit(request.query_params.get("limit"))
    if word is not None and word not in FILTERS:
        raise invalid(f"Unknown status {word!r}; use one of {', '.join(FILTERS)}", field="status")
    statuses, delayed = FILTERS[word] if word else (None, None)

    def work(session: Session) -> list[dict[str, Any]]:
        where = JobFilter(owner=owner, family=FAMILY, statuses=statuses, delayed=delayed)
        now = utcnow()
        return [list_item(job, now) for job in list_jobs(session, where, limit=limit).jobs]

    jobs = await in_db(request, work)
    return JSONResponse({"jobs": jobs, "count": len(jobs), "status": word})


async def retry(request: Request) -> Response:
    """Queue a failed (or cancelled) job again.
    ---
    responses:
      200: {description: '{"jobId", "status": "retrying", "message"}'}
      400: {description: INVALID_REQUEST (the job has not failed)}
      404: {description: JOB_NOT_FOUND}
    """
    owner = await caller(request)
    job_id = request.path_params["job_id"]

    def work(session: Session) -> None:
        job = owned(session, owner, job_id)
        try:
            commands.retry(session, job)
        except InvalidTransition:
            raise invalid(
                f"Only failed or cancelled jobs can be retried; job {job_id} is {status_word(job)}"
            ) from None

    await in_db(request, work, write=True)
    notify(request, job_id)
    return JSONResponse({"jobId": job_id, "status": "retrying", "message": "Job has been queued for retry"})


async def cancel(request: Request) -> Response:
    """Cancel a job: a waiting one at once; an active one stops at its next step (202, "cancelling").
    ---
    responses:
      200: {description: '{"jobId", "status": "cancelled", "message"}'}
      202: {description: '{"jobId", "status": "cancelling", "message"}'}
      400: {description: INVALID_REQUEST (already finished)}
      404: {description: JOB_NOT_FOUND}
    """
    owner = await caller(request)
    job_id = request.path_params["job_id"]

    def work(session: Session) -> tuple[commands.CancelOutcome, str]:
        job = owned(session, owner, job_id)
        return commands.cancel(session, job), status_word(job)

    outcome, word = await in_db(request, work, write=True)
    notify(request, job_id)
    if outcome is commands.CancelOutcome.CANCELED:
        return JSONResponse({"jobId": job_id, "status": "cancelled", "message": "Job cancelled successfully"})
    if outcome is commands.CancelOutcome.REQUESTED:
        return JSONResponse(
            {
                "jobId": job_id,
                "status": "cancelling",
                "message": "Cancellation requested; the job stops at its next step",
            },
            status_code=202,
        )
    raise invalid(f"Job {job_id} has already finished ({word}); there is nothing to cancel")


# ------------------------------------------------------------------------------------------------ stream


async def stream(request: Request) -> Response:
    """Server-sent events for one job: `connected`, then `progress` on every change, then `done` (completed,
    with the result) or `failed` / `cancelled`; the stream then ends. Open by job id alone (EventSource sends
    no headers); credentials, when sent, must own the job.
    ---
    responses:
      200: {description: 'text/event-stream; data: {"type": "connected" | "progress" | "done" | "failed" | "cancelled", ...}'}
      404: {description: JOB_NOT_FOUND}
    """
    owner = await owner_of(request, required=False)
    job_id = request.path_params["job_id"]
    storage = app_state(request).storage

    def load(session: Session) -> tuple[Job, dict[str, Any] | None]:
        if owner is not None:
            job = owned(session, owner, job_id)
        else:
            found = get_job(session, job_id)
            if found is None or found.family != FAMILY:
                raise not_found(job_id)
            job = found
        result = (
            result_body(job, platform_images(session, job.id), storage) if job.status == SUCCEEDED else None
        )
        session.expunge(job)
        return job, result

    job, result = await in_db(request, load)

    async def events() -> AsyncIterator[str]:
        nonlocal job, result
        pinger = Pinger(request)
        yield "retry: 3000\n\n" + sse({"type": "connected", "jobId": job_id, "status": status_word(job)})
        sent = None
        while True:
            if job.status in TERMINAL:
                yield sse(_final_event(job, result), event_id=job.version)
                return
            if job.version != sent:
                sent = job.version
                yield sse(
                    {
                        "type": "progress",
                        "jobId": job_id,
                        "progress": job.progress,
                        "status": status_word(job),
                    },
                    event_id=job.version,
                )
            ping = await pinger.wait(job_id)
            if ping:
                yield ping
            if await request.is_disconnected():
                return
            try:
                job, result = await in_db(request, load)
            except SnapAssetError:  # removed meanwhile (queue clean): say so, then end the stream
                yield sse(
                    {"type": "failed", "jobId": job_id, "status": "removed", "error": "the job was removed"}
                )
                return

    return sse_response(events())


def _final_event(job: Job, result: dict[str, Any] | None) -> dict[str, Any]:
    word = STATUSES[job.status]
    if job.status == SUCCEEDED:
        return {"type": "done", "jobId": job.id, "status": word, "progress": 100, "result": result}
    kind = "cancelled" if word == "cancelled" else "failed"
    return {"type": kind, "jobId": job.id, "status": word, "error": job.error_message}


# ------------------------------------------------------------------------------------------------- queue


async def stats(request: Request) -> Response:
    """Counts of SnapAsset's queue.
    ---
    responses:
      200: {description: '{"waiting", "active", "completed", "failed", "delayed", "total", "timestamp"}'}
    """
    await caller(request)
    figures = await in_db(
        request, lambda session: queue_stats(session, kind=PLATFORM_RENDER_KIND, family=FAMILY)
    )
    counts = {STATUSES[status]: count for status, count in figures.counts.items()}
    return JSONResponse(
        {
            "waiting": counts["waiting"] - figures.delayed,
            "active": counts["active"],
            "completed": counts["completed"],
            "failed": counts["failed"],
            "delayed": figures.delayed,
            "cancelled": counts["cancelled"],
            "total": sum(counts.values()),
            "timestamp": iso(utcnow()),
        }
    )


async def clean(request: Request) -> Response:
    """Remove the caller's finished jobs of one status older than `grace` ms (with their images).
    ---
    responses:
      200: {description: '{"cleaned": N, "jobIds": [...], "status", "grace"}'}
      400: {description: INVALID_REQUEST}
    """
    owner = await caller(request)
    grace, word = parse_clean(await json_body(request))

    def work(session: Session) -> tuple[list[str], list[str]]:
        cutoff = utcnow() - timedelta(milliseconds=grace)
        where = JobFilter(owner=owner, family=FAMILY, statuses={CLEANABLE[word]}, finished_before=cutoff)
        removed, orphaned = [], []
        for job in list_jobs(session, where, limit=1000).jobs:
            orphaned += commands.delete(session, job)
            removed.append(job.id)
        return removed, orphaned

    removed, orphaned = await in_db(request, work, write=True)
    storage = app_state(request).storage
    for key in orphaned:  # after the commit: a failed delete leaves a stray file, never a dangling row
        try:
            await run_in_threadpool(storage.delete, key)
        except Exception as err:  # noqa: BLE001 - logged; the rows are gone either way
            logger.warning("could not delete %s after cleaning: %s", key, err)
    return JSONResponse({"cleaned": len(removed), "jobIds": removed, "status": word, "grace": grace})


routes: list[BaseRoute] = [
    Route("/api/jobs", errors(create_job), methods=["POST"]),
    Route("/api/jobs", errors(list_some), methods=["GET"]),
    Route("/api/jobs/{job_id}", errors(get_one), methods=["GET"]),
    Route("/api/jobs/{job_id}/retry", errors(retry), methods=["POST"]),
    Route("/api/jobs/{job_id}/cancel", errors(cancel), methods=["DELETE"]),
    Route("/api/sse/jobs/{job_id}", errors(stream), methods=["GET"]),
    Route("/api/queue/stats", errors(stats), methods=["GET"]),
    Route("/api/queue/clean", errors(clean), methods=["POST"]),
]


def _not_ours(_method: str, path: str) -> bool:
    return not path.startswith(PATHS)


def _not_creation(method: str, path: str) -> bool:
    return not (method == "POST" and path.rstrip("/") == "/api/jobs")


def rate_rules(settings: Settings) -> list[RateRule]:
    rules = []
    if settings.rate_limit_snapasset:
        rules.append(
            RateRule(
                "snapasset",
                "/api/",
                settings.rate_limit_snapasset,
                per="key",
                error_body=rate_limit_body,
                exempt=_not_ours,
            )
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
)
