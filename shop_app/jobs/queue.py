"""The job table is the queue: enqueue, claim, heartbeat, complete, fail, release, reap, cancel, retry.

Concurrency rules:
- Claim takes the next queued row with `FOR UPDATE SKIP LOCKED` on PostgreSQL and inside `BEGIN IMMEDIATE` on
  SQLite (one writer at a time), so two workers never take the same row.
- Every write a worker makes (progress, result, failure) is fenced: it only lands while the row is still
  `running` and `lease_owner` is that worker. A worker whose lease expired gets `LeaseLost` and must stop.
- Every change bumps `version` (SSE event ids and change detection read it).
- `enqueue_job` only flushes: it joins the caller's transaction, so the rows that caused a job and the job
  commit together.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from shop_app.db import begin_immediate, session_scope
from shop_app.jobs.params import InvalidJobRequest, input_hash_for_keys, normalize_inputs, normalize_params
from shop_app.models.base import UTCDateTime, utcnow
from shop_app.models.jobs import (
    ACTIVE,
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    Generation,
    Job,
    JobWorker,
    KindStats,
)
from shop_app.models.renders import PlatformRender

logger = logging.getLogger(__name__)

MAX_LOG_LINES = 50
MAX_LOG_CHARS = 300
EWMA_ALPHA = 0.3
WORKER_LIVE_S = 30.0  # a worker slot that has not refreshed its row for this long is not counted as live


class LeaseLost(Exception):
    """This worker no longer owns the job (lease expired and was reaped, or the job was canceled)."""


class JobNotFound(LookupError):
    pass


class InvalidTransition(Exception):
    """The job is in a state that does not allow the operation; the message says which."""


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """A sortable, unique id: 48 bits of milliseconds then 80 random bits, Crockford base32 (a ULID)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def _log_line(now: datetime, message: str) -> str:
    return f"{now.strftime('%H:%M:%S')} {message}"[:MAX_LOG_CHARS]


def _touch(job: Job, now: datetime, log: str | None = None) -> None:
    job.version += 1
    job.updated_at = now
    if log:
        # Reassign (not append) so the JSON column is seen as changed.
        job.logs = [*job.logs, _log_line(now, log)][-MAX_LOG_LINES:]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_job(session: Session, job_id: str) -> Job | None:
    """Load a job for a read-modify-write: row lock on PostgreSQL, write lock (BEGIN IMMEDIATE) on SQLite."""
    begin_immediate(session)
    query = select(Job).where(Job.id == job_id)
    if _is_postgres(session):
        query = query.with_for_update()
    return session.exec(query).first()


# ---------------------------------------------------------------------------------------------- enqueue


def idempotency_scope(*, api_key_id: int | None, shop_id: int | None, source: str | None = None) -> str:
    if api_key_id is not None:
        return f"api_key:{api_key_id}"
    if shop_id is not None:
        return f"shop:{shop_id}"
    return f"anon:{source or '-'}"


