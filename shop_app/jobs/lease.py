"""The worker side of the queue: claim, heartbeat, complete, fail, release, finish a cancel, reap leases.

Concurrency rules:
- Claim takes the next queued row with `FOR UPDATE SKIP LOCKED` on PostgreSQL and inside `BEGIN IMMEDIATE` on
  SQLite (one writer at a time), so two workers never take the same row.
- Every write a worker makes (progress, result, failure) is fenced: it only lands while the row is still
  `running` and `lease_owner` is that worker. A worker whose lease expired gets `LeaseLost` and must stop.
- Every change bumps `version` (`rows.touch`).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from shop_app.db import write_scope
from shop_app.jobs.errors import LeaseLost
from shop_app.jobs.results import find_generation
from shop_app.jobs.rows import appended_logs, is_postgres, lock_job, mark_canceled, touch
from shop_app.models.base import utcnow
from shop_app.models.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, Generation, Job, KindStats

logger = logging.getLogger(__name__)

EWMA_ALPHA = 0.3


def claim_job(
    engine: Engine,
    *,
    worker_id: str,
    lease_s: float,
    kinds: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Job | None:
    """Take the next runnable job (highest priority, then oldest) and lease it to `worker_id`, or None.

    Two statements in one transaction: `UPDATE … WHERE id = (SELECT id … ORDER BY priority DESC, created_at,
    id LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING *`, which walks `ix_job_claim` in its order (no sort of
    the queue), then the log line (bounded in Python, like every other change)."""
    with write_scope(engine) as session:
        now = now or utcnow()
        nxt = aliased(Job, name="next_job")
        pick = select(nxt.id).where(col(nxt.status) == QUEUED, col(nxt.run_after) <= now)
        if kinds:
            pick = pick.where(col(nxt.kind).in_(list(kinds)))
        pick = pick.order_by(col(nxt.priority).desc(), col(nxt.created_at), col(nxt.id)).limit(1)
        if is_postgres(session):
            pick = pick.with_for_update(skip_locked=True)
        claim = (
            update(Job)
            .where(col(Job.id) == pick.scalar_subquery())
            .values(
                status=RUNNING,
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=lease_s),
                heartbeat_at=now,
                attempt=col(Job.attempt) + 1,
                started_at=now,
                progress=0,
                stage="claimed",
                version=col(Job.version) + 1,
                updated_at=now,
            )
            .returning(Job)
        )
        job = session.scalars(claim, execution_options={"synchronize_session": False}).first()
        if job is None:
            return None
        job.logs = appended_logs(job, now, f"attempt {job.attempt}/{job.max_attempts} started on {worker_id}")
        session.add(job)
        return job


@dataclass
class HeartbeatReply:
    cancel_requested: bool
    version: int


def owned_lease(session: Session, job_id: str, worker_id: str) -> Job:
    """The job locked for a worker's write, if that worker still holds its lease (else LeaseLost)."""
    job = lock_job(session, job_id)
    if job is None:
        raise LeaseLost("the job no longer exists")
    if job.status != RUNNING or job.lease_owner != worker_id:
        raise LeaseLost(f"job {job.id} is {job.status} and leased to {job.lease_owner or 'nobody'}")
    return job


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
    with write_scope(engine) as session:
        job = owned_lease(session, job_id, worker_id)
        now = now or utcnow()
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
            touch(job, now, log)
        session.add(job)
        return HeartbeatReply(cancel_requested=job.cancel_requested, version=job.version)


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


