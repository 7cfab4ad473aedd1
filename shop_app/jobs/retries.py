"""What happens after a failed or lost attempt: backoff, retry or final failure, and the lease reaper.

`fail_or_requeue` decides between "back to the queue after a capped, jittered backoff" and "failed for good"
(attempts used up, or a failure that retrying cannot fix); the reaper applies it to jobs whose worker stopped
heartbeating. Both run inside the caller's write transaction and bump the version with a log line (`touch`).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from shop_app.db import write_scope
from shop_app.jobs.rows import is_postgres, mark_canceled, touch
from shop_app.models.base import utcnow
from shop_app.models.jobs import FAILED, QUEUED, RUNNING, Job

logger = logging.getLogger(__name__)


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with jitter: min(cap, base * 2**attempt) * U(0.5, 1)."""
    rng = rng or random.Random()
    return float(min(cap_s, base_s * (2 ** max(0, attempt))) * rng.uniform(0.5, 1.0))


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 5.0
    cap_s: float = 300.0


DEFAULT_POLICY = RetryPolicy()


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
