"""/api/v1/queue: statistics and the wait a new job would see; a job in seed 002's shape."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.jobs.stats import queue_stats as read_stats
from shop_app.models.base import utcnow
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED
from shop_app.routes.api_v1.common import HYDRILLA_STATUS, SNAPASSET_STATUS, owned_job, owner, run, snapshot
from shop_app.web.render import iso


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def queue_stats(request: Request) -> Response:
    """Counts per status (seed 004's names), delayed retries, live workers. A jobs-scope key counts its own
    jobs; an admin key counts every job.
    ---
    responses:
      200: {description: '{"waiting", "active", "completed", "failed", "delayed", "canceled", "total", ...}'}
    """

    def work(session: Session) -> dict[str, Any]:
        who = owner(session, request)
        stats = read_stats(session, owner=who)
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
            "average_job_seconds": _round(stats.ewma_s),
            "timestamp": iso(utcnow()),
        }

    return JSONResponse(await run(request, work))


async def queue_info(request: Request) -> Response:
    """Queue length and the wait a new job would see (seed 002's /queue/info). No key needed.
    ---
    responses:
      200: {description: '{"queue_length", "currently_processing", "estimated_wait_for_new_job_seconds", ...}'}
    """

    def work(session: Session) -> dict[str, Any]:
        stats = read_stats(session)
        return {
            "queue_length": stats.waiting,
            "currently_processing": stats.running > 0,
            "processing_jobs": stats.running,
            "waiting_jobs": stats.waiting,
            "live_workers": stats.live_workers,
            "estimated_wait_for_new_job_seconds": _round(stats.new_job_wait_s()),
            "estimated_time_per_job_seconds": _round(stats.ewma_s),
        }

    return JSONResponse(await run(request, work))


async def job_status_compat(request: Request) -> Response:
    """A job in seed 002's shape (`{"job": {... "status": WAIT|RUN|DONE|FAIL}, "queue": {...}}`).
    ---
    responses:
      200: {description: the job in seed 002's vocabulary}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> dict[str, Any]:
        job = owned_job(session, owner(session, request), job_id)
        snap = snapshot(request, session, job)
        est = snap["queue"]
        result = snap["result"] or {}
        position = est["position"]
        stats = read_stats(session)
        failed = job.status in {FAILED, CANCELED}
        wait: float | None
        if est["eta_seconds"] is None or est["average_seconds"] is None:
            wait = None
        elif job.status == QUEUED:
            wait = max(0.0, round(est["eta_seconds"] - est["average_seconds"], 1))
        else:
            wait = 0
        return {
            "job": {
                "id": job.id,
                "userId": job.user_id,
                "status": HYDRILLA_STATUS[job.status],
                "state": SNAPASSET_STATUS[job.status],
                "progress": job.progress,
                "resultGlbUrl": result.get("glb_url"),
                "previewImageUrl": result.get("preview_url"),
                "errorCode": job.error_code if failed else None,
                "errorMessage": job.error_message if failed else None,
                "name": job.name,
                "createdAt": snap["created_at"],
                "updatedAt": snap["updated_at"],
            },
            "queue": {
                "position": 0 if position is None else position + 1,
                "jobs_ahead": position or 0,
                "estimated_wait_seconds": wait,
                "estimated_total_seconds": est["eta_seconds"],
                "queue_length": stats.counts[QUEUED],
                "currently_processing": job.status == RUNNING,
            },
        }

    return JSONResponse(await run(request, work))
