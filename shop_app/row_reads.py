"""One-row SELECTs run straight on a pooled DB-API cursor: the job poll's hot read.

`Connection.execute` of a compiled Core select costs ~40 µs of CPU on SQLite before the driver sees it
(statement cache key, execution context, result metadata; the cursor's own work is ~8 µs, measured), and a
poll does nothing else that needs SQLAlchemy. `read_row` compiles the statement once per dialect and, on the
first execution, builds the same result processors SQLAlchemy would (`TypeEngine.result_processor` for
each column type, with the driver's type code), so the values come back typed exactly as through Core
(UTC-aware datetimes, decoded JSON, booleans).

Bypassed: SQLAlchemy's per-statement events (there are none on these engines; the pool's checkout ping
still runs, it is a pool event). Use it only for reads that need no transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import Select


@dataclass
class _Prepared:
    sql: str
    names: Sequence[str] | None  # positional parameter order (SQLite's "?"), None for named parameters
    binds: dict[str, Callable[[Any], Any]]  # bind processors by parameter name (only the ones that exist)
    columns: list[Any]  # the selected columns' types
    # Built from the first cursor description. Two threads racing here build the same list; either may win.
    processors: list[Callable[[Any], Any] | None] | None = None


# By the query's id and the dialect; the entry keeps the query alive, so its id cannot be reused by another.
_prepared: dict[tuple[int, str], tuple[Select[Any], _Prepared]] = {}


def _prepare(engine: Engine, query: Select[Any]) -> _Prepared:
    key = (id(query), engine.dialect.name)
    hit = _prepared.get(key)
    if hit is not None and hit[0] is query:
        return hit[1]
    dialect = engine.dialect
    compiled = query.compile(dialect=dialect)
    binds: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
    prepared = _Prepared(
        sql=str(compiled),
        names=tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None,
        binds=binds,
        columns=[column.type for column in query.selected_columns],
    )
    _prepared[key] = (query, prepared)
    return prepared


def _processors(engine: Engine, prepared: _Prepared, description: Sequence[Any]) -> list[Any]:
    dialect = engine.dialect
    return [
        type_.dialect_impl(dialect).result_processor(dialect, column[1])
        for type_, column in zip(prepared.columns, description, strict=True)
    ]


def read_row(engine: Engine, query: Select[Any], params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of `query` with `params`, values typed as Core would return them; None if no row.

    `query` must be a long-lived object (a module constant or a cached builder's result): its compiled form
    is kept per dialect. Runs outside any transaction (PostgreSQL autocommit for the statement; SQLite's
    implicit per-statement transaction), on a connection checked out of the engine's pool and returned."""
    prepared = _prepare(engine, query)
    values = {
        name: prepared.binds[name](value) if name in prepared.binds else value
        for name, value in params.items()
    }
    args: Any = tuple(values[name] for name in prepared.names) if prepared.names is not None else values
    pooled = engine.raw_connection()
    try:
        dbapi: Any = pooled.dbapi_connection  # the driver's connection (psycopg or sqlite3)
        postgres = engine.dialect.name == "postgresql"
        # psycopg opens a transaction for a SELECT outside autocommit, which costs a BEGIN and, when the pool
        # resets the connection, a ROLLBACK: two round trips more than the read.
        restore = postgres and not dbapi.autocommit
        if restore:
            dbapi.autocommit = True
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute(prepared.sql, args)
                row = cursor.fetchone()
                description = cursor.description
            finally:
                cursor.close()
        finally:
            if restore:
                dbapi.autocommit = False
    finally:
        pooled.close()
    if row is None:
        return None
    processors = prepared.processors
    if processors is None:
        processors = prepared.processors = _processors(engine, prepared, description)
    return tuple(
        value if p is None or value is None else p(value) for p, value in zip(processors, row, strict=True)
    )
