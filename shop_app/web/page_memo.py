"""Rendered answers kept in memory for a second: a hot read that many clients repeat is built once a second.

For a feed that clients poll (GET /api/nu3d), every answer built from the database costs milliseconds of
CPU (two statements, URL signing, JSON) while its content changes rarely; with ten clients polling, building
each one made the p99 ~200 ms. A memo entry is the exact bytes of an answer, kept `ttl_s`; a change becomes
visible to pollers at most that much later, which is also true of the caches behind it (API keys: 5 s).
The key must hold everything the answer depends on, including the credential presented (so a memo hit is
an answer this very credential was granted moments ago).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class PageMemo:
    def __init__(
        self, *, ttl_s: float = 1.0, max_entries: int = 1000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes]] = {}

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return None
            if self.clock() >= hit[0]:
                del self._entries[key]
                return None
            return hit[1]

    def put(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = self.clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:  # all live: drop the oldest half
                    ordered = sorted(self._entries.items(), key=lambda item: item[1][0])
                    self._entries = dict(ordered[len(ordered) // 2 :])
            self._entries[key] = (self.clock() + self.ttl_s, body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
