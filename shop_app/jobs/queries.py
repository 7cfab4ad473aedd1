"""Queries: one owned job, or one page of jobs through one filter type (cursor or offset paging)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from shop_app.jobs.errors import InvalidCursor, JobNotFound
from shop_app.jobs.owners import ApiKeyOwner, Owner, ShopOwner, owner_clause, owns
from shop_app.models.base import utcnow
from shop_app.models.jobs import Job, JobBatch


def get_job(session: Session, job_id: str) -> Job | None:
    """Any job by id, ownership unchecked (workers, webhooks, tests)."""
    return session.get(Job, job_id)


def get_owned(session: Session, owner: Owner, job_id: str, *, family: str | None = None) -> Job:
    """The job if `owner` may see it (and, with `family`, it was submitted through that family);
    otherwise JobNotFound, the same as for a missing id."""
    job = session.get(Job, job_id)
    if job is None or not owns(owner, job) or (family is not None and job.family != family):
        raise JobNotFound(job_id)
    return job


def get_owned_batch(session: Session, owner: Owner, batch_id: str) -> JobBatch:
    """A batch whose jobs `owner` may see (owned like its jobs: by API key or shop)."""
    batch = session.get(JobBatch, batch_id)
    if batch is not None:
        match owner:
            case ApiKeyOwner(admin=True):
                return batch
            case ApiKeyOwner(api_key_id=key_id) if batch.api_key_id == key_id:
                return batch
            case ShopOwner(shop_id=shop_id) if batch.shop_id == shop_id:
                return batch
    raise JobNotFound(batch_id)


def batch_jobs(session: Session, batch: JobBatch) -> Sequence[Job]:
    """A batch's jobs in submission order."""
    return session.exec(
        select(Job).where(col(Job.batch_id) == batch.id).order_by(col(Job.created_at), col(Job.id))
    ).all()


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: jobs are listed newest first, so the next page starts below this one."""

    created_at: datetime
    job_id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.job_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created, job_id = raw.split("|", 1)
            created_at = datetime.fromisoformat(created)
            if created_at.tzinfo is None or not job_id:  # we only ever hand out UTC times
                raise ValueError
            return cls(created_at=created_at, job_id=job_id)
        except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise InvalidCursor("the cursor is not valid; use next_cursor from the previous page") from None


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a list shows. `owner` is required: a list never crosses owners."""

    owner: Owner
    family: str | None = None
    statuses: Collection[str] | None = None  # core statuses
    user_id: str | None = None
    session_id: str | None = None
    batch_id: str | None = None
    # With `statuses` = queued: True keeps the jobs waiting out a retry's backoff, False the runnable ones.
    delayed: bool | None = None
    finished_before: datetime | None = None


@dataclass
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def list_jobs(
    session: Session,
    where: JobFilter,
    *,
    limit: int,
    cursor: Cursor | None = None,
    offset: int = 0,
) -> JobPage:
    """Newest first. `next_cursor` is set when more jobs follow."""
    query = select(Job).where(owner_clause(where.owner))
    if where.family is not None:
        query = query.where(col(Job.family) == where.family)
    if where.statuses:
        query = query.where(col(Job.status).in_(sorted(where.statuses)))
    if where.delayed is not None:
        later = col(Job.run_after) > utcnow()
        query = query.where(later if where.delayed else ~later)
    if where.finished_before is not None:
        query = query.where(col(Job.finished_at) < where.finished_before)
    for column, value in (
        (Job.user_id, where.user_id),
        (Job.session_id, where.session_id),
        (Job.batch_id, where.batch_id),
    ):
        if value:
            query = query.where(col(column) == value)
    if cursor is not None:
        query = query.where(
            or_(
                col(Job.created_at) < cursor.created_at,
                and_(col(Job.created_at) == cursor.created_at, col(Job.id) < cursor.job_id),
            )
        )
    rows = session.exec(
        query.order_by(col(Job.created_at).desc(), col(Job.id).desc()).offset(offset).limit(limit + 1)
    ).all()
    page = list(rows[:limit])
    more = len(rows) > limit
    return JobPage(
        jobs=page,
        next_cursor=Cursor(page[-1].created_at, page[-1].id).encode() if more and page else None,
    )
