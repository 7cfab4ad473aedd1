"""The webhook inbox: deliveries are recorded (one INSERT) and acknowledged, then processed here.

Why record-then-process: a delivery's handler is ~30 statements (product mirror, image rows, queued jobs); run
inside the request, 10 concurrent deliveries queued behind SQLite's one writer for seconds, past Shopify's 5 s
timeout. The acknowledgement is now one INSERT … ON CONFLICT DO NOTHING: a repeat (same event id) or a replay
of the same signed body (same hash) inserts nothing and is answered as a duplicate. On SQLite the web
process writes the acknowledgements that wait at the same moment in one transaction (`group_commit`).

Who processes: the scheduler (`nu3d scheduler`, exactly one per deployment). It already owns the Shopify mirror
(scans, reconciliation); the workers are GPU processes that only need the database and the store. The claim is
safe with more than one processor all the same (row lock + SKIP LOCKED on PostgreSQL, the write lock on SQLite).

Guarantees:
- exactly once: the handler's effects and the row's status="done" commit in one transaction; a crash in
  between rolls both back and the row is processed again;
- in order per `order_key` (one product, or the shop): a row is claimed only when no older row of its key is
  still pending, including one waiting for its retry;
- retried on failure: an exception rolls the handler back (savepoint) and the row waits
  min(RETRY_CAP_S, RETRY_BASE_S·2^attempt); after MAX_ATTEMPTS, or at once for a payload the handler refuses
  (a ValidationError), it is status="failed" with `last_error`, logged at ERROR, and no longer holds up its key.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from shop_app.db import Listener, write_scope
from shop_app.errors import ValidationError
from shop_app.models.base import utcnow
from shop_app.models.shopify import WebhookEvent
from shop_app.row_writes import write_returning
from webhooks.delivery import WebhookDelivery
from webhooks.group_commit import GroupCommit
from webhooks.handling import find_shop
from webhooks.inbox_claim import PENDING, first_runnable, locked_row
from webhooks.topics import TOPICS

logger = logging.getLogger(__name__)

DONE, FAILED = "done", "failed"  # and PENDING (webhooks.inbox_claim)
CHANNEL = "nu3d_webhooks"  # PostgreSQL NOTIFY channel (a trigger on webhook_event): a delivery was recorded
MAX_ATTEMPTS = 8
RETRY_BASE_S, RETRY_CAP_S = 2.0, 300.0
# Processed rows are kept this long, then pruned; the body-hash dedupe covers the same period, which is
# longer than the delivery window (NU3D_WEBHOOK_MAX_AGE_S): an older replay is refused by that window.
RETENTION = timedelta(days=7)
KEEP_FOREVER_TOPICS = ("shop/redact",)  # the audit trail of a redaction
SQLITE_PAUSE_CAP_S = 0.05
ACK_LOCK_POLL_S = 2.0  # SQLite: how long an acknowledgement looks for the write lock itself (shop_app.db)


def body_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


RECORD_FIELDS = (
    "shop_domain",
    "event_id",
    "webhook_id",
    "topic",
    "api_version",
    "triggered_at",
    "outcome",
    "received_at",
    "status",
    "order_key",
    "body",
    "body_sha256",
    "attempts",
)


@functools.cache
def _record_statement(dialect: str) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING id`, built once (its bind names are `v_<column>`)."""
    table = WebhookEvent.__table__  # type: ignore[attr-defined]
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    values = {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in RECORD_FIELDS}
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT that SQLAlchemy extends with RETURNING.
    return insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)


def record(engine: Engine, delivery: WebhookDelivery, *, order_key: str) -> bool:
    """Store the delivery for processing; False when it is a duplicate (nothing stored)."""
    values = {
        "v_shop_domain": delivery.shop_domain,
        "v_event_id": delivery.event_id,
        "v_webhook_id": delivery.webhook_id,
        "v_topic": delivery.topic,
        "v_api_version": delivery.api_version,
        "v_triggered_at": delivery.triggered_at,
        "v_outcome": "",
        "v_received_at": utcnow(),
        "v_status": PENDING,
        "v_order_key": order_key,
        "v_body": delivery.raw.decode("utf-8"),
        "v_body_sha256": body_hash(delivery.raw),
        "v_attempts": 0,
    }
    if engine.dialect.name == "postgresql":
        # One statement, committed on its own (autocommit): one round trip, on a bare cursor
        # (shop_app/row_writes.py). The table's trigger NOTIFYs the listening processor (migration
        # 0009_job_claim_order_index).
        return write_returning(engine, _record_statement("postgresql"), [values])[0] is not None
    return _ack_group(engine).submit((engine, values))


