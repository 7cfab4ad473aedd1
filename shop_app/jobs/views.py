"""The poll of one job as a Core row: `JobView`, the columns a job resource, its owner check and its queue
estimate read, selected by id and built without the ORM.

A poll is the hottest read the service has (clients poll every job every few seconds). Loading the `Job`
entity through the session (identity map, instance state, attribute events over 36 columns) was about half of
a poll's CPU, profiled; a `JobView` is a plain tuple of the same values. It is read-only: writers load the
entity (`queries.get_owned`) under their transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Select
from sqlmodel import Session

from shop_app.jobs.errors import JobNotFound
from shop_app.jobs.owners import Owner, owns
from shop_app.models.jobs import Job
from shop_app.row_reads import read_row

JOB: Table = Job.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class JobView:
    """A job's row as a poll reads it (same names and types as `Job`'s columns)."""

    id: str
    kind: str
    status: str
    priority: int
    attempt: int
    max_attempts: int
    run_after: datetime
    progress: int
    stage: str | None
    logs: list[str]
    cancel_requested: bool
    inputs: dict[str, Any]
    params: dict[str, Any]
    generation_id: int | None
    cached: bool
    error_code: str | None
    error_message: str | None
    error_retryable: bool | None
    shop_id: int | None
    api_key_id: int | None
    batch_id: str | None
    family: str | None
    principal: str | None
    image_gid: str | None
    user_id: str | None
    session_id: str | None
    name: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None


@functools.cache
def _view_query() -> Select[Any]:
    columns = [JOB.c[f.name] for f in fields(JobView)]
    return select(*columns).where(JOB.c.id == bindparam("job_id", type_=String()))


def get_owned_view(session: Session, owner: Owner, job_id: str, *, family: str | None = None) -> JobView:
    """The job as a `JobView` if `owner` may see it (and, with `family`, it came through that family);
    otherwise JobNotFound, the same as for a missing id (the rule of `queries.get_owned`)."""
    bind = session.get_bind()
    if session.info.get("read") and not session.in_transaction() and isinstance(bind, Engine):
        # A read scope that has not touched the database yet: the row on a bare DB-API cursor (the
        # poll's hottest statement; see shop_app/row_reads.py).
        row = read_row(bind, _view_query(), {"job_id": job_id})
    else:
        row = session.connection().execute(_view_query(), {"job_id": job_id}).first()
    if row is None:
        raise JobNotFound(job_id)
    job = JobView(*row)
    if not owns(owner, job) or (family is not None and job.family != family):
        raise JobNotFound(job_id)
    return job
