"""How the inbox finds the next delivery that may run: past a retrying product's whole backlog, around rows
another processor holds, and through an index of the pending rows only, whatever the table's statistics.

Rows are inserted directly (thousands of processed ones stand for a week of history); the processing itself
is covered in test_inbox.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.engine import Engine
from sqlmodel import select

from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import WebhookEvent
from webhooks import inbox, inbox_claim

SHOP = "acme.myshopify.com"


def _rows(
    start: int, count: int, *, key: str, status: str = "pending", retry_in_s: float | None = None
) -> list:
    now = utcnow()
    rows = []
    for n in range(start, start + count):
        pid = 1000 + n
        body = json.dumps(
            {"id": pid, "admin_graphql_api_id": f"gid://shopify/Product/{pid}", "title": f"p{n}"}
        )
        rows.append(
            {
                "shop_domain": SHOP,
                "event_id": f"evt-{n}",
                "webhook_id": f"wh-{n}",
                "topic": "products/update",
                "api_version": "2026-10",
                "triggered_at": now,
                "outcome": "",
                "received_at": now,
                "status": status,
                "order_key": key,
                "body": body,
                "body_sha256": f"sha-{n}",
                "attempts": 0 if retry_in_s is None else 1,
                "next_attempt_at": None if retry_in_s is None else now + timedelta(seconds=retry_in_s),
            }
        )
    return rows


def _insert(db: Engine, rows: list) -> None:
    with db.begin() as conn:
        conn.execute(insert(WebhookEvent.__table__), rows)  # type: ignore[attr-defined]


def _status(db: Engine, event: str) -> str:
    with session_scope(db) as session:
        return session.exec(select(WebhookEvent.status).where(WebhookEvent.event_id == event)).one()


@pytest.fixture
def processor(db: Engine) -> inbox.InboxProcessor:
    with session_scope(db) as session:
        session.add(Shop(domain=SHOP, installed_at=utcnow(), access_token_enc="x"))
    return inbox.InboxProcessor(db, delete_file=lambda key: None)


def test_a_product_waiting_for_its_retry_does_not_hold_up_deliveries_behind_its_backlog(
    processor: inbox.InboxProcessor,
) -> None:
    db = processor.engine
    backlog = 3 * inbox_claim.CLAIM_PAGE  # more than one page of rows that must wait
    _insert(
        db, _rows(0, 1, key="product/1", retry_in_s=60)
    )  # the head failed once; its retry is a minute off
    _insert(db, _rows(1, backlog, key="product/1"))
    _insert(db, _rows(1 + backlog, 1, key="product/2"))

    first = processor.process_next()
    assert first is not None and first.status == "done"
    assert _status(db, f"evt-{1 + backlog}") == "done"  # product 2, found past three pages of product 1
    assert processor.process_next() is None  # product 1's rows all wait for its head
    assert {_status(db, f"evt-{n}") for n in range(backlog + 1)} == {"pending"}

    with session_scope(db) as session:
        session.execute(update(WebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert processor.drain() == backlog + 1
    with session_scope(db) as session:
        order = session.exec(
            select(WebhookEvent.event_id).order_by(WebhookEvent.processed_at, WebhookEvent.id)  # type: ignore[arg-type]
        ).all()
    assert [e for e in order if e != f"evt-{1 + backlog}"] == [f"evt-{n}" for n in range(backlog + 1)]


def test_a_delivery_another_processor_holds_makes_its_product_wait(
    processor: inbox.InboxProcessor,
) -> None:
    db = processor.engine
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a second processor waits for the whole database, not a row")
    _insert(db, _rows(0, 2, key="product/1"))
    _insert(db, _rows(2, 1, key="product/2"))
    with db.connect() as other, other.begin():
        # Another processor is in the middle of product 1's first delivery.
        other.execute(text("SELECT id FROM webhook_event WHERE event_id = 'evt-0' FOR UPDATE"))
        taken = processor.process_next()
        assert taken is not None
        assert _status(db, "evt-2") == "done"  # product 2 went ahead
        assert _status(db, "evt-1") == "pending"  # product 1's second delivery did not overtake its first
        assert processor.process_next() is None
    assert processor.drain() == 2
    assert {_status(db, f"evt-{n}") for n in range(3)} == {"done"}


def _plan(db: Engine) -> str:
    statement = inbox_claim.pending_page(skip_keys=True).params(after=0, blocked=["product/9", "shop"])
    sql = str(statement.compile(db, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN " if db.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.connect() as conn:
        rows: list[Any] = conn.execute(text(prefix + sql)).all()
    return "\n".join(str(row[0] if db.dialect.name == "postgresql" else row[-1]) for row in rows)


def test_the_claim_reads_only_pending_rows_in_order_before_and_after_the_statistics(db: Engine) -> None:
    # A week of processed deliveries and a fresh burst, first as the planner finds them right after the burst
    # (no statistics about it yet), then analysed.
    _insert(db, _rows(0, 4000, key="shop", status="done"))
    _insert(db, _rows(4000, 400, key="product/1"))
    for analysed in (False, True):
        if analysed:
            with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE webhook_event"))
        plan = _plan(db)
        if db.dialect.name == "postgresql":
            assert "Seq Scan" not in plan and "Sort" not in plan, plan
            assert (
                "Index Scan using ix_webhook_event_pending" in plan
                or "Index Cond: (((status)::text = 'pending'::text)" in plan
            ), plan
        else:
            assert "TEMP B-TREE" not in plan, plan  # no sort
            assert (
                "ix_webhook_event_pending" in plan or "ix_webhook_event_status_id (status=? AND id>?)" in plan
            ), plan
