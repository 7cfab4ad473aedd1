"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import logging

from sqlmodel import col, func, select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from shop_app.db import check_database, session_scope
from shop_app.models.jobs import QUEUED, Job
from shop_app.web.state import ReadinessCheck, app_state

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0


async def health(request: Request) -> JSONResponse:  # noqa: ARG001
    """Liveness: the process answers.
    ---
    responses:
      200:
        description: '{"status": "healthy"}'
    """
    return JSONResponse({"status": "healthy"})


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


async def ready(request: Request) -> JSONResponse:
    """Readiness: every dependency answers. 503 names the failing check.
    ---
    responses:
      200:
        description: '{"status": "ready", "checks": {"database": "ok", "storage": "ok"}}'
      503:
        description: '{"status": "not_ready", "checks": {"database": "error: ..."}}'
    """
    results = await run_checks(request, app_state(request).readiness_checks)
    failing = [name for name, result in results.items() if result != "ok"]
    if failing:
        logger.warning("not ready: %s", ", ".join(f"{n} ({results[n]})" for n in failing))
        return JSONResponse({"status": "not_ready", "failing": failing, "checks": results}, status_code=503)
    return JSONResponse({"status": "ready", "checks": results})


routes: list[BaseRoute] = [
    Route("/health", health, methods=["GET"]),
    Route("/health/ready", ready, methods=["GET"]),
]
