"""Row-level helpers every job writer shares: ids, the version bump with its log line, the row lock.

Every change to a job goes through `touch` (version + updated_at + a bounded log), so SSE event ids and
change detection see it, whichever module made it.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from sqlmodel import Session, col, select

from shop_app.models.jobs import CANCELED, Job

MAX_LOG_LINES = 50
MAX_LOG_CHARS = 300
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str) -> str:
    """A sortable, unique id: 48 bits of milliseconds then 80 random bits, Crockford base32 (a ULID)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def log_clock(now: datetime) -> str:
    """The prefix of every log line: the UTC wall-clock time and a space."""
    return f"{now.strftime('%H:%M:%S')} "


def log_line(now: datetime, message: str) -> str:
    return f"{log_clock(now)}{message}"[:MAX_LOG_CHARS]


def appended_logs(job: Job, now: datetime, message: str) -> list[str]:
    return [*job.logs, log_line(now, message)][-MAX_LOG_LINES:]


def touch(job: Job, now: datetime, log: str | None = None) -> None:
    """Record a change: bump the version, stamp updated_at, and append `log` (bounded)."""
    job.version += 1
    job.updated_at = now
    if log:
        # Reassign (not append) so the JSON column is seen as changed.
        job.logs = appended_logs(job, now, log)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_job(session: Session, job_id: str) -> Job | None:
    """Load a job for a read-modify-write inside a write transaction (`shop_app.db.write_scope`): a row lock
    on PostgreSQL; SQLite's write lock is already held."""
    query = select(Job).where(col(Job.id) == job_id)
    if is_postgres(session):
        query = query.with_for_update()
    return session.exec(query).first()


def mark_canceled(job: Job, now: datetime, log: str) -> None:
    job.status = CANCELED
    job.finished_at = now
    job.lease_owner = None
    job.lease_expires_at = None
    job.stage = "canceled"
    job.error_code = "canceled"
    job.error_message = "canceled on request"
    job.error_retryable = False
    touch(job, now, log)
