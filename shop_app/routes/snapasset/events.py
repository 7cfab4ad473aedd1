"""SnapAsset's event stream of one job, and its queue endpoints (stats, clean)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.jobs import commands
from shop_app.jobs.queries import JobFilter, get_job, list_jobs
from shop_app.jobs.renders import (
    PLATFORM_RENDER_KIND,
    platform_images,
)
from shop_app.jobs.stats import QueueStats, queue_stats
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, TERMINAL, Job
from shop_app.web.db import in_db
from shop_app.web.render import iso
from shop_app.web.state import app_state
from shop_app.web.streaming import Pinger, sse, sse_response

from .access import caller, json_body, must_own, owned, owner_in
from .wire import (
    CLEANABLE,
    FAMILY,
    STATUSES,
    SnapAssetError,
    not_found,
    parse_clean,
    result_body,
    status_word,
)

logger = logging.getLogger(__name__)


async def stream(request: Request) -> Response:
    """Server-sent events for one job: `connected`, then `progress` on every change, then `done` (completed,
    with the result) or `failed` / `cancelled`; the stream then ends. Open by job id alone (EventSource sends
    no headers); credentials, when sent, must own the job.
    ---
    responses:
      200: {description: 'text/event-stream; data: {"type": "connected" | "progress" | "done" | "failed" | "cancelled", ...}'}
      404: {description: JOB_NOT_FOUND}
    """
    owner = await in_db(request, lambda session: owner_in(session, request, required=False))
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

    def work(session: Session) -> QueueStats:
        must_own(session, request)
        return queue_stats(session, kind=PLATFORM_RENDER_KIND, family=FAMILY)

    figures = await in_db(request, work)
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
