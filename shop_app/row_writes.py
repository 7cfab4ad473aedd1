"""Small writes run straight on a pooled DB-API cursor: the webhook acknowledgement's insert.

An acknowledgement is one `INSERT … ON CONFLICT DO NOTHING RETURNING id` (webhooks/inbox.py). Through
SQLAlchemy's Connection it cost ~450 µs of CPU on SQLite and ~400 µs on PostgreSQL per delivery (engine
connect, transaction events, execution context, result), against ~100 µs for the driver itself (measured
in-process); the acknowledgement is on Shopify's 5 s clock and on the web process's event loop's CPU.
`write_returning` compiles the statement once per dialect (`row_reads.prepare`: Core's own bind and result
processors, so values are typed exactly as through Core) and runs each parameter set on one pooled cursor:

- PostgreSQL, one parameter set: autocommit, one round trip (as `conn.execute` under AUTOCOMMIT was);
- PostgreSQL, several: one transaction;
- SQLite: one BEGIN IMMEDIATE transaction under the process's writer lock (`db.sqlite_write_transaction`).

Driver errors are raised as Core raises them (SQLAlchemy's DBAPIError classes; a dropped connection is
invalidated: `row_reads.driver_errors`). Bypassed: SQLAlchemy's statement events (none are registered on these engines; the pool's checkout ping
still runs, it is a pool event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ClauseElement

from shop_app.db import sqlite_write_transaction
from shop_app.row_reads import bind_args, driver_errors, prepare, typed_row


def write_returning(
    engine: Engine,
    statement: ClauseElement,
    param_sets: Sequence[Mapping[str, Any]],
    *,
    sqlite_lock_poll_s: float = 0.0,
) -> list[tuple[Any, ...] | None]:
    """Run `statement` once per parameter set, all in one transaction; the first row each returned (None
    where it returned none, e.g. an insert that hit its conflict). On any error nothing is kept.

    `statement` must be long-lived (a module constant or a cached builder's result)."""
    prepared = prepare(engine, statement)
    args = [bind_args(prepared, params) for params in param_sets]
    if engine.dialect.name == "sqlite":
        with (
            driver_errors(engine, prepared.sql, args),
            sqlite_write_transaction(engine, lock_poll_s=sqlite_lock_poll_s) as raw,
        ):
            return [_run(engine, prepared, raw.cursor(), a) for a in args]
    pooled = engine.raw_connection()
    try:
        with driver_errors(engine, prepared.sql, args, pooled):
            return _run_postgres(engine, prepared, pooled.dbapi_connection, args)
    finally:
        pooled.close()


def _run_postgres(engine: Engine, prepared: Any, dbapi: Any, args: list[Any]) -> list[tuple[Any, ...] | None]:
    if len(args) == 1 and not dbapi.autocommit:
        dbapi.autocommit = True
        try:
            return [_run(engine, prepared, dbapi.cursor(), args[0])]
        finally:
            dbapi.autocommit = False
    try:
        rows = [_run(engine, prepared, dbapi.cursor(), a) for a in args]
        dbapi.commit()
        return rows
    except BaseException:
        dbapi.rollback()
        raise


def _run(engine: Engine, prepared: Any, cursor: Any, args: Any) -> tuple[Any, ...] | None:
    try:
        cursor.execute(prepared.sql, args)
        row = cursor.fetchone() if cursor.description is not None else None
        return typed_row(engine, prepared, row, cursor.description)
    finally:
        cursor.close()
