"""Cleanup: delete a family's finished jobs older than a cutoff, and the files nothing else uses.

Never touched: live jobs (queued, running) and their files; models a merchant approved or that are
published (an `approval` row naming the job, or any job of the same generation); files another job still
references (`commands.delete` keeps those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from shop_app.jobs import commands
from shop_app.models.jobs import TERMINAL, Job
from shop_app.models.shopify import Approval


@dataclass
class PurgeReport:
    deleted_jobs: list[str] = field(default_factory=list)
    kept_jobs: list[str] = field(default_factory=list)  # old enough, but their model is approved/published
    orphaned_keys: list[str] = field(default_factory=list)  # storage keys the caller deletes after commit


def _protected_generations(session: Session) -> set[int]:
    rows = session.exec(
        select(Job.generation_id)
        .join(Approval, col(Approval.job_id) == col(Job.id))
        .where(or_(col(Approval.status) == "approved", col(Approval.publish_status) == "published"))
    ).all()
    return {gid for gid in rows if gid is not None}


def purge_finished(
    session: Session, *, family: str, finished_before: datetime, limit: int = 500
) -> PurgeReport:
    """Delete up to `limit` of `family`'s terminal jobs that finished before `finished_before`."""
    report = PurgeReport()
    protected = _protected_generations(session)
    jobs = session.exec(
        select(Job)
        .where(
            col(Job.family) == family,
            col(Job.status).in_(sorted(TERMINAL)),
            col(Job.finished_at) < finished_before,
        )
        .order_by(col(Job.finished_at))
        .limit(limit)
    ).all()
    for job in jobs:
        if job.generation_id is not None and job.generation_id in protected:
            report.kept_jobs.append(job.id)
            continue
        report.deleted_jobs.append(job.id)
        report.orphaned_keys += commands.delete(session, job)
    return report
