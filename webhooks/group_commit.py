"""SQLite acknowledgements written in groups: one transaction (one write lock, one commit) for every delivery
that arrived while the previous group was being written.

SQLite has one writer. While the scheduler processes a delivery it holds the write lock, and every
acknowledgement of the web process queued behind it, each then taking the lock and committing in turn
(profiled: a third of an acknowledgement's time was the wait on the acknowledgements ahead of it, a sixth its
own commit). Here the first waiting thread leads: it takes the lock once, inserts every queued delivery and
commits, then hands the lead to the next queued thread. Each row is still its own `INSERT … ON CONFLICT DO
NOTHING`, in arrival order, so the dedupe and the processing order are those of one-by-one inserts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Entry(Generic[T, R]):
    item: T
    ready: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    written: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Parameters:
    write_group: writes a list of items in one transaction and returns one result per item, in order.
    write_one: writes one item alone; used for each item of a group whose transaction failed, so one bad
        item fails only its own request.
    """

    def __init__(
        self,
        write_group: Callable[[Sequence[T]], list[R]],
        write_one: Callable[[T], R],
    ) -> None:
        self._write_group = write_group
        self._write_one = write_one
        self._lock = threading.Lock()
        self._queue: list[_Entry[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Write `item` (with whatever else is queued) and return its result; raises what its write raised."""
        entry: _Entry[T, R] = _Entry(item)
        with self._lock:
            self._queue.append(entry)
            if not self._leading:
                self._leading = entry.lead = True
        if not entry.lead:
            entry.ready.wait()
        if not entry.written:  # leading: the first of its group, or handed the lead by the group before
            self._lead()
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]  # written: its group set it

    def _lead(self) -> None:
        with self._lock:
            group, self._queue = self._queue, []
        try:
            self._write(group)
        finally:
            for entry in group:
                if not entry.written:  # the write itself was interrupted (BaseException)
                    entry.written, entry.error = True, RuntimeError("the acknowledgement was interrupted")
            with self._lock:
                if self._queue:
                    self._queue[0].lead = True  # the next group's first thread writes it
                    self._queue[0].ready.set()
                else:
                    self._leading = False
            for entry in group:
                entry.ready.set()

    def _write(self, group: list[_Entry[T, R]]) -> None:
        try:
            results = self._write_group([e.item for e in group])
        except Exception:  # noqa: BLE001 - each item is retried alone and fails (or not) on its own
            for entry in group:
                try:
                    entry.result = self._write_one(entry.item)
                except Exception as err:  # noqa: BLE001 - handed to the item's own request
                    entry.error = err
                entry.written = True
            return
        for entry, result in zip(group, results, strict=True):
            entry.result, entry.written = result, True