_AckItem = tuple[Engine, dict[str, Any]]
_ACK_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit[_AckItem, bool]] = weakref.WeakKeyDictionary()
_ACK_GROUPS_LOCK = threading.Lock()


def _ack_group(engine: Engine) -> GroupCommit[_AckItem, bool]:
    with _ACK_GROUPS_LOCK:
        group = _ACK_GROUPS.get(engine)
        if group is None:
            group = _ACK_GROUPS[engine] = GroupCommit(_insert_sqlite, lambda item: _insert_sqlite([item])[0])
        return group


def _insert_sqlite(items: Sequence[_AckItem]) -> list[bool]:
    """SQLite: the deliveries in one BEGIN IMMEDIATE transaction (`group_commit`), each its own INSERT. The
    transaction looks for the write lock every 0.5 ms while the scheduler holds it (`sqlite_lock_poll_s`),
    so it gets in as soon as a delivery's processing commits."""
    engine = items[0][0]
    rows = write_returning(
        engine,
        _record_statement("sqlite"),
        [values for _, values in items],
        sqlite_lock_poll_s=ACK_LOCK_POLL_S,
    )
    return [row is not None for row in rows]


def backlog(engine: Engine) -> dict[str, int]:
    """Rows per status (pending, done, failed): what `nu3d scheduler --once` and operators look at."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(col(WebhookEvent.status), func.count()).group_by(col(WebhookEvent.status))
        ).all()
    return {status: int(count) for status, count in rows}


@dataclass
class Processed:
    event_id: int
    topic: str
    status: str  # done | failed | pending (will retry)
    outcome: str
    orphaned_keys: list[str] = field(default_factory=list)


def _delivery(row: WebhookEvent) -> WebhookDelivery:
    import json

    raw = (row.body or "{}").encode("utf-8")
    return WebhookDelivery(
        topic=row.topic,
        shop_domain=row.shop_domain,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        api_version=row.api_version or "",
        triggered_at=row.triggered_at,
        raw=raw,
        payload=json.loads(raw),
    )


class InboxProcessor:
    """Processes recorded deliveries one at a time (see the module docstring for the guarantees)."""

    def __init__(
        self,
        engine: Engine,
        *,
        delete_file: Callable[[str], None],
        poll_s: float = 0.5,
        database_url: str | None = None,
    ) -> None:
        self.engine = engine
        self.delete_file = delete_file
        self.poll_s = poll_s
        self._database_url = database_url  # PostgreSQL: LISTEN for new deliveries instead of polling
        self._wake = threading.Event()
        self._last_prune: datetime | None = None

    def process_next(self) -> Processed | None:
        """Claim and process the next row that may run now; None when there is none."""
        now = utcnow()
        postgres = self.engine.dialect.name == "postgresql"
        if not postgres:
            # Look before taking SQLite's write lock: an idle poll holding it, however briefly, makes any
            # other connection's read-then-write transaction fail at once ("database is locked": SQLite does
            # not wait when a reader upgrades while another connection holds the lock).
            with self.engine.connect() as conn:
                if first_runnable(conn, now, lambda event_id: event_id) is None:
                    return None
        with write_scope(self.engine) as session:
            row = first_runnable(session.connection(), now, locked_row(session, skip_locked=postgres))
            if row is None:
                return None
            topic = TOPICS.get(row.topic)
            row.attempts += 1
            error: str | None = None
            permanent = False
            orphaned: list[str] = []
            try:
                if topic is None:
                    raise LookupError(f"no handler for topic {row.topic!r}")
                with session.begin_nested():
                    outcome = topic.handle(session, _delivery(row), find_shop(session, row.shop_domain))
                    orphaned = outcome.orphaned_keys
                    row.outcome = outcome.status[:64]
            except Exception as err:  # noqa: BLE001 - any handler failure is recorded on the row
                error = f"{type(err).__name__}: {getattr(err, 'message', None) or err}"[:1024]
                permanent = isinstance(err, ValidationError | LookupError)
            if error is None:
                row.status, row.processed_at, row.last_error, row.next_attempt_at = DONE, now, None, None
            elif permanent or row.attempts >= MAX_ATTEMPTS:
                row.status, row.processed_at, row.last_error = FAILED, now, error
                row.outcome = "failed"
            else:
                row.last_error = error
                row.next_attempt_at = now + timedelta(
                    seconds=min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (row.attempts - 1))
                )
            session.add(row)
            result = Processed(
                event_id=int(row.id or 0),
                topic=row.topic,
                status=row.status,
                outcome=row.outcome,
                orphaned_keys=orphaned,
            )
        self._after_commit(result, error, row)
        return result

    def _after_commit(self, result: Processed, error: str | None, row: WebhookEvent) -> None:
        if result.status == FAILED:
            logger.error(
                "webhook %s for %s (event %s) failed after %d attempt(s): %s",
                row.topic,
                row.shop_domain,
                row.event_id,
                row.attempts,
                error,
            )
        elif error is not None:
            logger.warning(
                "webhook %s for %s (event %s) failed (attempt %d), retrying at %s: %s",
                row.topic,
                row.shop_domain,
                row.event_id,
                row.attempts,
                row.next_attempt_at,
                error,
            )
        else:
            logger.info("webhook %s for %s: %s", row.topic, row.shop_domain, result.outcome)
        for key in result.orphaned_keys:
            try:
                self.delete_file(key)
            except Exception as err:  # noqa: BLE001 - the rows are gone; a leftover file is logged
                logger.warning("could not delete %s after %s: %r", key, row.topic, err)

    def drain(self, *, limit: int | None = None) -> int:
        """Process rows until none may run now (or `limit` were processed); how many were processed."""
        count = 0
        sqlite = self.engine.dialect.name == "sqlite"
        while limit is None or count < limit:
            started = time.monotonic()
            if self.process_next() is None:
                break
            count += 1
            if sqlite:
                # SQLite has one writer, and the web process's acknowledgements wait for it in SQLite's busy
                # handler, which only looks again after 1, 2, 5, ... 50 ms. Back to back, this loop would
                # take the lock again before a waiting INSERT looks (seconds-long acks were measured): pause
                # as long as the row held the lock (at most 50 ms), so an acknowledgement waits at most about
                # one row's processing.
                time.sleep(min(SQLITE_PAUSE_CAP_S, time.monotonic() - started))
        return count

    def prune(self, *, older_than: timedelta = RETENTION) -> int:
        """Delete processed rows past the retention period (their dedupe is covered by the delivery window)."""
        cutoff = utcnow() - older_than
        with write_scope(self.engine) as session:
            result = session.execute(
                delete(WebhookEvent).where(
                    WebhookEvent.status == DONE,  # type: ignore[arg-type]
                    WebhookEvent.received_at < cutoff,  # type: ignore[arg-type]
                    WebhookEvent.topic.not_in(KEEP_FOREVER_TOPICS),  # type: ignore[attr-defined]
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def wake(self) -> None:
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Process until `stop` is set: drain, then wait for a NOTIFY (PostgreSQL) or the poll interval."""
        listener = Listener(self._database_url, CHANNEL) if self._database_url else None
        try:
            while not stop.is_set():
                try:
                    self.drain(limit=1000)
                    if self._last_prune is None or utcnow() - self._last_prune > timedelta(hours=1):
                        self._last_prune = utcnow()
                        pruned = self.prune()
                        if pruned:
                            logger.info("webhook inbox: pruned %d processed deliveries", pruned)
                except Exception:  # the database went away: log, wait, try again
                    logger.exception("webhook inbox processing failed; retrying in %.1f s", self.poll_s)
                if listener is not None and listener.wait(self.poll_s) is not None:
                    continue  # woken by a NOTIFY, or the poll interval passed
                self._wake.wait(self.poll_s)
                self._wake.clear()
        finally:
            if listener is not None:
                listener.close()
