"""A unit of work that writes: on SQLite it takes the write lock up front (BEGIN IMMEDIATE).

A deferred SQLite transaction that reads and then writes fails at once with "database is locked" when another
connection wrote in between (WAL snapshot upgrade), whatever the busy timeout; taking the lock first makes
concurrent webhook deliveries, page loads and scans wait their turn instead. PostgreSQL: a plain transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop_app.db import begin_immediate, session_scope


@contextmanager
def write_scope(engine: Engine) -> Iterator[Session]:
    with session_scope(engine) as session:
        begin_immediate(session)
        yield session
