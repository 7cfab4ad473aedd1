"""The webhook inbox processor: retried on failure, in order per product, failures visible, exactly once.

Deliveries are recorded the way the web route records them (`record`), then processed step by step here (the
scheduler's thread runs the same `process_next` in a loop). A failing handler stands in for a failure the
real handlers would only show under a broken database or a bug.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import Product, WebhookEvent
from webhooks import inbox
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome
from webhooks.topics import TOPICS, Topic

SHOP = "acme.myshopify.com"


def _delivery(event: str, payload: dict, topic: str = "products/update", shop: str = SHOP) -> WebhookDelivery:
    return WebhookDelivery(
        topic=topic,
        shop_domain=shop,
        webhook_id=event,
        event_id=event,
        api_version="2026-10",
        triggered_at=utcnow(),
        raw=json.dumps(payload).encode(),
        payload=payload,
    )


def _product(pid: int, title: str, updated: str = "2026-12-01T10:00:00Z") -> dict:
    return {
        "id": pid,
        "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
        "title": title,
        "updated_at": updated,
    }


def _record(db: Engine, event: str, payload: dict, topic: str = "products/update") -> None:
    assert inbox.record(db, _delivery(event, payload, topic), order_key=TOPICS[topic].order_key(payload))


def _row(db: Engine, event: str) -> WebhookEvent:
    with session_scope(db) as session:
        return session.exec(select(WebhookEvent).where(WebhookEvent.event_id == event)).one()


def _due_now(db: Engine) -> None:
    """Let every waiting retry run now (instead of waiting out its backoff)."""
    with session_scope(db) as session:
        session.execute(update(WebhookEvent).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


@pytest.fixture
def shop(db: Engine) -> Engine:
    with session_scope(db) as session:
        session.add(Shop(domain=SHOP, installed_at=utcnow(), access_token_enc="x"))
    return db


@pytest.fixture
def processor(shop: Engine) -> inbox.InboxProcessor:
    return inbox.InboxProcessor(shop, delete_file=lambda key: None)


def _flaky(fails: int, seen: list[str]) -> Topic:
    real = TOPICS["products/update"]
    calls = {"n": 0}

    def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
        outcome = real.handle(session, delivery, shop)  # writes, then fails: the writes must roll back
        calls["n"] += 1
        if calls["n"] <= fails:
            raise RuntimeError(f"database hiccup {calls['n']}")
        seen.append(delivery.event_id)
        return outcome

    return Topic(name=real.name, handle=handle, module=real.module)


def test_a_failing_delivery_is_retried_and_holds_back_its_product_only(
    processor: inbox.InboxProcessor, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    monkeypatch.setitem(TOPICS, "products/update", _flaky(2, seen))
    _record(processor.engine, "p1-a", _product(1, "one, first"))
    _record(processor.engine, "p1-b", _product(1, "one, second", "2026-12-01T10:00:05Z"))
    _record(processor.engine, "p2-a", _product(2, "two"))

    first = processor.process_next()
    assert first is not None and first.status == "pending"  # failed once, will retry
    row = _row(processor.engine, "p1-a")
    assert row.attempts == 1 and "database hiccup 1" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    with session_scope(processor.engine) as session:
        assert session.exec(select(Product)).all() == []  # the failed attempt's writes were rolled back
    # p1-b waits behind p1-a; the other product is not held up. (p2-a fails once too: the hiccup count is shared.)
    assert processor.drain() == 1
    _due_now(processor.engine)
    assert processor.drain() == 3
    assert seen == ["p1-a", "p1-b", "p2-a"]
    assert {_row(processor.engine, e).status for e in ("p1-a", "p1-b", "p2-a")} == {"done"}
    with session_scope(processor.engine) as session:
        titles = {p.gid: p.title for p in session.exec(select(Product)).all()}
    assert titles == {"gid://shopify/Product/1": "one, second", "gid://shopify/Product/2": "two"}


def test_a_delivery_that_keeps_failing_is_marked_failed_and_logged(
    processor: inbox.InboxProcessor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    monkeypatch.setitem(TOPICS, "products/update", _flaky(inbox.MAX_ATTEMPTS, seen))
    _record(processor.engine, "doomed", _product(1, "one"))
    _record(processor.engine, "after", _product(1, "one, later", "2026-12-01T10:00:05Z"))
    with caplog.at_level(logging.WARNING):
        for _ in range(inbox.MAX_ATTEMPTS):
            _due_now(processor.engine)
            processor.process_next()
    row = _row(processor.engine, "doomed")
    assert row.status == "failed" and row.attempts == inbox.MAX_ATTEMPTS
    assert f"database hiccup {inbox.MAX_ATTEMPTS}" in (row.last_error or "")
    assert "failed after 8 attempt(s)" in caplog.text
    # A failed delivery no longer holds up the later ones of its product.
    assert processor.drain() == 1 and seen == ["after"]
    assert inbox.backlog(processor.engine) == {"failed": 1, "done": 1}


def test_an_unknown_topic_fails_at_once_without_blocking(processor: inbox.InboxProcessor) -> None:
    delivery = _delivery("odd", {"id": 1}, topic="orders/create")  # e.g. recorded by a newer release
    assert inbox.record(processor.engine, delivery, order_key="shop")
    assert processor.drain() == 1
    row = _row(processor.engine, "odd")
    assert row.status == "failed" and row.attempts == 1 and "no handler" in (row.last_error or "")


def test_each_delivery_is_processed_once(processor: inbox.InboxProcessor) -> None:
    _record(processor.engine, "once", _product(7, "seven"))
    # The same event again, and the same body under fresh ids: neither is stored.
    assert not inbox.record(processor.engine, _delivery("once", _product(7, "seven")), order_key="x")
    assert not inbox.record(processor.engine, _delivery("fresh", _product(7, "seven")), order_key="x")
    assert processor.drain() == 1
    assert processor.drain() == 0 and processor.process_next() is None
    row = _row(processor.engine, "once")
    assert row.status == "done" and row.attempts == 1 and row.outcome == "created"


def test_old_processed_deliveries_are_pruned_but_redactions_kept(processor: inbox.InboxProcessor) -> None:
    _record(processor.engine, "old", _product(1, "one"))
    gone = "gone.myshopify.com"
    redact = _delivery("redact", {"shop_id": 1, "shop_domain": gone}, topic="shop/redact", shop=gone)
    assert inbox.record(processor.engine, redact, order_key="shop")
    _record(processor.engine, "new", _product(2, "two"))
    processor.drain()
    with session_scope(processor.engine) as session:
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.event_id.in_(["old", "redact"]))  # type: ignore[attr-defined]
            .values(received_at=utcnow() - inbox.RETENTION - timedelta(days=1))
        )
    assert processor.prune() == 1
    with session_scope(processor.engine) as session:
        left = sorted(r.event_id for r in session.exec(select(WebhookEvent)).all())
    assert left == ["new", "redact"]


def test_concurrent_acknowledgements_record_each_event_once(processor: inbox.InboxProcessor) -> None:
    # Twenty deliveries at once (ten events, each delivered twice) while another writer holds the database:
    # on SQLite they are written in groups once it lets go; each event is accepted exactly once either way.
    import threading

    from shop_app.db import make_engine
    from shop_app.settings import DatabaseSettings

    db = processor.engine
    sqlite = db.dialect.name == "sqlite"
    other = make_engine(DatabaseSettings(database_url=str(db.url))) if sqlite else None
    holder = other.connect().execution_options(sqlite_begin="IMMEDIATE") if other else None
    if holder is not None:
        holder.begin()  # the scheduler processing a delivery, as far as the web process can tell
    start = threading.Barrier(21)
    answers: list[bool] = []
    lock = threading.Lock()

    def deliver(n: int) -> None:
        payload = _product(100 + n % 10, f"product {n % 10}")
        start.wait()
        accepted = inbox.record(db, _delivery(f"evt-{n % 10}", payload), order_key=f"p{n % 10}")
        with lock:
            answers.append(accepted)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    start.wait()
    if holder is not None and other is not None:
        holder.rollback()
        holder.close()
        other.dispose()
    for t in threads:
        t.join()
    assert sorted(answers) == [False] * 10 + [True] * 10
    assert processor.drain() == 10
    with session_scope(db) as session:
        rows = session.exec(select(WebhookEvent)).all()
        assert sorted(r.event_id for r in rows) == [f"evt-{i}" for i in range(10)]
        assert {r.status for r in rows} == {"done"}
