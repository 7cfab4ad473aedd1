"""The worker supervisor: one spawned child per slot, respawned when it dies; hard cancel after the grace
period; the lease reaper (so a worker-only deployment recovers lost leases); clean shutdown on SIGTERM.

spawn, not fork: CUDA must never be initialised in a parent that forks (pytorch#40403), and each child loads
the engine itself, once.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import secrets
import signal
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from shop_app.db import make_engine, session_scope
from shop_app.jobs.errors import LeaseLost
from shop_app.jobs.lease import fail_job, finish_canceled, release_job
from shop_app.jobs.retries import RetryPolicy, reap_expired_leases
from shop_app.jobs.workers import prune_workers
from shop_app.models.base import utcnow
from shop_app.models.jobs import RUNNING, Job
from shop_app.settings import Settings
from shop_app.worker.slot import WORKER_KINDS, SlotConfig
from shop_app.worker.slot_process import EXIT_ENGINE_UNAVAILABLE, slot_main

logger = logging.getLogger(__name__)

TICK_S = 0.25


@dataclass
class WorkerOptions:
    """Parameters:
    concurrency: number of slots (child processes); one per GPU is the usual choice.
    device: torch device for every slot (auto, cpu, cuda, cuda:N).
    engine: "real" or a plug-in `package.module:factory` (the test suite's is tests.fake_engine:load).
    engine_options: NAME=VALUE pairs passed to a plug-in's factory.
    poll_s: idle wait between claims when the queue is empty.
    kinds: job kinds to run.
    reap_every_s: how often this supervisor runs the lease reaper (None: half the lease, at most 10 s).
    """

    concurrency: int = 1
    device: str = "auto"
    engine: str = "real"
    engine_options: tuple[tuple[str, str], ...] = ()
    poll_s: float = 0.5
    kinds: tuple[str, ...] = WORKER_KINDS
    reap_every_s: float | None = None


@dataclass
class _Slot:
    index: int
    worker_id: str
    process: Any
    current: Any  # shared char array: the job id the child is running, or empty

    def job_id(self) -> str | None:
        value = bytes(self.current.value).decode(errors="ignore")
        return value or None


class Supervisor:
    def __init__(self, settings: Settings, options: WorkerOptions) -> None:
        if options.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.options = options
        self._ctx = mp.get_context("spawn")
        # Lock-free on purpose (see slot.ChildStop): a shared byte the children poll, and a plain flag the
        # signal handler sets; neither can deadlock when a signal lands mid-wait or a child dies holding a lock.
        self._stop_children = self._ctx.RawValue("b", 0)
        self._stopping = False
        self._slots: list[_Slot] = []
        self._db = make_engine(settings)
        self.policy = RetryPolicy(base_s=settings.job_retry_base_s, cap_s=settings.job_retry_cap_s)
        self._reap_every = options.reap_every_s or min(10.0, settings.job_lease_s / 2)
        self.exit_code = 0

    def request_stop(self, *_: Any) -> None:
        self._stopping = True

    def _spawn(self, index: int) -> _Slot:
        worker_id = f"{socket.gethostname()[:60]}-{os.getpid()}-s{index}-{secrets.token_hex(3)}"
        current = self._ctx.Array("c", 64)
        config = SlotConfig(
            settings=self.settings,
            slot=index,
            worker_id=worker_id,
            device=self.options.device,
            engine=self.options.engine,
            engine_options=self.options.engine_options,
            poll_s=self.options.poll_s,
            kinds=self.options.kinds,
        )
        process = self._ctx.Process(
            target=slot_main,
            args=(config, self._stop_children, current),
            name=f"nu3d-slot-{index}",
            daemon=False,
        )
        process.start()
        logger.info("slot %d started (pid %s, worker id %s)", index, process.pid, worker_id)
        return _Slot(index=index, worker_id=worker_id, process=process, current=current)

    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or request_stop); returns the process exit code."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self._slots = [self._spawn(i) for i in range(self.options.concurrency)]
            next_reap = time.monotonic()
            while not self._stopping:
                self._check_children()
                self._enforce_cancels()
                if time.monotonic() >= next_reap:
                    self._reap()
                    next_reap = time.monotonic() + self._reap_every
                time.sleep(TICK_S)
            self._shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._db.dispose()
        return self.exit_code

    def _check_children(self) -> None:
        for pos, slot in enumerate(self._slots):
            if slot.process.is_alive():
                continue
            code = slot.process.exitcode
            job_id = slot.job_id()
            if code == EXIT_ENGINE_UNAVAILABLE:
                logger.error("slot %d cannot load its engine; stopping the worker", slot.index)
                self.exit_code = 1
                self._stopping = True
                return
            logger.error(
                "slot %d (pid %s) exited with code %s; restarting it", slot.index, slot.process.pid, code
            )
            if job_id:
                self._settle_dead_slot(slot, job_id, f"the worker slot process exited with code {code}")
            self._slots[pos] = self._spawn(slot.index)

    def _settle_dead_slot(self, slot: _Slot, job_id: str, why: str) -> None:
        # The dead child still holds the lease; settle the job now instead of waiting for the reaper.
        try:
            with session_scope(self._db) as session:
                job = session.get(Job, job_id)
                cancel = bool(job and job.cancel_requested)
            if cancel:
                finish_canceled(self._db, job_id=job_id, worker_id=slot.worker_id, log=f"canceled ({why})")
            else:
                fail_job(
                    self._db,
                    job_id=job_id,
                    worker_id=slot.worker_id,
                    code="worker_lost",
                    message=why,
                    retryable=True,
                    policy=self.policy,
                )
        except LeaseLost:
            pass
        except SQLAlchemyError as err:
            logger.warning("cannot settle job %s now (the reaper will): %s", job_id, str(err).splitlines()[0])

    def _enforce_cancels(self) -> None:
        busy = {slot.job_id(): slot for slot in self._slots if slot.job_id()}
        if not busy:
            return
        grace = timedelta(seconds=self.settings.job_cancel_grace_s)
        try:
            with session_scope(self._db) as session:
                rows = session.exec(
                    select(Job.id, Job.lease_owner, Job.cancel_requested_at).where(
                        col(Job.id).in_(list(busy)),
                        Job.status == RUNNING,
                        Job.cancel_requested == True,  # noqa: E712
                    )
                ).all()
        except SQLAlchemyError:
            return
        now = utcnow()
        for job_id, owner, requested_at in rows:
            slot = busy.get(job_id)
            if slot is None or owner != slot.worker_id or requested_at is None or now - requested_at < grace:
                continue
            logger.warning("job %s ignored its cancel for %s; killing slot %d", job_id, grace, slot.index)
            self._kill(slot)
            try:
                finish_canceled(
                    self._db,
                    job_id=job_id,
                    worker_id=slot.worker_id,
                    log=f"canceled (stopped by force after {grace.total_seconds():g} s)",
                )
            except SQLAlchemyError as err:
                logger.warning("cannot record the cancel of %s: %s", job_id, str(err).splitlines()[0])
            self._slots[self._slots.index(slot)] = self._spawn(slot.index)

    def _kill(self, slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(timeout=10)

    def _reap(self) -> None:
        try:
            reap_expired_leases(self._db, policy=self.policy)
            prune_workers(self._db)
        except SQLAlchemyError as err:
            logger.warning("reaper skipped (database unavailable?): %s", str(err).splitlines()[0])

    def _shutdown(self) -> None:
        """Ask slots to stop (a running job is released at its next stage boundary); kill after the grace."""
        logger.info("worker stopping: letting running jobs release or finish")
        self._stop_children.value = 1
        deadline = time.monotonic() + max(self.settings.job_cancel_grace_s, 1.0)
        for slot in self._slots:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
        for slot in self._slots:
            if slot.process.is_alive():
                job_id = slot.job_id()
                logger.warning("slot %d did not stop in time; killing it", slot.index)
                self._kill(slot)
                if job_id:
                    try:
                        release_job(
                            self._db,
                            job_id=job_id,
                            worker_id=slot.worker_id,
                            reason="worker stopped by force",
                        )
                    except SQLAlchemyError as err:
                        logger.warning(
                            "cannot release %s (the reaper will): %s", job_id, str(err).splitlines()[0]
                        )
        logger.info("worker stopped")
