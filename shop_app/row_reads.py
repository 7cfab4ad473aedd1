"""One-row statements run straight on a pooled DB-API cursor: the job poll's hot read (and, through
`shop_app.row_writes`, the webhook acknowledgement's insert).

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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement


@dataclass
class _Prepared:
    sql: str
    names: Sequence[str] | None  # positional parameter order (SQLite's "?"), None for named parameters
    required: Sequence[str]  # the parameters each call must give
    defaults: dict[str, Any]  # the values the statement carries itself (literals in it), already processed
    binds: dict[str, Callable[[Any], Any]]  # bind processors by parameter name (only the ones that exist)
    columns: list[Any]  # the selected (or RETURNING) columns' types
    # Built from the first cursor description. Two threads racing here build the same list; either may win.
    processors: list[Callable[[Any], Any] | None] | None = None


# By the query's id and the dialect; the entry keeps the query alive, so its id cannot be reused by another.
_prepared: dict[tuple[int, str], tuple[ClauseElement, _Prepared]] = {}


def prepare(engine: Engine, query: ClauseElement) -> _Prepared:
    """`query` compiled for the engine's dialect, with its bind processors: built once per query and dialect.

    Refuses (ValueError) what Core computes per execution: Python-side column defaults, values rendered into
    the SQL per call (expanding IN lists), callables as values."""
    key = (id(query), engine.dialect.name)
    hit = _prepared.get(key)
    if hit is not None and hit[0] is query:
        return hit[1]
    dialect = engine.dialect
    compiled: Any = query.compile(dialect=dialect)  # an SQLCompiler: bind_names, positiontup
    per_call = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    per_call += sorted(compiled.literal_execute_params | compiled.post_compile_params, key=str)
    if per_call:
        raise ValueError(
            f"the statement needs values computed per execution: {per_call}; run it through Core"
        )
    binds: dict[str, Callable[[Any], Any]] = {}
    required: list[str] = []
    defaults: dict[str, Any] = {}
    for bind, name in compiled.bind_names.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
        if bind.callable is not None:
            raise ValueError(f"the statement's parameter {name} is a callable; run it through Core")
        if bind.required:
            required.append(name)
        else:
            defaults[name] = (
                processor(bind.value) if processor is not None and bind.value is not None else bind.value
            )
    prepared = _Prepared(
        sql=str(compiled),
        names=tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None,
        required=tuple(required),
        defaults=defaults,
        binds=binds,
        columns=[column.type for column in query.exported_columns],  # type: ignore[attr-defined]
    )
    _prepared[key] = (query, prepared)
    return prepared


def bind_args(prepared: _Prepared, params: Mapping[str, Any]) -> Any:
    """The driver's parameters: processed like Core binds them, positional where the dialect is."""
    missing = [name for name in prepared.required if name not in params]
    if missing:
        raise ValueError(f"no value for the statement's parameters {missing}")
    values = dict(prepared.defaults)
    for name, value in params.items():
        values[name] = prepared.binds[name](value) if name in prepared.binds else value
    return tuple(values[name] for name in prepared.names) if prepared.names is not None else values


def typed_row(
    engine: Engine, prepared: _Prepared, row: Sequence[Any] | None, description: Sequence[Any] | None
) -> tuple[Any, ...] | None:
    """A driver row typed as Core would return it (the result processors are built on the first row)."""
    if row is None:
        return None
    processors = prepared.processors
    if processors is None:
        dialect = engine.dialect
        processors = prepared.processors = [
            type_.dialect_impl(dialect).result_processor(dialect, column[1])
            for type_, column in zip(prepared.columns, description or (), strict=True)
        ]
    return tuple(
        value if p is None or value is None else p(value) for p, value in zip(processors, row, strict=True)
    )


@contextmanager
def driver_errors(engine: Engine, sql: str, args: Any, pooled: Any = None) -> Iterator[None]:
    """Raise the driver's errors as Core does: wrapped in SQLAlchemy's DBAPIError classes (callers catch
    `SQLAlchemyError`: the worker's claim loop, the web error mapping), and a connection the server dropped
    invalidated so the pool replaces it instead of handing it out again."""
    dialect = engine.dialect
    base = dialect.loaded_dbapi.Error
    try:
        yield
    except base as err:
        dbapi = getattr(pooled, "dbapi_connection", None)
        lost = bool(dialect.is_disconnect(err, dbapi, None))
        if lost and pooled is not None:
            pooled.invalidate(err)
        raise DBAPIError.instance(sql, args, err, base, connection_invalidated=lost, dialect=dialect) from err


def read_row(engine: Engine, query: ClauseElement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row of `query` with `params`, values typed as Core would return them; None if no row.

    `query` must be a long-lived object (a module constant or a cached builder's result): its compiled form
    is kept per dialect. Runs outside any transaction (PostgreSQL autocommit for the statement; SQLite's
    implicit per-statement transaction), on a connection checked out of the engine's pool and returned."""
    prepared = prepare(engine, query)
    args = bind_args(prepared, params)
    pooled = engine.raw_connection()
    try:
        dbapi: Any = pooled.dbapi_connection  # the driver's connection (psycopg or sqlite3)
        with driver_errors(engine, prepared.sql, args, pooled):
            row, description = _read(engine, dbapi, prepared.sql, args)
    finally:
        pooled.close()
    return typed_row(engine, prepared, row, description)


def _read(engine: Engine, dbapi: Any, sql: str, args: Any) -> tuple[Any, Any]:
    postgres = engine.dialect.name == "postgresql"
    # psycopg opens a transaction for a SELECT outside autocommit, which costs a BEGIN and, when the pool
    # resets the connection, a ROLLBACK: two round trips more than the read.
    restore = postgres and not dbapi.autocommit
    if restore:
        dbapi.autocommit = True
    try:
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchone(), cursor.description
        finally:
            cursor.close()
    finally:
        if restore:
            dbapi.autocommit = False
