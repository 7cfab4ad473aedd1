"""Which recorded webhook delivery may be processed next (webhooks/inbox.py processes it).

In order per `order_key`: a row may run only when no older row of its key is still pending, including one
waiting for its retry. The pending rows are walked in id order, a page at a time, through the partial index of
the pending rows (`ix_webhook_event_pending`, migration 0012).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, literal_column
from sqlmodel import col, select

from shop_app.models.shopify import WebhookEvent

PENDING = "pending"  # a row's status until it is processed (then done or failed)
CLAIM_PAGE = 64  # pending rows read per round trip while looking for one that may run


@functools.cache
def pending_page(*, skip_keys: bool) -> Any:
    """The next pending rows in id order: `(id, order_key, next_attempt_at)` after `:after`, leaving out the
    keys already known to wait (`:blocked`). Read from the partial index of the pending rows
    (`ix_webhook_event_pending`, or the (status, id) range on a planner's whim): never a step over processed
    rows, whatever the table's statistics say. The earlier single statement, a NOT EXISTS anti-join on older
    pending rows of the key, was planned as a hash anti-join over the whole table on an unanalysed PostgreSQL
    table after a burst: 1.3 s per claim."""
    query = (
        select(col(WebhookEvent.id), col(WebhookEvent.order_key), col(WebhookEvent.next_attempt_at))
        # The status as a literal, not a bound parameter: only then may either database read the partial index
        # (a plan must hold for every value of a parameter).
        .where(
            col(WebhookEvent.status) == literal_column(f"'{PENDING}'"),
            col(WebhookEvent.id) > bindparam("after"),
        )
        .order_by(col(WebhookEvent.id))
        .limit(CLAIM_PAGE)
    )
    if skip_keys:
        query = query.where(col(WebhookEvent.order_key).not_in(bindparam("blocked", expanding=True)))
    return query


_T = TypeVar("_T")


def first_runnable(conn: Any, now: datetime, take: Callable[[int], _T | None]) -> _T | None:
    """Walk the pending rows in id order and `take` the first that may run now; None when none may.

    The first pending row of a key met in id order is the oldest pending row of that key, so it may run
    unless it waits for its retry; then every later row of its key waits too (in order per key). `take`
    returns None when it cannot have the row (PostgreSQL: another processor holds it, or processed it since
    the page was read): that key waits as well, and the next call looks again."""
    blocked: set[str] = set()
    after = 0
    while True:
        params: dict[str, Any] = {"after": after}
        if blocked:
            params["blocked"] = sorted(blocked)
        rows = conn.execute(pending_page(skip_keys=bool(blocked)), params).all()
        for event_id, key, next_attempt_at in rows:
            if key in blocked:
                continue
            if next_attempt_at is None or next_attempt_at <= now:
                taken = take(int(event_id))
                if taken is not None:
                    return taken
            blocked.add(key)
        if len(rows) < CLAIM_PAGE:
            return None
        after = int(rows[-1][0])


def locked_row(session: Any, *, skip_locked: bool) -> Callable[[int], WebhookEvent | None]:
    """`take` for `first_runnable`: the row by id, still pending, locked for this transaction."""

    def take(event_id: int) -> WebhookEvent | None:
        query = select(WebhookEvent).where(
            col(WebhookEvent.id) == event_id, col(WebhookEvent.status) == PENDING
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return session.exec(query).first()

    return take