def _store_generation(session: Session, artifacts: ArtifactRecord, now: datetime) -> tuple[int, bool]:
    """The id of the generation for the artifacts' input hash, and whether it already existed (first writer
    wins). One INSERT … ON CONFLICT DO NOTHING RETURNING id; a second statement only when it existed."""
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    inserted = session.execute(
        insert(Generation)
        .values(
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
        .on_conflict_do_nothing(index_elements=["input_hash"])
        .returning(col(Generation.id))
    ).first()
    if inserted is not None:
        return int(inserted[0]), False
    existing = find_generation(session, artifacts.input_hash)
    if existing is None or existing.id is None:
        raise LookupError(f"generation {artifacts.input_hash} vanished while being stored")
    return existing.id, True


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
    with write_scope(engine) as session:
        job = owned_lease(session, job_id, worker_id)
        now = now or utcnow()
        if artifacts is not None:
            key = artifacts.input_hash
            generation_id, cached = _store_generation(session, artifacts, now)
        else:
            if input_hash is None:
                raise ValueError("complete_job needs artifacts or an input_hash")
            key, cached = input_hash, True
            found = find_generation(session, key)
            if found is None or found.id is None:
                raise LookupError(f"no stored generation for input {key}")
            generation_id = found.id
        job.generation_id = generation_id
        job.input_hash = key
        job.cached = cached
        elapsed = mark_succeeded(job, now, "completed (stored result reused)" if cached else "completed")
        session.add(job)
        if not cached and elapsed is not None:
            _record_duration(session, job.kind, elapsed)
    return job


def store_generation(engine: Engine, *, input_hash: str, artifacts: ArtifactRecord | None) -> int:
    """The generation id for an input: stored now from `artifacts`, or the one stored before. For jobs that
    make a model on the way to another result (platform renders from a prompt)."""
    with write_scope(engine) as session:
        if artifacts is None:
            found = find_generation(session, input_hash)
            if found is None or found.id is None:
                raise LookupError(f"no stored generation for input {input_hash}")
            return found.id
        generation_id, _ = _store_generation(session, artifacts, utcnow())
        return generation_id


def mark_succeeded(job: Job, now: datetime, log: str) -> float | None:
    """Set a leased job's final succeeded state (in the caller's fenced transaction); returns its run time."""
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
    touch(job, now, log)
    return elapsed


def record_run_time(engine: Engine, job: Job, elapsed: float | None, now: datetime) -> None:  # noqa: ARG001
    """Fold a finished run into its kind's moving average (queue ETAs), in its own short transaction, for
    completions that do not go through `complete_job` (which folds it into its own transaction)."""
    if elapsed is None:
        return
    try:
        with write_scope(engine) as session:
            _record_duration(session, job.kind, elapsed)
    except SQLAlchemyError as err:
        logger.warning("could not record the run time of %s: %s", job.id, str(err).splitlines()[0])


class _Durations:
    """Run-time samples this process could not write yet, because another completion held the row.

    The per-kind row is shared by every worker, and its lock is held until the transaction commits; taken on
    every completion, it would serialise all workers behind one row (one commit each). On PostgreSQL the
    update skips a locked row (SKIP LOCKED) and keeps the sample here; the next completion of this process
    that finds the row free writes all kept samples, exactly as one by one (EWMA_ALPHA per sample). Without
    contention (one worker, SQLite's single writer, real jobs seconds apart) every sample is written with its
    job. A process that dies loses only samples it kept, which makes the ETA slightly staler.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[float]] = {}

    def take(self, where: str, kind: str, seconds: float) -> list[float]:
        with self._lock:
            return [*self._pending.pop((where, kind), []), seconds]

    def keep(self, where: str, kind: str, samples: list[float]) -> None:
        with self._lock:
            self._pending[(where, kind)] = [*samples, *self._pending.get((where, kind), [])][-1000:]


_DURATIONS = _Durations()


def _fold(samples: list[float]) -> tuple[float, float, float]:
    """(decay, contribution, fresh): e_k = decay * e_0 + contribution; `fresh` when there is no e_0."""
    decay, contribution = 1.0, 0.0
    for sample in samples:
        decay *= 1 - EWMA_ALPHA
        contribution = (1 - EWMA_ALPHA) * contribution + EWMA_ALPHA * sample
    fresh = samples[0]
    for sample in samples[1:]:
        fresh = EWMA_ALPHA * sample + (1 - EWMA_ALPHA) * fresh
    return decay, contribution, fresh


def _record_duration(session: Session, kind: str, seconds: float) -> None:
    where = str(session.get_bind().engine.url)
    samples = _DURATIONS.take(where, kind, seconds)
    decay, contribution, fresh = _fold(samples)
    stats = KindStats.__table__.c  # type: ignore[attr-defined]
    values = {
        "ewma_duration_s": case(
            (stats.samples == 0, fresh), else_=decay * stats.ewma_duration_s + contribution
        ),
        "samples": stats.samples + len(samples),
        "updated_at": utcnow(),
    }
    postgres = is_postgres(session)
    target = stats.kind == kind
    if postgres:
        free = select(stats.kind).where(stats.kind == kind).with_for_update(skip_locked=True)
        target = stats.kind == free.scalar_subquery()
    updated = session.execute(
        update(KindStats.__table__).where(target).values(**values).returning(stats.kind)  # type: ignore[attr-defined]
    ).first()
    if updated is not None:
        return
    insert = postgresql.insert if postgres else sqlite.insert
    created = session.execute(
        insert(KindStats)
        .values(kind=kind, ewma_duration_s=fresh, samples=len(samples), updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind"])
        .returning(col(KindStats.kind))
    ).first()
    if created is None:  # the row exists and another completion holds it: write these next time
        _DURATIONS.keep(where, kind, samples)


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: min(cap, base * 2**attempt) * U(0.5, 1)."""
    rng = rng or random.Random()
    return float(min(cap_s, base_s * (2 ** max(0, attempt))) * rng.uniform(0.5, 1.0))


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 300.0


DEFAULT_POLICY = RetryPolicy()


def fail_job(
    engine: Engine,
    *,
    job_id: str,
    worker_id: str,
    code: str,
    message: str,
    retryable: bool,
    policy: RetryPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Job:
    """Record a failure (fenced). Retryable failures go back to the queue with backoff until max_attempts."""
    with write_scope(engine) as session:
        job = owned_lease(session, job_id, worker_id)
        fail_or_requeue(
            job,
            code=code,
            message=message,
            retryable=retryable,
            policy=policy,
            now=now or utcnow(),
            rng=rng,
        )
        session.add(job)
        return job


def fail_or_requeue(
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
        touch(job, now, f"attempt {job.attempt} failed ({code}: {message[:120]}); retrying in {delay:.1f} s")
    else:
        job.status = FAILED
        job.finished_at = now
        job.stage = "failed"
        touch(job, now, f"failed ({code}): {message[:200]}")


def release_job(engine: Engine, *, job_id: str, worker_id: str, reason: str = "worker shutting down") -> bool:
    """Give a running job back to the queue at once without counting the attempt (clean worker shutdown).

    Returns False if this worker no longer owned it."""
    with write_scope(engine) as session:
        try:
            job = owned_lease(session, job_id, worker_id)
        except LeaseLost:
            return False
        now = utcnow()
        if job.cancel_requested:
            mark_canceled(job, now, "canceled (worker stopped before finishing)")
        else:
            job.status = QUEUED
            job.attempt = max(0, job.attempt - 1)
            job.run_after = now
            job.lease_owner = None
            job.lease_expires_at = None
            job.progress = 0
            job.stage = "queued"
            touch(job, now, f"released back to the queue: {reason}")
        session.add(job)
        return True


def finish_canceled(engine: Engine, *, job_id: str, worker_id: str, log: str = "canceled") -> bool:
    """A worker (or its supervisor, after a hard kill) reports that it stopped a job on request (fenced)."""
    with write_scope(engine) as session:
        try:
            job = owned_lease(session, job_id, worker_id)
        except LeaseLost:
            return False
        mark_canceled(job, utcnow(), log)
        session.add(job)
        return True


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
    policy: RetryPolicy = DEFAULT_POLICY,
    now: datetime | None = None,
    rng: random.Random | None = None,
    limit: int = 200,
) -> ReapReport:
    """Return running jobs whose lease expired to the queue (with backoff), or fail them as `worker_lost`
    once they used all attempts. Safe to run from several processes at once (the scheduler, every worker
    supervisor): rows are taken with SKIP LOCKED on PostgreSQL and under the write lock on SQLite."""
    report = ReapReport()
    with write_scope(engine) as session:
        now = now or utcnow()
        query = (
            select(Job)
            .where(col(Job.status) == RUNNING, col(Job.lease_expires_at) < now)
            .order_by(col(Job.lease_expires_at))
            .limit(limit)
        )
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        for job in session.exec(query).all():
            owner = job.lease_owner
            if job.cancel_requested:
                mark_canceled(job, now, f"canceled (lease of {owner} expired)")
                report.canceled.append(job.id)
            else:
                fail_or_requeue(
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
