"""Running database work from an endpoint: one transaction, off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.requests import Request

from shop_app.db import read_scope, session_scope, write_scope

T = TypeVar("T")


async def in_db(
    request: Request, work: Callable[[Session], T], *, write: bool = False, poll: bool = False
) -> T:
    """Run `work` with a session (one transaction) in the thread pool.

    `write=True` uses `write_scope` (SQLite's write lock first): a transaction that reads and then writes
    would otherwise fail with "database is locked" when another writer got in between. `poll=True` is for
    the hot read of one resource (a client polling a job): `read_scope`, no transaction around it."""
    engine = request.state.db
    if poll and not write and engine.dialect.name == "sqlite" and _idle_connections(engine) > 0:
        # A poll on SQLite is a few hundred microseconds of CPU that never waits (WAL readers do not block):
        # handing it to the thread pool and back cost more than the read (~15 %, measured), and the GIL runs
        # one of them at a time anyway. Only with an idle pooled connection: a checkout that had to wait for
        # one would stall the event loop.
        with read_scope(engine) as reader:
            return work(reader)

    def run() -> T:
        if poll and not write:
            with read_scope(engine) as reader:
                return work(reader)
        with write_scope(engine) if write else session_scope(engine) as session:
            return work(session)

    return await anyio.to_thread.run_sync(run, limiter=getattr(request.state, "db_threads", None))


def db_thread_limiter(engine: Engine) -> CapacityLimiter:
    """At most as many threads doing database work as the engine's pool keeps connections.

    The thread pool runs 40 at a time; with a pool of 10, every unit of work past the tenth opened an
    overflow connection and closed it again on return (a PostgreSQL connect per poll under load: seen as
    ~3 % of the server's samples at 100 clients, and as connection churn on the server). Waiting for a
    token is cheaper than connecting."""
    size = getattr(engine.pool, "size", None)
    return CapacityLimiter(max(1, int(size())) if callable(size) else 40)


def _idle_connections(engine: Engine) -> int:
    checkedin = getattr(engine.pool, "checkedin", None)
    return int(checkedin()) if callable(checkedin) else 0


def notify(request: Request, job_id: str) -> None:
    """Wake this process's SSE streams of `job_id` (after a command changed it)."""
    events = getattr(request.state, "job_events", None)
    if events is not None:
        events.notify(job_id)
