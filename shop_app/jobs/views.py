"""Job snapshots for the APIs: the canonical /api/v1 shape, plus status vocabularies of the seed APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from shop_app.jobs.queue import estimate
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, Generation, Job
from shop_app.storage import Storage

# Status vocabularies at the API edge.
SEED000_STATUS = {
    QUEUED: "pending",
    RUNNING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "cancelled",
}
SEED002_STATUS = {QUEUED: "WAIT", RUNNING: "RUN", SUCCEEDED: "DONE", FAILED: "FAIL", CANCELED: "FAIL"}
SEED004_STATUS = {
    QUEUED: "waiting",
    RUNNING: "active",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "failed",
}

# Any vocabulary's word -> our statuses (for list filters).
STATUS_ALIASES: dict[str, set[str]] = {s: {s} for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)}
for table in (SEED000_STATUS, SEED002_STATUS, SEED004_STATUS):
    for ours, theirs in table.items():
        STATUS_ALIASES.setdefault(theirs.lower(), set()).add(ours)
STATUS_ALIASES["delayed"] = {QUEUED}
STATUS_ALIASES["canceled"] = {CANCELED}


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def iso_ms(value: datetime | None) -> str | None:
    """`2025-07-26T15:30:00.000Z` (seed 000's timestamp format)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else None


def result_urls(generation: Generation, storage: Storage, ttl_s: int | None = None) -> dict[str, str | None]:
    return {
        "glb_url": storage.url(generation.glb_key, ttl_s=ttl_s),
        "splat_url": storage.url(generation.splat_key, ttl_s=ttl_s) if generation.splat_key else None,
        "preview_url": storage.url(generation.preview_key, ttl_s=ttl_s) if generation.preview_key else None,
    }


def job_snapshot(session: Session, job: Job, *, storage: Storage, base_url: str = "") -> dict[str, Any]:
    """The canonical job resource (`GET /api/v1/jobs/{id}`, SSE events)."""
    est = estimate(session, job)
    result: dict[str, Any] | None = None
    if job.status == SUCCEEDED and job.generation_id is not None:
        generation = session.get(Generation, job.generation_id)
        if generation is not None:
            urls = result_urls(generation, storage)
            result = {
                "cached": job.cached,
                "model_url": f"{base_url}/api/v1/jobs/{job.id}/model",
                **urls,
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
        "source": job.source,
        "params": job.params,
        "inputs": {"image_count": len(inputs.get("image_urls") or inputs.get("image_keys") or [])}
        | ({"image_urls": inputs["image_urls"]} if "image_urls" in inputs else {}),
        "error": error,
        "result": result,
        "urls": {
            "get": f"{base_url}/api/v1/jobs/{job.id}",
            "cancel": f"{base_url}/api/v1/jobs/{job.id}/cancel",
            "stream": f"{base_url}/api/v1/jobs/{job.id}/events",
            "model": f"{base_url}/api/v1/jobs/{job.id}/model",
        },
        "version": job.version,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "duration_seconds": None if job.duration_s is None else round(job.duration_s, 3),
    }
