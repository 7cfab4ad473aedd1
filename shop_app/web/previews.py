"""Text-to-image previews in one web process: a bounded number of provider calls at once, a line for the
rest, and the real figures the queue endpoints report (waiting, generating, measured average time)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass
class PreviewTicket:
    position: int
    ahead: int
    queue_length: int
    generating: bool
    wait_s: float | None
    total_s: float | None

    def body(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "previews_ahead": self.ahead,
            "estimated_wait_seconds": self.wait_s,
            "estimated_total_seconds": self.total_s,
            "queue_length": self.queue_length,
            "currently_generating": self.generating,
        }


class PreviewQueue:
    """Text-to-image previews in this web process: at most `concurrency` provider calls at once, the rest wait.

    Figures are real: counts of waiting and generating previews, and a moving average of measured generation
    times (none until the first preview finished). Each web process keeps its own."""

    ALPHA = 0.3

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._slots = asyncio.Semaphore(self.concurrency)
        self.waiting = 0
        self.generating = 0
        self.average_s: float | None = None

    def _eta(self, ahead: int) -> tuple[float | None, float | None]:
        """(wait before starting, wait until done) for a preview with `ahead` previews before it."""
        if self.average_s is None:
            return None, None
        rounds = 0 if ahead < self.concurrency else (ahead - self.concurrency) // self.concurrency + 1
        wait = round(rounds * self.average_s, 1)
        return wait, round(wait + self.average_s, 1)

    def info(self) -> dict[str, Any]:
        wait, _ = self._eta(self.waiting + self.generating)
        return {
            "preview_queue_length": self.waiting,
            "currently_generating_preview": self.generating > 0,
            "preview_waiting": self.waiting,
            "estimated_wait_for_preview_seconds": wait,
            "estimated_preview_time_seconds": None if self.average_s is None else round(self.average_s, 1),
        }

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[PreviewTicket]:
        ahead = self.waiting + self.generating
        wait, total = self._eta(ahead)
        in_line = self.waiting if ahead >= self.concurrency else 0  # 0: a slot is free, it starts at once
        ticket = PreviewTicket(
            position=in_line + 1 if ahead >= self.concurrency else 0,
            ahead=in_line,
            queue_length=self.waiting,
            generating=self.generating > 0,
            wait_s=wait,
            total_s=total,
        )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.generating += 1
        started = time.monotonic()
        try:
            yield ticket
            took = time.monotonic() - started
            self.average_s = (
                took if self.average_s is None else self.ALPHA * took + (1 - self.ALPHA) * self.average_s
            )
        finally:
            self.generating -= 1
            self._slots.release()
