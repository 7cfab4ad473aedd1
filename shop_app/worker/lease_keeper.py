"""The thread that keeps a running job's lease alive and writes its progress (one per job in a slot)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from shop_app.jobs.errors import LeaseLost
from shop_app.jobs.lease import heartbeat

logger = logging.getLogger(__name__)


class LeaseKeeper(threading.Thread):
    """Heartbeats the lease every `interval_s` and writes progress soon after it changes.

    A thread, not the engine's callbacks, keeps the lease alive: one long stage (a big CUDA call) must not
    let the lease expire."""

    def __init__(
        self, db: Engine, *, job_id: str, worker_id: str, lease_s: float, interval_s: float, stop: Any
    ) -> None:
        super().__init__(name=f"lease-{job_id}", daemon=True)
        self._db = db
        self.job_id = job_id
        self.worker_id = worker_id
        self.lease_s = lease_s
        self.interval_s = interval_s
        self._stop_event = stop
        self._wake = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._stage: str | None = None
        self._progress: int | None = None
        self._logs: list[str] = []
        self.lost = False
        self.cancel_requested = False

    def report(self, stage: str, progress: int) -> None:
        with self._lock:
            if stage != self._stage:
                self._logs.append(stage)
            self._stage, self._progress = stage, progress
        self._wake.set()

    def should_stop(self) -> bool:
        return self.lost or self.cancel_requested or self._stop_event.is_set()

    def finish(self, *, flush: bool = False) -> None:
        """Stop heartbeating; with `flush`, first write the stages not yet recorded (before the final write)."""
        if self._done.is_set():
            return
        self._done.set()
        self._wake.set()
        self.join(timeout=5)
        if flush and not self.lost:
            self._write()

    def _write(self) -> bool:
        with self._lock:
            stage, progress, logs = self._stage, self._progress, self._logs
            self._logs = []
        try:
            reply = heartbeat(
                self._db,
                job_id=self.job_id,
                worker_id=self.worker_id,
                lease_s=self.lease_s,
                progress=progress,
                stage=stage,
                log=f"stage: {', '.join(logs)}" if logs else None,
            )
            self.cancel_requested = reply.cancel_requested
        except LeaseLost as err:
            logger.warning("lost the lease on %s: %s", self.job_id, err)
            self.lost = True
            return False
        except SQLAlchemyError as err:
            # The database may be restarting; keep trying until the lease would have expired anyway.
            logger.warning("heartbeat for %s failed, will retry: %s", self.job_id, str(err).splitlines()[0])
            with self._lock:
                self._logs = logs + self._logs
        return True

    def run(self) -> None:
        while not self._done.is_set():
            self._wake.wait(timeout=self.interval_s)
            self._wake.clear()
            if self._done.is_set() or not self._write():
                break
            # Progress writes at most ~4 times a second.
            self._done.wait(0.25)
