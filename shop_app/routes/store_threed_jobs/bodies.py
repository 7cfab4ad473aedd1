"""Seed 000's vocabulary and bodies: statuses, form fields, the job object."""

from __future__ import annotations

import math
from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from shop_app.errors import AppError
from shop_app.jobs.errors import JobNotFound
from shop_app.jobs.owners import PrincipalOwner
from shop_app.jobs.queries import get_owned
from shop_app.jobs.results import generation_of
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from shop_app.routes.store_threed_jobs.errors import SeedError, from_app_error
from shop_app.web.db import in_db
from shop_app.web.render import iso_ms, result_urls

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
DEFAULT_STEPS, DEFAULT_GUIDANCE, DEFAULT_OCTREE = 20, 7.5, "256"


def size_mb(size: int) -> str:
    return f"{size / 1024 / 1024:.2f}"


def estimate_text(eta_s: float | None) -> str:
    if eta_s is None:
        return "2-5 minutes"
    low = max(1, math.floor(eta_s / 60))
    high = max(low + 1, math.ceil(eta_s * 1.5 / 60))
    return f"{low}-{high} minutes"


def seed_params(fields: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(engine params, the request_params echoed in metadata)."""
    request_params: dict[str, Any] = {"caption": fields.get("caption") or None}
    try:
        request_params["steps"] = int(fields.get("steps") or DEFAULT_STEPS)
        request_params["guidance_scale"] = float(fields.get("guidance_scale") or DEFAULT_GUIDANCE)
    except ValueError:
        raise SeedError(
            "steps must be a whole number and guidance_scale a number", details="steps=20, guidance_scale=7.5"
        ) from None
    octree = fields.get("octree_resolution") or DEFAULT_OCTREE
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
        {"url": storage.url(item["key"]), "filename": item["filename"], "size_mb": size_mb(item["size"])}
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


def seed_job(session: Session, job_id: str) -> Job:
    try:
        return get_owned(session, STORE, job_id)
    except JobNotFound:
        raise SeedError(f"Job {job_id} not found", status_code=404, details="check the job id") from None


async def run(request: Request, work: Any, *, write: bool = False) -> Any:
    try:
        return await in_db(request, work, write=write)
    except SeedError:
        raise
    except AppError as err:
        raise from_app_error(err) from None
