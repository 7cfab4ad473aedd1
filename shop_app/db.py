"""Database engine and sessions. The engine is built from settings by the caller (lifespan, CLI); no module-level engine."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlmodel import Session, create_engine

from shop_app.settings import ConfigError, DatabaseSettings

logger = logging.getLogger(__name__)


def make_engine(settings: DatabaseSettings, **kwargs: Any) -> Engine:
    """Create the SQLAlchemy engine: SQLite with WAL + foreign keys, or PostgreSQL through psycopg 3."""
    try:
        url = make_url(settings.database_url)
    except ArgumentError as err:
        raise ConfigError(f"NU3D_DATABASE_URL is invalid: {err}") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ConfigError(f"NU3D_DATABASE_URL: cannot create {path.parent}: {err.strerror}") from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let BEGIN IMMEDIATE come from our own code (the job claim) instead of pysqlite's implicit BEGIN.
        writers = _WRITER_LOCKS[engine] = _WriterLock()
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.end)
        event.listen(engine, "rollback", writers.end)
        return engine
    kwargs.setdefault("pool_size", 10)
    # TCP keepalives: a connection whose server went away without closing it (a host or container restart)
    # fails within ~25 s instead of leaving a query waiting forever (seen: the webhook inbox thread stuck
    # in a claim after the shared server was restarted).
    kwargs.setdefault(
        "connect_args",
        {
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
    )
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _stamp_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled PostgreSQL connection is pinged before use only when it sat idle in the pool for longer than this.
# A ping on every checkout (`pool_pre_ping`) cost a round trip per unit of work: two of the four a claim and
# completion need. Connections in steady use are known to be alive; an idle one may have been dropped by a
# server restart, and is replaced before the caller sees an error.
PING_AFTER_IDLE_S = 1.0


def _stamp_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()  # the ping opened a transaction; leave the connection idle
    except Exception as err:  # any failure means this connection is unusable: the pool opens a new one
        raise DisconnectionError(str(err)) from err


BUSY_TIMEOUT_MS = 30_000
LOCK_POLL_EVERY_S = 0.0005


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _WriterLock:
    """Serialises this process's SQLite writers on a lock instead of in SQLite's busy handler.

    SQLite admits one writer; a second BEGIN IMMEDIATE waits in the busy handler, which sleeps and retries
    (1 ms, 2 ms, ... up to 100 ms per try), so under load waiting writers mostly sleep while the lock sits
    free. Taking a process-wide lock first hands the write lock from one thread to the next at once; the busy
    handler is left only for writers of other processes (worker, scheduler). Re-entrant, like SQLite's own
    behaviour for one thread. The lock is held from BEGIN IMMEDIATE to the COMMIT or ROLLBACK.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._held: set[int] = set()  # ids of connections holding it

    def begin(self, conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "NONE":  # `read_scope`: each statement is its own implicit transaction
            return
        if mode != "IMMEDIATE":
            conn.exec_driver_sql(f"BEGIN {mode}")
            return
        self._lock.acquire()
        try:
            poll_s = float(conn.get_execution_options().get("sqlite_lock_poll_s", 0.0))
            _begin_immediate(conn.connection.dbapi_connection, poll_s)
        except BaseException:
            self._lock.release()
            raise
        self._held.add(id(conn))

    def end(self, conn: Any) -> None:
        if id(conn) in self._held:
            self._held.discard(id(conn))
            self._lock.release()


_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()


@contextmanager
def sqlite_write_transaction(engine: Engine, *, lock_poll_s: float = 0.0) -> Iterator[sqlite3.Connection]:
    """A BEGIN IMMEDIATE … COMMIT transaction on a pooled sqlite3 connection, without SQLAlchemy's connection
    and transaction objects (~100 µs of CPU per unit of work; for the webhook acknowledgement's insert). Takes
    the same in-process writer lock and the same lock polling (`lock_poll_s`) as `write_scope`; rolls back
    on any error."""
    writers = _WRITER_LOCKS[engine]
    pooled = engine.raw_connection()
    try:
        raw: sqlite3.Connection = pooled.dbapi_connection  # type: ignore[assignment]
        with writers._lock:
            _begin_immediate(raw, lock_poll_s)
            try:
                yield raw
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
    finally:
        pooled.close()


def _begin_immediate(raw: sqlite3.Connection, poll_s: float) -> None:
    """BEGIN IMMEDIATE; with `poll_s`, first try for the write lock every LOCK_POLL_EVERY_S for that long.

    SQLite's busy handler sleeps 1, 2, 5, 10 … 50, 100 ms between looks, so a writer of another process that
    holds the lock for 10 ms can keep a waiting INSERT asleep for 25 ms or more after it let go (webhook
    acknowledgements waited ~90 ms at p99 behind the scheduler's inbox processing). Looking every 0.5 ms
    takes the lock as soon as it is free; past `poll_s` the busy handler waits as before."""
    if poll_s > 0:
        deadline = time.monotonic() + poll_s
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err):
                        raise
                if time.monotonic() > deadline:
                    break
                time.sleep(LOCK_POLL_EVERY_S)
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    raw.execute("BEGIN IMMEDIATE")


