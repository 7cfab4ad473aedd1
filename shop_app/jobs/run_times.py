"""Moving averages of measured run times per job kind (`kind_stats`), which the queue's ETAs read.

Every worker shares one row per kind, so the write is built to never make a completion wait: see
`_Durations`. On PostgreSQL a completion folds its sample in the completing statement itself
(`lease_statements.complete_storing_statement`); this module writes the rest (first sample of a kind, samples
kept under contention, SQLite). Samples are folded exactly as one-by-one EWMA updates (`EWMA_ALPHA` each).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from shop_app.db import write_scope
from shop_app.models.base import utcnow
from shop_app.models.jobs import Job, KindStats

logger = logging.getLogger(__name__)

EWMA_ALPHA = 0.3


def record_run_time(engine: Engine, job: Job, elapsed: float | None, now: datetime) -> None:  # noqa: ARG001
    """Fold a finished run into its kind's moving average, in its own short transaction, for completions
    that do not go through `complete_job` (which folds it in beside its own statement)."""
    if elapsed is None:
        return
    try:
        with write_scope(engine) as session:
            record_duration(session.connection(), kind=job.kind, seconds=elapsed)
    except SQLAlchemyError as err:
        logger.warning("could not record the run time of %s: %s", job.id, str(err).splitlines()[0])


class _Durations:
    """Run-time samples this process could not write yet, because another completion held the row.

    The per-kind row is shared by every worker, and its lock is held until the transaction commits; taken on
    every completion, it would serialise all workers behind one row. On PostgreSQL the update skips a locked
    row (SKIP LOCKED) and the sample is kept here; the next completion of this process that finds the row
    free writes all kept samples, exactly as one by one (EWMA_ALPHA per sample). Without contention (one
    worker, SQLite's single writer, real jobs seconds apart) every sample is written with its job. A process
    that dies loses only samples it kept, which makes the ETA slightly staler.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[float]] = {}

    def take(self, where: str, kind: str, seconds: list[float]) -> list[float]:
        with self._lock:
            return [*self._pending.pop((where, kind), []), *seconds]

    def keep(self, where: str, kind: str, samples: list[float]) -> None:
        with self._lock:
            self._pending[(where, kind)] = [*samples, *self._pending.get((where, kind), [])][-1000:]

    def has_pending(self, where: str, kind: str) -> bool:
        return (where, kind) in self._pending


_DURATIONS = _Durations()


def has_kept_samples(engine: Engine, kind: str) -> bool:
    """Whether this process holds samples of `kind` that a completion could not write yet (no connection:
    the completion asks after every job)."""
    return _DURATIONS.has_pending(str(engine.url), kind)


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


def record_duration(conn: Connection, *, kind: str, seconds: float | None) -> None:
    """Fold one measured run time (None: only the samples kept before) into `kind`'s average on `conn`, in
    its transaction if it has one."""
    where = str(conn.engine.url)
    samples = _DURATIONS.take(where, kind, [] if seconds is None else [seconds])
    if not samples:
        return
    decay, contribution, fresh = _fold(samples)
    stats = KindStats.__table__.c  # type: ignore[attr-defined]
    values = {
        "ewma_duration_s": case(
            (stats.samples == 0, fresh), else_=decay * stats.ewma_duration_s + contribution
        ),
        "samples": stats.samples + len(samples),
        "updated_at": utcnow(),
    }
    postgres = conn.dialect.name == "postgresql"
    target = stats.kind == kind
    if postgres:
        free = select(stats.kind).where(stats.kind == kind).with_for_update(skip_locked=True)
        target = stats.kind == free.scalar_subquery()
    updated = conn.execute(
        update(KindStats.__table__).where(target).values(**values).returning(stats.kind)  # type: ignore[attr-defined]
    ).first()
    if updated is not None:
        return
    insert = postgresql.insert if postgres else sqlite.insert
    created = conn.execute(
        insert(KindStats)
        .values(kind=kind, ewma_duration_s=fresh, samples=len(samples), updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["kind"])
        .returning(KindStats.__table__.c.kind)  # type: ignore[attr-defined]
    ).first()
    if created is None:  # the row exists and another completion holds it: write these next time
        _DURATIONS.keep(where, kind, samples)
