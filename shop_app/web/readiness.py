"""Readiness checks: each is an async function that raises when its dependency does not answer."""

from __future__ import annotations

import asyncio

from sqlmodel import col, func, select
from starlette.requests import Request

from shop_app.db import check_database, session_scope
from shop_app.models.jobs import QUEUED, Job
from shop_app.web.state import ReadinessCheck

CHECK_TIMEOUT_S = 5.0


async def database_check(request: Request) -> None:
    await asyncio.to_thread(check_database, request.state.db)


async def storage_check(request: Request) -> None:
    await asyncio.to_thread(request.state.storage.check)


async def queue_check(request: Request) -> None:
    """The job table answers (migrated and reachable)."""

    def probe() -> None:
        with session_scope(request.state.db) as session:
            session.exec(select(func.count()).select_from(Job).where(col(Job.status) == QUEUED)).one()

    await asyncio.to_thread(probe)


CHECKS: dict[str, ReadinessCheck] = {
    "database": database_check,
    "storage": storage_check,
    "queue": queue_check,
}


async def run_checks(request: Request, checks: dict[str, ReadinessCheck]) -> dict[str, str]:
    """Each check's "ok" or "error: ..." (a check never raises out of here)."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(request), timeout=CHECK_TIMEOUT_S)
            results[name] = "ok"
        except TimeoutError:
            results[name] = f"error: no answer within {CHECK_TIMEOUT_S:.0f} s"
        except Exception as err:  # a probe reports every failure instead of raising
            results[name] = f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
    return results