def begin_immediate(session: Session) -> None:
    """Start the session's transaction holding SQLite's write lock (BEGIN IMMEDIATE); plain begin elsewhere.

    Must be the first thing done in a fresh transaction: the job claim uses it so two workers never read
    the same queued row before either writes.
    """
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error, always close."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def write_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work that writes: the one write-transaction helper.

    On SQLite it takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction that reads and then
    writes fails at once with "database is locked" when another connection wrote in between (WAL snapshot
    upgrade), whatever the busy timeout; taking the lock first makes concurrent writers wait their turn.
    PostgreSQL: a plain transaction. `session.info["write"]` tells helpers they may write in it.
    """
    with session_scope(engine) as session:
        begin_immediate(session)
        session.info["write"] = True
        yield session


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session for a read that needs no snapshot across its statements (a poll of one job): no BEGIN and
    no COMMIT, each statement is its own transaction (PostgreSQL autocommit; SQLite's implicit
    transaction per statement). Saves two round trips or statements per poll. Must not write.

    The session checks a connection out only when a statement runs through it: a poll whose other reads are
    served from caches never does, and reads its job row with `row_reads.read_row` instead
    (`session.info["read"]` says it may)."""
    session = Session(bind=_reading_engine(engine), expire_on_commit=False)
    session.info["read"] = True
    try:
        yield session
    finally:
        session.close()


_reading_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _reading_engine(engine: Engine) -> Engine:
    """`engine` with the read scope's execution options (built once per engine: it is ~10 µs each time)."""
    reading = _reading_engines.get(engine)
    if reading is None:
        options: dict[str, Any] = (
            {"isolation_level": "AUTOCOMMIT"}
            if engine.dialect.name == "postgresql"
            else {"sqlite_begin": "NONE"}
        )
        reading = _reading_engines.setdefault(engine, engine.execution_options(**options))
    return reading


@contextmanager
def statement_scope(engine: Engine) -> Iterator[Connection]:
    """A Core connection for a unit of work that is ONE statement (atomic by itself).

    PostgreSQL: autocommit, which saves the BEGIN and COMMIT round trips of a transaction (the worker's claim
    and completion are single statements). SQLite: a BEGIN IMMEDIATE transaction, so the write waits on this
    process's writer lock instead of in SQLite's busy handler."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn
    else:
        with write_connection(engine) as conn:
            yield conn


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A Core write transaction (BEGIN IMMEDIATE on SQLite, like `write_scope`); commits on success."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        yield conn


def check_database(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query (readiness)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def listen_url(engine: Engine) -> str | None:
    """The engine's PostgreSQL URL as psycopg takes it (no driver suffix); None on SQLite (nothing to LISTEN)."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Listener:
    """LISTEN on one PostgreSQL channel over its own autocommit psycopg connection.

    Waiters use it to sleep until something happens instead of polling; every caller keeps a poll as the
    fall-back (a NOTIFY is lost while the connection is down, and SQLite has none)."""

    def __init__(self, url: str, channel: str) -> None:
        self._url, self._channel = url, channel
        self._conn: Any = None

    def wait(self, timeout: float) -> bool | None:
        """True when a notification arrived within `timeout`, False when none did, None when the channel is
        unavailable (the caller polls; the next call reconnects)."""
        try:
            if self._conn is None:
                import psycopg

                self._conn = psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=10,
                    keepalives_interval=5,
                    keepalives_count=3,
                )
                self._conn.execute(f"LISTEN {self._channel}")
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except Exception as err:  # noqa: BLE001 - any failure means "poll instead"
            logger.warning("LISTEN %s unavailable (%s); polling", self._channel, str(err).splitlines()[0])
            self.close()
            return None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                logger.debug("closing the LISTEN connection failed", exc_info=True)
