"""Live worker slots: each worker refreshes its row; ETAs and queue statistics count the live ones."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from shop_app.db import session_scope, write_scope
from shop_app.models.base import utcnow
from shop_app.models.jobs import JobWorker

WORKER_LIVE_S = 30.0  # a worker slot that has not refreshed its row for this long is not counted as live


def register_worker(
    engine: Engine, *, worker_id: str, device: str, current_job_id: str | None = None
) -> None:
    """Create or refresh a worker slot's row (live-worker count for ETAs)."""
    with write_scope(engine) as session:
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
    with write_scope(engine) as session:
        row = session.get(JobWorker, worker_id)
        if row is not None:
            session.delete(row)


def prune_workers(engine: Engine, *, older_than_s: float = 10 * WORKER_LIVE_S) -> int:
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with session_scope(engine) as session:
        result = session.execute(delete(JobWorker).where(col(JobWorker.last_seen_at) < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


def live_workers(session: Session, *, now: datetime | None = None) -> int:
    since = (now or utcnow()) - timedelta(seconds=WORKER_LIVE_S)
    return int(
        session.exec(
            select(func.count()).select_from(JobWorker).where(col(JobWorker.last_seen_at) >= since)
        ).one()
    )