def enqueue_job(
    *,
    session: Session,
    kind: str = "generate",
    inputs: dict[str, Any],
    params: dict[str, Any] | None = None,
    shop_id: int | None = None,
    api_key_id: int | None = None,
    priority: int = 0,
    idempotency_key: str | None = None,
    max_attempts: int = 3,
    source: str | None = None,
    batch_id: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    username: str | None = None,
    name: str | None = None,
    meta: dict[str, Any] | None = None,
    run_after: datetime | None = None,
) -> Job:
    """Add a job to the queue in the caller's transaction (flushes, never commits).

    With an `idempotency_key`, a second call with the same key in the same scope (API key, else shop) returns
    the first job instead of creating another. If the inputs were already generated with the same params, the
    job is created as succeeded from the stored result (`cached=True`).
    Raises InvalidJobRequest for unusable inputs or params.
    """
    if kind == "generate":
        inputs = normalize_inputs(inputs)  # other kinds are validated by their own module before this
    params = normalize_params(params)
    if not 1 <= max_attempts <= 20:
        raise InvalidJobRequest("max_attempts must be between 1 and 20", field="max_attempts")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidJobRequest("Idempotency-Key must be 1 to 255 characters", field="idempotency_key")
    scope = idempotency_scope(api_key_id=api_key_id, shop_id=shop_id, source=source)
    if idempotency_key is not None:
        existing = find_by_idempotency_key(session=session, scope=scope, key=idempotency_key)
        if existing is not None:
            return existing
    now = utcnow()
    job = Job(
        id=new_id("job"),
        kind=kind,
        status=QUEUED,
        priority=priority,
        max_attempts=max_attempts,
        run_after=run_after or now,
        inputs=inputs,
        params=params,
        shop_id=shop_id,
        api_key_id=api_key_id,
        batch_id=batch_id,
        source=source,
        user_id=user_id,
        session_id=session_id,
        username=username,
        name=name,
        meta=meta or {},
        idempotency_scope=scope if idempotency_key is not None else None,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
        logs=[_log_line(now, "queued")],
    )
    if "image_keys" in inputs:
        job.input_hash = input_hash_for_keys(inputs["image_keys"], params)
        if job.input_hash is not None:
            done = session.exec(select(Generation).where(Generation.input_hash == job.input_hash)).first()
            if done is not None:
                _finish_cached(job, done, now)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race; answer with its job.
        if idempotency_key is None:
            raise
        existing = find_by_idempotency_key(session=session, scope=scope, key=idempotency_key)
        if existing is None:
            raise
        return existing
    return job


def _finish_cached(job: Job, generation: Generation, now: datetime) -> None:
    job.status = SUCCEEDED
    job.generation_id = generation.id
    job.cached = True
    job.progress = 100
    job.stage = "done"
    job.started_at = job.started_at or now
    job.finished_at = now
    job.duration_s = 0.0
    job.logs = [*job.logs, _log_line(now, "completed from a stored result (same images and params)")][
        -MAX_LOG_LINES:
    ]


def find_by_idempotency_key(*, session: Session, scope: str, key: str) -> Job | None:
    return session.exec(select(Job).where(Job.idempotency_scope == scope, Job.idempotency_key == key)).first()


# ------------------------------------------------------------------------------------------------ claim


