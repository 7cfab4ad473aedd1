"""What every part of the store shares: the lock, the clock, ids, the change counter, events, faults."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devstore.records import (
    AccessToken,
    AppRegistration,
    AuthCode,
    Blob,
    EventListener,
    Product,
    RefreshToken,
    Shop,
    StagedUpload,
    utcnow,
)


class StoreCore:
    """The store's collections and bookkeeping; :class:`devstore.state.Store` adds the operations."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.shops: dict[str, Shop] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.staged: dict[str, StagedUpload] = {}
        self.faults: dict[str, int] = {}  # target -> how many of the next requests fail (control API)
        self.bulk_operations: dict[int, Any] = {}  # devstore.bulk.BulkOperation by id (not in snapshots)
        self.blobs: dict[str, Blob] = {}
        self.apps: dict[str, AppRegistration] = {}
        # token exchange migrations: old token -> (answer, retryable until)
        self.migrations: dict[str, tuple[dict[str, Any], datetime]] = {}
        self.base_url: str = "http://127.0.0.1:8700"
        # signs staged-upload targets, standing in for the storage bucket's signing key
        self.staged_secret: bytes = secrets.token_bytes(32)
        # the last id handed out (snapshots keep it, so ids stay unique across restarts)
        self.last_id = 7_000_000_000_000
        # bumped by every mutation; keys the per-query sort cache (call bump() after editing records directly)
        self.version = 0
        self.query_cache: dict[tuple[Any, ...], Any] = {}
        self._listeners: list[EventListener] = []

    # ---- ids, clock, events -------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def next_id(self) -> int:
        with self.lock:
            self.last_id += 1
            return self.last_id

    def bump(self) -> None:
        """Record that state changed (invalidates cached sort orders)."""
        with self.lock:
            self.version += 1
            self.query_cache.clear()

    def add_listener(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    def emit(self, topic: str, shop: Shop, payload: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            listener(topic, shop, payload)

    def set_fault(self, target: str, count: int) -> None:
        with self.lock:
            self.faults[target] = count

    def take_fault(self, target: str) -> bool:
        """True (and one fewer left) when the next request of `target` should fail."""
        with self.lock:
            left = self.faults.get(target, 0)
            if left > 0:
                self.faults[target] = left - 1
            return left > 0

    def touch(self, product: Product) -> None:
        # updated_at must move strictly forward so `updated_at:>` reconciliation queries see every change.
        now = self.now()
        product.updated_at = now if now > product.updated_at else product.updated_at + timedelta(seconds=1)
        self.bump()
