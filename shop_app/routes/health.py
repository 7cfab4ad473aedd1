"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from shop_app.web.readiness import run_checks
from shop_app.web.state import app_state

logger = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:  # noqa: ARG001
    """Liveness: the process answers.
    ---
    responses:
      200:
        description: '{"status": "healthy"}'
    """
    return JSONResponse({"status": "healthy"})


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
