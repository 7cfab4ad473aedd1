"""Queue statistics and ETAs: a job's position, the wait it will see, counts per status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, func, select

from shop_app.jobs.owners import Owner, owner_clause
from shop_app.jobs.workers import live_workers
from shop_app.models.base import UTCDateTime, utcnow
from shop_app.models.jobs import (
    CANCELED,
    FAILED,
    QUEUED,
    RUNNING,
    STATUSES,
    SUCCEEDED,
    TERMINAL,
    Job,
    KindStats,
)

if TYPE_CHECKING:
    from shop_app.jobs.views import JobView

T = TypeVar("T")

# Plain SQL, compiled once: a job newer than the ranked snapshot (below) is counted with it.
_POSITION_SQL = text(
    "SELECT count(*) FROM job WHERE status = 'queued' AND (priority > :p OR (priority = :p AND "
    "(created_at < :c OR (created_at = :c AND id < :id))))"
).bindparams(bindparam("c", type_=UTCDateTime()))


class _QueueRanks:
    """A ranked snapshot of the queue, shared by every poller of this process and read at most once per
    RANK_TTL_S: `SELECT id … WHERE status = 'queued' ORDER BY priority DESC, created_at, id` walks
    `ix_job_claim` in order, so a poll costs a dict lookup instead of a COUNT(*) over the queue.

    A job queued after the snapshot is counted exactly (its own COUNT(*)), so a new job's position is right
    at once; positions of older jobs may be up to RANK_TTL_S old.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[int, tuple[float, dict[str, int]]] = {}

    def _fresh(self, where: int) -> dict[str, int] | None:
        hit = self._snapshots.get(where)
        if hit is None or time.monotonic() - hit[0] > RANK_TTL_S:
            return None
        return hit[1]

    def ranks(self, session: Session) -> dict[str, int]:
        where = id(session.get_bind().engine)
        ranks = self._fresh(where)
        if ranks is not None:
            return ranks
        with self._lock:  # one reader refreshes; the others wait for its snapshot instead of reading too
            ranks = self._fresh(where)
            if ranks is None:
                ids = session.execute(_RANKS_SQL).scalars().all()
                ranks = {job_id: rank for rank, job_id in enumerate(ids)}
                self._snapshots[where] = (time.monotonic(), ranks)
            return ranks


RANK_TTL_S = 1.0
_RANKS_SQL = text("SELECT id FROM job WHERE status = 'queued' ORDER BY priority DESC, created_at, id")
_ranks = _QueueRanks()


def queue_position(session: Session, job: Job | JobView, *, fresh: bool = False) -> int | None:
    """How many queued jobs the claim would take before this one (0 = next); None unless queued.
    From the shared ranked snapshot unless `fresh` (or the job is newer than the snapshot)."""
    if job.status != QUEUED:
        return None
    if not fresh:
        rank = _ranks.ranks(session).get(job.id)
        if rank is not None:
            return rank
    return int(
        session.execute(_POSITION_SQL, {"p": job.priority, "c": job.created_at, "id": job.id}).scalar_one()
    )


# Live workers and the moving average are the same for every job; polls read them at most once a second.
_SHARED_TTL_S = 1.0
_shared_cache: dict[tuple[str, str], tuple[float, object]] = {}


def clear_caches() -> None:
    """Forget the shared 1 s caches and the ranked snapshot (a database emptied under a running process, as
    the test suite does between tests, would otherwise be described by the old one for up to a second)."""
    _shared_cache.clear()
    with _ranks._lock:
        _ranks._snapshots.clear()


def _cached(session: Session, name: str, compute: Callable[[], T]) -> T:
    key = (str(session.get_bind().engine.url), name)
    hit = _shared_cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < _SHARED_TTL_S:
        return hit[1]  # type: ignore[return-value]  # stored by this function for the same name
    value = compute()
    _shared_cache[key] = (now, value)
    return value


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
    session: Session, job: Job | JobView, *, now: datetime | None = None, fresh: bool = False
) -> QueueEstimate:
    """Position and ETA. Position, live workers and the average come from 1 s caches unless `fresh` (or a
    `now` is given)."""
    exact = fresh or now is not None
    if exact:
        now = now or utcnow()
        workers = live_workers(session, now=now)
        ewma = kind_ewma(session, job.kind)
    else:
        now = utcnow()
        workers = _cached(session, "live_workers", lambda: live_workers(session))
        ewma = _cached(session, f"ewma:{job.kind}", lambda: kind_ewma(session, job.kind))
    position = queue_position(session, job, fresh=exact)
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
    counts: dict[str, int]  # per core status, every status present
    delayed: int  # queued but waiting for a retry's backoff
    live_workers: int
    ewma_s: float | None

    @property
    def waiting(self) -> int:
        return self.counts[QUEUED]

    @property
    def running(self) -> int:
        return self.counts[RUNNING]

    @property
    def finished(self) -> int:
        return self.counts[SUCCEEDED] + self.counts[FAILED] + self.counts[CANCELED]

    def new_job_wait_s(self) -> float | None:
        """Roughly how long a job submitted now waits before it starts; None without a measurement."""
        if self.ewma_s is None or not self.live_workers:
            return None
        return (self.waiting + self.running) * self.ewma_s / self.live_workers


def queued_count(session: Session) -> int:
    """Jobs waiting in the queue, every family's (they share the workers). Polls read it on every request, so it
    comes from the same 1 s cache as the live-worker count."""
    return _cached(
        session,
        "queued",
        lambda: int(
            session.exec(select(func.count()).select_from(Job).where(col(Job.status) == QUEUED)).one()
        ),
    )


def queue_stats(
    session: Session,
    *,
    kind: str = "generate",
    shop_id: int | None = None,
    family: str | None = None,
    owner: Owner | None = None,
) -> QueueStats:
    """Counts per status (optionally of one shop's, one API family's or one owner's jobs, by the ownership
    rule), delayed retries, workers. Live workers and the run-time average are the service's."""
    now = utcnow()
    scope = [
        clause
        for clause, wanted in (
            (col(Job.shop_id) == shop_id, shop_id is not None),
            (col(Job.family) == family, family is not None),
        )
        if wanted
    ]
    if owner is not None:
        scope.append(owner_clause(owner))
    query = select(col(Job.status), func.count()).where(*scope).group_by(col(Job.status))
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.exec(query).all():
        counts[status] = int(count)
    delayed_q = (
        select(func.count())
        .select_from(Job)
        .where(col(Job.status) == QUEUED, col(Job.run_after) > now, *scope)
    )
    delayed = int(session.exec(delayed_q).one())
    return QueueStats(
        counts=counts,
        delayed=delayed,
        live_workers=live_workers(session, now=now),
        ewma_s=kind_ewma(session, kind),
    )
