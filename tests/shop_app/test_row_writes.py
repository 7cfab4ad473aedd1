"""The acknowledgement's bare-cursor insert stores what Core would, keeps nothing of a failed group, takes the
same SQLite writer lock as `write_scope`, and leaves the pooled connection as it found it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop_app.db import write_scope
from shop_app.models.shopify import WebhookEvent
from shop_app.row_writes import write_returning
from webhooks import inbox

TABLE = WebhookEvent.__table__  # type: ignore[attr-defined]
WHEN = datetime(2026, 12, 2, 18, 0, 0, 250000, tzinfo=UTC)


def _params(event: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "shop_domain": "acme.myshopify.com",
        "event_id": event,
        "webhook_id": f"wh-{event}",
        "topic": "products/update",
        "api_version": "2026-10",
        "triggered_at": WHEN,
        "outcome": "",
        "received_at": WHEN,
        "status": "pending",
        "order_key": "product:1",
        "body": '{"id": 1, "title": "Tee — ünïcode"}',
        "body_sha256": f"sha-{event}",
        "attempts": 0,
    }
    values.update(changes)
    return {f"v_{name}": value for name, value in values.items()}


def _events(db: Engine) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        query = select(TABLE.c.event_id, TABLE.c.received_at, TABLE.c.body).order_by(TABLE.c.id)
        return [tuple(r) for r in conn.execute(query)]


def test_inserted_rows_are_stored_as_core_stores_them_and_a_conflict_returns_none(db: Engine) -> None:
    statement = inbox._record_statement(db.dialect.name)
    first = write_returning(db, statement, [_params("a")])
    assert first[0] is not None and isinstance(first[0][0], int)
    # A group: a new row, a repeat of the first (same shop and event: nothing inserted), another new one.
    group = write_returning(db, statement, [_params("b"), _params("a", body_sha256="other"), _params("c")])
    assert [row is not None for row in group] == [True, False, True]
    rows = _events(db)
    assert [r[0] for r in rows] == ["a", "b", "c"]
    assert all(r[1] == WHEN and r[1].tzinfo is not None for r in rows)  # the UTC type's bind processor ran
    assert rows[0][2] == '{"id": 1, "title": "Tee — ünïcode"}'


def test_a_failing_statement_keeps_nothing_of_its_group(db: Engine) -> None:
    statement = inbox._record_statement(db.dialect.name)
    with pytest.raises(Exception, match="(?i)null"):
        write_returning(db, statement, [_params("c"), _params("d", shop_domain=None)])  # NOT NULL column
    assert _events(db) == []
    with pytest.raises(ValueError, match="v_status"):
        missing = _params("e")
        del missing["v_status"]
        write_returning(db, statement, [missing])
    # The pooled connection is usable and back to its usual mode: a session's rolled-back write is not kept.
    assert write_returning(db, statement, [_params("e")])[0] is not None
    with Session(db) as session:
        session.add(WebhookEvent(shop_domain="x", event_id="f", webhook_id="f", topic="t", received_at=WHEN))
        session.flush()
        session.rollback()
    assert [r[0] for r in _events(db)] == ["e"]


def test_sqlite_waits_for_a_writer_holding_the_database(db: Engine) -> None:
    if db.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    statement = inbox._record_statement("sqlite")
    inside = threading.Event()
    release = threading.Event()
    done: list[Any] = []

    def hold() -> None:
        with write_scope(db) as session:
            session.add(
                WebhookEvent(shop_domain="x", event_id="held", webhook_id="h", topic="t", received_at=WHEN)
            )
            session.flush()
            inside.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(30)
    writer = threading.Thread(target=lambda: done.append(write_returning(db, statement, [_params("w")])))
    writer.start()
    writer.join(0.2)  # a bounded look: it cannot have finished, whatever the machine's speed
    assert done == []
    assert _events(db) == []  # nothing committed while the scope holds the lock
    release.set()
    holder.join(30)
    writer.join(30)
    assert done and done[0][0] is not None
    assert [r[0] for r in _events(db)] == ["held", "w"]


def test_driver_errors_are_raised_as_core_raises_them(db: Engine) -> None:
    # The worker's claim loop and the web error mapping catch SQLAlchemy's classes, not the driver's.
    from sqlalchemy.exc import IntegrityError

    statement = inbox._record_statement(db.dialect.name)
    with pytest.raises(IntegrityError):
        write_returning(db, statement, [_params("n", shop_domain=None)])


def test_statements_core_must_render_per_call_are_refused(db: Engine) -> None:
    from sqlalchemy import bindparam, update

    from shop_app.row_reads import prepare

    expanding = select(TABLE.c.id).where(TABLE.c.event_id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="per execution"):
        prepare(db, expanding)
    # A literal in the statement is carried by the statement itself: no parameter needed for it.
    literal = update(TABLE).where(TABLE.c.status == "pending").values(outcome="x").returning(TABLE.c.id)
    write_returning(db, inbox._record_statement(db.dialect.name), [_params("p")])
    assert write_returning(db, literal, [{}])[0] is not None
    assert [r[0] for r in _events(db)] == ["p"]
