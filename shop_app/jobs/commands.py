"""Commands: every state change a client (or the shop sync, or a webhook) asks of a job.

Each runs in the caller's write transaction (`shop_app.db.write_scope`), bumps the version and logs a line
through `rows.touch`; families never set a job's columns themselves.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import String, cast, update
from sqlmodel import Session, col, func, select

from shop_app.jobs.errors import InvalidTransition
from shop_app.jobs.rows import appended_logs, touch
from shop_app.models.base import utcnow
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, Generation, Job
from shop_app.models.renders import PlatformRender


class CancelOutcome(enum.StrEnum):
    CANCELED = "canceled"  # it was queued: canceled at once
    REQUESTED = "cancellation_requested"  # it is running: the worker stops at its next checkpoint
    ALREADY_FINISHED = "already_completed"  # nothing to cancel


def cancel(session: Session, job: Job) -> CancelOutcome:
    """Cancel: a queued job is canceled at once; a running one is asked to stop (the worker checks between
    stages; its supervisor kills it after the grace period); a finished one is left alone."""
    now = utcnow()
    if job.status == QUEUED:
        # Conditional update: a worker may claim the row between our read and this write.
        result = session.execute(
            update(Job)
            .where(col(Job.id) == job.id, col(Job.status) == QUEUED)
            .values(
                status=CANCELED,
                finished_at=now,
                stage="canceled",
                error_code="canceled",
                error_message="canceled on request",
                error_retryable=False,
                version=Job.version + 1,
                updated_at=now,
                logs=appended_logs(job, now, "canceled while queued"),
            )
        )
        session.refresh(job)
        if getattr(result, "rowcount", 0) == 1:
            return CancelOutcome.CANCELED
    if job.status == RUNNING:
        if not job.cancel_requested:
            job.cancel_requested = True
            job.cancel_requested_at = now
            touch(job, now, "cancellation requested")
            session.add(job)
            session.flush()
        return CancelOutcome.REQUESTED
    return CancelOutcome.ALREADY_FINISHED


def retry(session: Session, job: Job, *, log: str = "queued again on request") -> Job:
    """Put a failed or canceled job back in the queue for a fresh round of attempts."""
    if job.status not in {FAILED, CANCELED}:
        raise InvalidTransition(f"only failed or canceled jobs can be retried; this job is {job.status}")
    now = utcnow()
    job.status = QUEUED
    job.attempt = 0
    job.run_after = now
    job.cancel_requested = False
    job.cancel_requested_at = None
    job.progress = 0
    job.stage = "queued"
    job.finished_at = None
    job.error_code = job.error_message = None
    job.error_retryable = None
    touch(job, now, log)
    session.add(job)
    session.flush()
    return job


def rename(session: Session, job: Job, name: str | None) -> Job:
    job.name = name.strip()[:255] if name and name.strip() else None
    touch(job, utcnow())
    session.add(job)
    session.flush()
    return job


def fail(session: Session, job: Job, *, message: str, code: str = "failed_by_admin", log: str) -> Job:
    """Mark a job failed on request (not by a worker). A running job must be canceled instead."""
    if job.status == RUNNING:
        raise InvalidTransition("the job is processing; cancel it instead")
    now = utcnow()
    job.status = FAILED
    job.finished_at = job.finished_at or now
    job.error_code = code[:64]
    job.error_message = message[:2000]
    job.error_retryable = False
    touch(job, now, log)
    session.add(job)
    session.flush()
    return job


def annotate(
    session: Session,
    job: Job,
    *,
    log: str,
    meta: dict[str, Any] | None = None,
    error_message: str | None = None,
) -> Job:
    """Merge `meta` into the job's family data and/or reword a finished job's error; one version bump."""
    if meta:
        job.meta = {**job.meta, **meta}
    if error_message is not None and job.status in {FAILED, CANCELED}:
        job.error_message = error_message[:2000]
    touch(job, utcnow(), log)
    session.add(job)
    session.flush()
    return job


def delete(session: Session, job: Job) -> list[str]:
    """Delete a job; returns the storage keys that no other job uses any more (the caller deletes the files
    after commit). A running job must be canceled first."""
    if job.status == RUNNING:
        raise InvalidTransition("the job is running; cancel it first, then delete it")
    orphaned: list[str] = []
    generation_id = job.generation_id
    image_keys = list(job.inputs.get("image_keys", []))
    render_keys = session.exec(
        select(PlatformRender.storage_key).where(col(PlatformRender.job_id) == job.id)
    ).all()
    session.delete(job)
    session.flush()  # the job's platform_render rows go with it (ON DELETE CASCADE)
    for key in set(render_keys):
        shared = session.exec(
            select(func.count()).select_from(PlatformRender).where(col(PlatformRender.storage_key) == key)
        ).one()
        if not shared:
            orphaned.append(key)
    if generation_id is not None:
        others = session.exec(
            select(func.count()).select_from(Job).where(col(Job.generation_id) == generation_id)
        ).one()
        generation = session.get(Generation, generation_id)
        if generation is not None and not others:
            orphaned += [k for k in (generation.glb_key, generation.splat_key, generation.preview_key) if k]
            session.delete(generation)
    for key in image_keys:
        users = session.exec(
            select(func.count()).select_from(Job).where(cast(col(Job.inputs), String).contains(key))
        ).one()
        if not users:
            orphaned.append(key)
    session.flush()
    return orphaned