def claim_job(
    engine: Engine,
    *,
    worker_id: str,
    lease_s: float,
    kinds: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Job | None:
    """Take the next runnable job (highest priority, then oldest) and lease it to `worker_id`, or None."""
    with session_scope(engine) as session:
        begin_immediate(session)
        now = now or utcnow()
        query = (
            select(Job)
            .where(Job.status == QUEUED, Job.run_after <= now)
            .order_by(Job.priority.desc(), Job.created_at, Job.id)  # type: ignore[attr-defined]
            .limit(1)
        )
        if kinds:
            query = query.where(Job.kind.in_(list(kinds)))  # type: ignore[attr-defined]
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        job = session.exec(query).first()
        if job is None:
            return None
        job.status = RUNNING
        job.lease_owner = worker_id
        job.lease_expires_at = now + timedelta(seconds=lease_s)
        job.heartbeat_at = now
        job.attempt += 1
        job.started_at = now
        job.progress = 0
        job.stage = "claimed"
        _touch(job, now, f"attempt {job.attempt}/{job.max_attempts} started on {worker_id}")
        session.add(job)
        return job


# -------------------------------------------------------------------------------- worker-side updates


@dataclass
class HeartbeatReply:
    cancel_requested: bool
    version: int


def heartbeat(
    engine: Engine,
    *,
    job_id: str,
    worker_id: str,
    lease_s: float,
    progress: int | None = None,
    stage: str | None = None,
    log: str | None = None,
    now: datetime | None = None,
) -> HeartbeatReply:
    """Extend the lease and record progress. Raises LeaseLost if this worker no longer owns the job."""
    with session_scope(engine) as session:
        job = _lock_job(session, job_id)
        now = now or utcnow()
        _check_owner(job, worker_id)
        assert job is not None  # for the type checker; _check_owner raised otherwise  # noqa: S101
        job.lease_expires_at = now + timedelta(seconds=lease_s)
        job.heartbeat_at = now
        changed = False
        if progress is not None and int(progress) != job.progress:
            job.progress = max(0, min(99, int(progress)))
            changed = True
        if stage is not None and stage != job.stage:
            job.stage = stage[:64]
            changed = True
        if changed or log:
            _touch(job, now, log)
        session.add(job)
        return HeartbeatReply(cancel_requested=job.cancel_requested, version=job.version)


def _check_owner(job: Job | None, worker_id: str) -> None:
    if job is None:
        raise LeaseLost("the job no longer exists")
    if job.status != RUNNING or job.lease_owner != worker_id:
        raise LeaseLost(f"job {job.id} is {job.status} and leased to {job.lease_owner or 'nobody'}")


@dataclass
class ArtifactRecord:
    """What a finished generation stored: storage keys and the engine's metadata."""

    input_hash: str
    glb_key: str
    splat_key: str | None = None
    preview_key: str | None = None
    image_keys: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None


def find_generation(session: Session, input_hash: str) -> Generation | None:
    return session.exec(select(Generation).where(Generation.input_hash == input_hash)).first()


def _save_generation(session: Session, artifacts: ArtifactRecord, now: datetime) -> tuple[Generation, bool]:
    """Insert the generation for an input hash; (generation, True) if this call created it. When another
    worker stored the same input first, its row wins and is returned with False."""
    generation = Generation(
        input_hash=artifacts.input_hash,
        params=artifacts.params,
        glb_key=artifacts.glb_key,
        splat_key=artifacts.splat_key,
        preview_key=artifacts.preview_key,
        image_keys=artifacts.image_keys,
        meta=artifacts.meta,
        stats=artifacts.stats,
        duration_s=artifacts.duration_s,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(generation)
        return generation, True
    except IntegrityError:
        existing = find_generation(session, artifacts.input_hash)
        if existing is None:
            raise
        return existing, False


def store_generation(engine: Engine, *, input_hash: str, artifacts: ArtifactRecord | None) -> int:
    """The generation id for an input: stored now from `artifacts`, or the one stored before (for jobs that
    make a model on the way to another result, e.g. platform renders from a prompt)."""
    with session_scope(engine) as session:
        existing = find_generation(session, input_hash)
        if existing is not None:
            return int(existing.id or 0)
        if artifacts is None:
            raise LookupError(f"no stored generation for input {input_hash}")
        generation, _ = _save_generation(session, artifacts, utcnow())
        session.flush()
        return int(generation.id or 0)


def complete_job(
    engine: Engine,
    *,
    job_id: str,
    worker_id: str,
    artifacts: ArtifactRecord | None = None,
    input_hash: str | None = None,
    now: datetime | None = None,
) -> Job:
    """Mark the job succeeded (fenced). With `artifacts`, store the generation (the first writer for an input
    hash wins; a later one reuses it); without, the job completes from the existing generation for
    `input_hash` and is marked cached."""
    with session_scope(engine) as session:
        job = _lock_job(session, job_id)
        now = now or utcnow()
        _check_owner(job, worker_id)
        assert job is not None  # noqa: S101
        cached = artifacts is None
        key = artifacts.input_hash if artifacts is not None else input_hash
        if key is None:
            raise ValueError("complete_job needs artifacts or an input_hash")
        generation = find_generation(session, key)
        if generation is None:
            if artifacts is None:
                raise LookupError(f"no stored generation for input {key}")
            generation, created = _save_generation(session, artifacts, now)
            cached = not created
        else:
            cached = True
        job.generation_id = generation.id
        job.input_hash = key
        job.cached = cached
        elapsed = mark_succeeded(job, now, "completed (stored result reused)" if cached else "completed")
        session.add(job)
    if not cached:
        record_run_time(engine, job, elapsed, now)
    return job


def mark_succeeded(job: Job, now: datetime, log: str) -> float | None:
    """Set a leased job's final succeeded state; returns its run time in seconds."""
    elapsed = (now - job.started_at).total_seconds() if job.started_at else None
    job.status = SUCCEEDED
    job.progress = 100
    job.stage = "done"
    job.finished_at = now
    job.duration_s = elapsed
    job.lease_owner = None
    job.lease_expires_at = None
    job.error_code = job.error_message = None
    job.error_retryable = None
    _touch(job, now, log)
    return elapsed


def record_run_time(engine: Engine, job: Job, elapsed: float | None, now: datetime) -> None:
    """Fold a finished run into its kind's moving average (queue ETAs)."""
    if elapsed is None:
        return
    # Its own short transaction: the per-kind row is shared by every worker, so its lock must not be held
    # for the rest of the completion. A lost sample only makes the ETA slightly staler.
    try:
        with session_scope(engine) as session:
            begin_immediate(session)
            _record_duration(session, job.kind, elapsed, now)
    except SQLAlchemyError as err:
        logger.warning("could not record the run time of %s: %s", job.id, str(err).splitlines()[0])


def _record_duration(session: Session, kind: str, seconds: float, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(KindStats)
        .values(kind=kind, ewma_duration_s=seconds, samples=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["kind"])
    )
    stats = session.exec(select(KindStats).where(KindStats.kind == kind).with_for_update()).one()
    stats.ewma_duration_s = (
        seconds if stats.samples == 0 else EWMA_ALPHA * seconds + (1 - EWMA_ALPHA) * stats.ewma_duration_s
    )
    stats.samples += 1
    stats.updated_at = now
    session.add(stats)


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: min(cap, base * 2**attempt) * U(0.5, 1)."""
    rng = rng or random.Random()
    return min(cap_s, base_s * (2 ** max(0, attempt))) * rng.uniform(0.5, 1.0)


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 300.0


def fail_job(
    engine: Engine,
    *,
    job_id: str,
    worker_id: str,
    code: str,
    message: str,
    retryable: bool,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Job:
    """Record a failure (fenced). Retryable failures go back to the queue with backoff until max_attempts."""
    with session_scope(engine) as session:
        job = _lock_job(session, job_id)
        now = now or utcnow()
        _check_owner(job, worker_id)
        assert job is not None  # noqa: S101
        _fail_or_requeue(
            job, code=code, message=message, retryable=retryable, policy=policy, now=now, rng=rng
        )
        session.add(job)
        return job


def _fail_or_requeue(
    job: Job,
    *,
    code: str,
    message: str,
    retryable: bool,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random | None,
) -> None:
    job.error_code = code[:64]
    job.error_message = message[:2000]
    job.error_retryable = retryable
    job.lease_owner = None
    job.lease_expires_at = None
    if retryable and job.attempt < job.max_attempts:
        delay = backoff_s(job.attempt, base_s=policy.base_s, cap_s=policy.cap_s, rng=rng)
        job.status = QUEUED
        job.run_after = now + timedelta(seconds=delay)
        job.stage = "retry_wait"
        _touch(job, now, f"attempt {job.attempt} failed ({code}: {message[:120]}); retrying in {delay:.1f} s")
    else:
        job.status = FAILED
        job.finished_at = now
        job.stage = "failed"
        _touch(job, now, f"failed ({code}): {message[:200]}")


def release_job(engine: Engine, *, job_id: str, worker_id: str, reason: str = "worker shutting down") -> bool:
    """Give a running job back to the queue at once without counting the attempt (clean worker shutdown).

    Returns False if this worker no longer owned it."""
    with session_scope(engine) as session:
        job = _lock_job(session, job_id)
        now = utcnow()
        try:
            _check_owner(job, worker_id)
        except LeaseLost:
            return False
        assert job is not None  # noqa: S101
        if job.cancel_requested:
            _mark_canceled(job, now, "canceled (worker stopped before finishing)")
        else:
            job.status = QUEUED
            job.attempt = max(0, job.attempt - 1)
            job.run_after = now
            job.lease_owner = None
            job.lease_expires_at = None
            job.progress = 0
            job.stage = "queued"
            _touch(job, now, f"released back to the queue: {reason}")
        session.add(job)
        return True


def _mark_canceled(job: Job, now: datetime, log: str) -> None:
    job.status = CANCELED
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None
    job.stage = "canceled"
    job.error_code = "canceled"
    job.error_message = "canceled on request"
    job.error_retryable = False
    _touch(job, now, log)


def finish_canceled(engine: Engine, *, job_id: str, worker_id: str, log: str = "canceled") -> bool:
    """A worker (or its supervisor, after a hard kill) reports that it stopped a job on request (fenced)."""
    with session_scope(engine) as session:
        job = _lock_job(session, job_id)
        try:
            _check_owner(job, worker_id)
        except LeaseLost:
            return False
        assert job is not None  # noqa: S101
        _mark_canceled(job, utcnow(), log)
        session.add(job)
        return True


# ------------------------------------------------------------------------------------------------ reaper


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.requeued) + len(self.failed) + len(self.canceled)


def reap_expired_leases(
    engine: Engine,
    *,
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen dataclass
    now: datetime | None = None,
    rng: random.Random | None = None,
    limit: int = 200,
) -> ReapReport:
    """Return running jobs whose lease expired to the queue (with backoff), or fail them as `worker_lost`
    once they used all attempts. Safe to run from several processes at once (the scheduler, every worker
    supervisor): rows are taken with SKIP LOCKED on PostgreSQL and under the write lock on SQLite."""
    report = ReapReport()
    with session_scope(engine) as session:
        begin_immediate(session)
        now = now or utcnow()
        query = (
            select(Job)
            .where(Job.status == RUNNING, Job.lease_expires_at < now)  # type: ignore[operator]
            .order_by(Job.lease_expires_at)  # type: ignore[arg-type]
            .limit(limit)
        )
        if _is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for job in session.exec(query).all():
            owner = job.lease_owner
            if job.cancel_requested:
                _mark_canceled(job, now, f"canceled (lease of {owner} expired)")
                report.canceled.append(job.id)
            else:
                _fail_or_requeue(
                    job,
                    code="worker_lost",
                    message=f"the worker {owner} stopped heartbeating (lease expired)",
                    retryable=True,
                    policy=policy,
                    now=now,
                    rng=rng,
                )
                (report.requeued if job.status == QUEUED else report.failed).append(job.id)
            session.add(job)
    if report.total:
        logger.warning(
            "reaper: %d requeued, %d failed as worker_lost, %d canceled",
            len(report.requeued),
            len(report.failed),
            len(report.canceled),
        )
    return report


# --------------------------------------------------------------------------------- API-side operations


CANCELED_NOW = "canceled"
CANCELLATION_REQUESTED = "cancellation_requested"
ALREADY_COMPLETED = "already_completed"


def cancel_job(session: Session, job: Job) -> str:
    """Cancel: a queued job is canceled at once; a running one is asked to stop (the worker checks between
    stages; its supervisor kills it after the grace period); a finished one is left alone."""
    now = utcnow()
    if job.status == QUEUED:
        # Conditional update: a worker may claim the row between our read and this write.
        result = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == QUEUED)  # type: ignore[arg-type]
            .values(
                status=CANCELED,
                finished_at=now,
                stage="canceled",
                error_code="canceled",
                error_message="canceled on request",
                error_retryable=False,
                version=Job.version + 1,
                updated_at=now,
                logs=[*job.logs, _log_line(now, "canceled while queued")][-MAX_LOG_LINES:],
            )
        )
        session.refresh(job)
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return CANCELED_NOW
    if job.status == RUNNING:
        if not job.cancel_requested:
            job.cancel_requested = True
            job.cancel_requested_at = now
            _touch(job, now, "cancellation requested")
            session.add(job)
            session.flush()
        return CANCELLATION_REQUESTED
    return ALREADY_COMPLETED


def retry_job(session: Session, job: Job) -> Job:
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
    _touch(job, now, "queued again on request")
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


# ------------------------------------------------------------------------------ position, ETA, workers


# Plain SQL, compiled once: this runs on every poll of every waiting job.
_POSITION_SQL = text(
    "SELECT count(*) FROM job WHERE status = 'queued' AND (priority > :p OR (priority = :p AND "
    "(created_at < :c OR (created_at = :c AND id < :id))))"
).bindparams(bindparam("c", type_=UTCDateTime()))


def queue_position(session: Session, job: Job) -> int | None:
    """How many queued jobs the claim would take before this one (0 = next); None unless queued."""
    if job.status != QUEUED:
        return None
    return int(
        session.execute(_POSITION_SQL, {"p": job.priority, "c": job.created_at, "id": job.id}).scalar_one()
    )


# Live workers and the moving average are the same for every job; polls read them at most once a second.
_SHARED_TTL_S = 1.0
_shared_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def _cached(session: Session, name: str, compute: Any) -> Any:
    key = (str(session.get_bind().url), name)
    hit = _shared_cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _SHARED_TTL_S:
        return hit[1]
    value = compute()
    _shared_cache[key] = (now, value)
    return value


def live_workers(session: Session, *, now: datetime | None = None) -> int:
    since = (now or utcnow()) - timedelta(seconds=WORKER_LIVE_S)
    return int(
        session.exec(select(func.count()).select_from(JobWorker).where(JobWorker.last_seen_at >= since)).one()
    )


def kind_ewma(session: Session, kind: str) -> float | None:
    stats = session.get(KindStats, kind)
    return stats.ewma_duration_s if stats and stats.samples else None


@dataclass
class QueueEstimate:
    position: int | None  # jobs ahead while queued
    eta_s: float | None  # seconds until done; None when no live worker or no measurement yet
    live_workers: int
    ewma_s: float | None


def estimate(
    session: Session, job: Job, *, now: datetime | None = None, fresh: bool = False
) -> QueueEstimate:
    """Position and ETA. Live workers and the average come from a 1 s cache unless `fresh`."""
    if now is not None or fresh:
        now = now or utcnow()
        workers = live_workers(session, now=now)
        ewma = kind_ewma(session, job.kind)
    else:
        now = utcnow()
        workers = _cached(session, "live_workers", lambda: live_workers(session))
        ewma = _cached(session, f"ewma:{job.kind}", lambda: kind_ewma(session, job.kind))
    position = queue_position(session, job)
    eta: float | None = None
    if job.status in TERMINAL:
        eta = 0.0
    elif workers and ewma is not None:
        if job.status == QUEUED:
            eta = (position or 0) * ewma / max(1, workers) + ewma
            eta = max(eta, (job.run_after - now).total_seconds() + ewma)
        elif job.started_at is not None:
            eta = max(0.0, ewma - (now - job.started_at).total_seconds())
    return QueueEstimate(position=position, eta_s=eta, live_workers=workers, ewma_s=ewma)


@dataclass
class QueueStats:
    counts: dict[str, int]
    delayed: int
    live_workers: int
    ewma_s: float | None


def queue_stats(session: Session, *, kind: str = "generate", shop_id: int | None = None) -> QueueStats:
    now = utcnow()
    query = select(Job.status, func.count()).group_by(Job.status)
    if shop_id is not None:
        query = query.where(Job.shop_id == shop_id)
    counts = {status: 0 for status in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)}
    for status, count in session.exec(query).all():
        counts[status] = int(count)
    delayed_q = select(func.count()).select_from(Job).where(Job.status == QUEUED, Job.run_after > now)
    if shop_id is not None:
        delayed_q = delayed_q.where(Job.shop_id == shop_id)
    delayed = int(session.exec(delayed_q).one())
    return QueueStats(
        counts=counts,
        delayed=delayed,
        live_workers=live_workers(session, now=now),
        ewma_s=kind_ewma(session, kind),
    )


def register_worker(
    engine: Engine, *, worker_id: str, device: str, current_job_id: str | None = None
) -> None:
    """Create or refresh a worker slot's row (live-worker count for ETAs)."""
    import socket

    with session_scope(engine) as session:
        begin_immediate(session)
        row = session.get(JobWorker, worker_id)
        now = utcnow()
        if row is None:
            row = JobWorker(
                id=worker_id,
                hostname=socket.gethostname()[:255],
                pid=os.getpid(),
                device=device,
                started_at=now,
            )
        row.last_seen_at = now
        row.current_job_id = current_job_id
        session.add(row)


def unregister_worker(engine: Engine, *, worker_id: str) -> None:
    with session_scope(engine) as session:
        begin_immediate(session)
        row = session.get(JobWorker, worker_id)
        if row is not None:
            session.delete(row)


def prune_workers(engine: Engine, *, older_than_s: float = 10 * WORKER_LIVE_S) -> int:
    from sqlalchemy import delete

    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with session_scope(engine) as session:
        result = session.execute(delete(JobWorker).where(JobWorker.last_seen_at < cutoff))  # type: ignore[arg-type]
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------------ results


@dataclass
class JobResult:
    job_id: str
    generation_id: int
    input_hash: str
    glb_key: str
    splat_key: str | None
    preview_key: str | None
    metadata: dict[str, Any]
    stats: dict[str, Any]
    cached: bool
    duration_s: float | None


def get_job_result(*, session: Session, job_id: str) -> JobResult | None:
    """The stored artifacts of a succeeded job (storage keys, engine metadata, cached flag), else None."""
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job.status != SUCCEEDED or job.generation_id is None:
        return None
    generation = session.get(Generation, job.generation_id)
    if generation is None:
        return None
    return JobResult(
        job_id=job.id,
        generation_id=generation.id or 0,
        input_hash=generation.input_hash,
        glb_key=generation.glb_key,
        splat_key=generation.splat_key,
        preview_key=generation.preview_key,
        metadata=generation.meta,
        stats=generation.stats,
        cached=job.cached,
        duration_s=generation.duration_s,
    )


def active_job_count(session: Session, *, api_key_id: int | None = None, shop_id: int | None = None) -> int:
    query = select(func.count()).select_from(Job).where(Job.status.in_(list(ACTIVE)))  # type: ignore[attr-defined]
    if api_key_id is not None:
        query = query.where(Job.api_key_id == api_key_id)
    if shop_id is not None:
        query = query.where(Job.shop_id == shop_id)
    return int(session.exec(query).one())


def delete_job(session: Session, job: Job) -> list[str]:
    """Delete a job; returns the storage keys that no other job uses any more (the caller deletes the files
    after commit). A running job must be canceled first."""
    if job.status == RUNNING:
        raise InvalidTransition("the job is running; cancel it first, then delete it")
    orphaned: list[str] = []
    generation_id = job.generation_id
    image_keys = list(job.inputs.get("image_keys", []))
    render_keys = session.exec(
        select(PlatformRender.storage_key).where(PlatformRender.job_id == job.id)
    ).all()
    session.delete(job)
    session.flush()  # the job's platform_render rows go with it (ON DELETE CASCADE)
    for key in set(render_keys):
        shared = session.exec(select(func.count()).where(PlatformRender.storage_key == key)).one()
        if not shared:
            orphaned.append(key)
    if generation_id is not None:
        others = session.exec(
            select(func.count()).select_from(Job).where(Job.generation_id == generation_id)
        ).one()
        generation = session.get(Generation, generation_id)
        if generation is not None and not others:
            orphaned += [k for k in (generation.glb_key, generation.splat_key, generation.preview_key) if k]
            session.delete(generation)
    for key in image_keys:
        from sqlalchemy import String, cast

        users = session.exec(
            select(func.count()).select_from(Job).where(cast(Job.inputs, String).contains(key))  # type: ignore[arg-type]
        ).one()
        if not users:
            orphaned.append(key)
    session.flush()
    return orphaned
