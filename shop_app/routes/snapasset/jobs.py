"""SnapAsset's job endpoints: create, get, list, retry, cancel."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.jobs import commands
from shop_app.jobs.errors import InvalidTransition, JobNotFound
from shop_app.jobs.image_provider import NOT_CONFIGURED
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import JobFilter, get_owned, list_jobs
from shop_app.jobs.renders import (
    PLATFORM_RENDER_KIND,
    SourceModelError,
    owns_model,
    platform_images,
    render_inputs,
)
from shop_app.jobs.stats import estimate
from shop_app.jobs.submit import Labels, SubmitRequest, submit
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, Job
from shop_app.web.db import in_db, notify
from shop_app.web.state import app_state

from .access import caller, json_body, must_own, owned
from .wire import (
    FAMILY,
    FILTERS,
    SnapAssetError,
    estimated_time,
    invalid,
    job_body,
    list_item,
    parse_create,
    parse_limit,
    status_word,
)


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
    job_id = request.path_params["job_id"]
    storage = app_state(request).storage

    def work(session: Session) -> dict[str, Any]:
        job = owned(session, must_own(session, request), job_id)
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
    word = request.query_params.get("status") or None
    limit = parse_limit(request.query_params.get("limit"))
    if word is not None and word not in FILTERS:
        raise invalid(f"Unknown status {word!r}; use one of {', '.join(FILTERS)}", field="status")
    statuses, delayed = FILTERS[word] if word else (None, None)

    def work(session: Session) -> list[dict[str, Any]]:
        where = JobFilter(owner=must_own(session, request), family=FAMILY, statuses=statuses, delayed=delayed)
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
