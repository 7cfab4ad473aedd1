"""GET /admin/system-info, POST /admin/cleanup, GET /logs (admin API key), GET /health, GET /health/ready."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.db import session_scope
from shop_app.errors import ValidationError
from shop_app.jobs.cleanup import PurgeReport, purge_finished
from shop_app.jobs.stats import queue_stats
from shop_app.jobs.workers import WORKER_LIVE_S, live_workers
from shop_app.models.base import utcnow
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, JobWorker
from shop_app.routes.image2model.common import FAMILY, owner, run
from shop_app.storage import LocalStorage
from shop_app.web.json_body import strict_loads
from shop_app.web.readiness import CHECKS, run_checks
from shop_app.web.render import iso
from shop_app.web.state import app_state

logger = logging.getLogger(__name__)

MB = 1024 * 1024
LOG_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
}
MAX_LOG_LINES = 1000


def _disk_root(request: Request) -> Path:
    storage = request.state.storage
    if isinstance(storage, LocalStorage):
        return storage.root
    return Path(request.state.settings.var_dir)


def _gpus() -> list[dict[str, Any]] | None:
    """The host's NVIDIA GPUs from nvidia-smi (the web process never loads torch), or None without one."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [
                smi,
                "--query-gpu=name,memory.total,memory.used,utilization.gpu",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        logger.warning("nvidia-smi did not answer: %s", err)
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            name, total, used, util = parts
            gpus.append(
                {
                    "name": name,
                    "memory_total": int(float(total)),
                    "memory_used": int(float(used)),
                    "utilization_percent": float(util) if util.replace(".", "", 1).isdigit() else None,
                }
            )
    return gpus or None


def _host(request: Request) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    root = _disk_root(request)
    root.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(root)
    return {
        "platform": sys.platform,
        "cpu_count": os.cpu_count() or 1,
        "memory": {
            "total": memory.total // MB,
            "available": memory.available // MB,
            "percent": round(float(memory.percent), 1),
        },
        "disk": {
            "total": disk.total // MB,
            "used": disk.used // MB,
            "free": disk.free // MB,
            "percent": round(100.0 * disk.used / disk.total, 1) if disk.total else 0.0,
        },
        "gpu": _gpus(),
    }


async def system_info(request: Request) -> Response:
    """Host figures (memory and disk in MB; GPUs when nvidia-smi finds any), live workers and job counts.
    ---
    responses:
      200: {description: '{"system": {"platform", "cpu_count", "memory", "disk", "gpu"}, "workers", "jobs"}'}
      403: {description: INVALID_API_KEY (not an admin key)}
    """

    def work(session: Session) -> dict[str, Any]:
        owner(session, request, scope="admin")
        stats = queue_stats(session)
        since = utcnow() - timedelta(seconds=WORKER_LIVE_S)
        workers = session.exec(select(JobWorker).where(col(JobWorker.last_seen_at) >= since)).all()
        c = stats.counts
        return {
            "workers": [
                {"id": w.id, "device": w.device, "busy": w.current_job_id is not None} for w in workers
            ],
            "jobs": {
                "active": c[QUEUED] + c[RUNNING],
                "queued": c[QUEUED],
                "running": c[RUNNING],
                "completed": c[SUCCEEDED],
                "failed": c[FAILED] + c[CANCELED],
            },
        }

    counts = await run(request, work)
    return JSONResponse({"system": await run_in_threadpool(_host, request), **counts})


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = strict_loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError('send JSON like {"older_than_hours": 24}') from None
    if not isinstance(body, dict):
        raise ValidationError("the JSON body must be an object")
    return body


async def cleanup(request: Request) -> Response:
    """Delete this family's finished models older than `older_than_hours` (default 24) and the files nothing
    else uses. Live jobs, approved and published models, and files other jobs share are never removed.
    ---
    responses:
      200: {description: '{"cleaned_files", "freed_space_mb", "deleted_jobs", "kept_jobs"}'}
      400: {description: VALIDATION_ERROR}
      403: {description: INVALID_API_KEY}
    """
    body = await _json_body(request)
    hours = body.get("older_than_hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= 24 * 3650:
        raise ValidationError(
            "older_than_hours must be a number of hours from 0 to 87600",
            details={"field": "older_than_hours"},
        )
    cutoff = utcnow() - timedelta(hours=float(hours))
    storage = request.state.storage

    def work(session: Session) -> tuple[PurgeReport, list[int | None]]:
        owner(session, request, scope="admin")
        report = purge_finished(session, family=FAMILY, finished_before=cutoff)
        return report, [storage.size(key) for key in report.orphaned_keys]  # sizes before the files go

    report, sizes = await run(request, work, write=True)
    keys, kept, deleted_jobs = report.orphaned_keys, len(report.kept_jobs), len(report.deleted_jobs)

    def purge() -> tuple[int, int]:
        cleaned = freed = 0
        for key, size in zip(keys, sizes, strict=True):
            try:
                storage.delete(key)
            except Exception as err:  # the rows are gone; a leftover file is only wasted space
                logger.warning("cleanup could not delete %s: %s", key, err)
                continue
            if size is not None:
                cleaned += 1
                freed += size
        return cleaned, freed

    cleaned, freed = await run_in_threadpool(purge)
    logger.info(
        "cleanup: %d jobs and %d files removed (%d bytes), %d kept", deleted_jobs, cleaned, freed, kept
    )
    return JSONResponse(
        {
            "cleaned_files": cleaned,
            "freed_space_mb": round(freed / MB, 2),
            "deleted_jobs": deleted_jobs,
            "kept_jobs": kept,
        }
    )


def _since(text: str) -> datetime:
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise ValidationError(
            "since must be an ISO 8601 timestamp (2024-03-15T10:30:00Z) or epoch seconds",
            details={"field": "since"},
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def logs(request: Request) -> Response:
    """This web process's recent log lines, oldest first: `lines` (default 100, at most 1000), `level`
    (ERROR, WARNING, INFO, DEBUG: that level and above), `since` (ISO 8601 or epoch seconds).
    ---
    responses:
      200: {description: '{"logs": [{"timestamp", "level", "message", "correlation_id", "logger"}], "total_lines"}'}
      400: {description: VALIDATION_ERROR}
      403: {description: INVALID_API_KEY}
    """
    q = request.query_params
    try:
        lines = int(q.get("lines", 100))
    except ValueError:
        raise ValidationError("lines must be a whole number", details={"field": "lines"}) from None
    if not 1 <= lines <= MAX_LOG_LINES:
        raise ValidationError(f"lines must be from 1 to {MAX_LOG_LINES}", details={"field": "lines"})
    level_name = q.get("level", "DEBUG").upper()
    if level_name not in LOG_LEVELS:
        raise ValidationError(
            f"unknown level {q.get('level')!r}; use ERROR, WARNING, INFO or DEBUG", details={"field": "level"}
        )
    since = _since(q["since"]) if q.get("since") else None
    await run(request, lambda session: owner(session, request, scope="admin"))
    entries = app_state(request).log_buffer.recent(lines=lines, min_level=LOG_LEVELS[level_name], since=since)
    return JSONResponse(
        {
            "logs": [
                {
                    "timestamp": iso(e.timestamp),
                    "level": e.level,
                    "message": e.message,
                    "correlation_id": e.correlation_id,
                    "logger": e.logger,
                }
                for e in entries
            ],
            "total_lines": len(entries),
        }
    )


async def health(request: Request) -> Response:  # noqa: ARG001
    """Liveness.
    ---
    responses:
      200: {description: '{"status": "healthy"}'}
    """
    return JSONResponse({"status": "healthy"})


async def _redis(request: Request) -> str:
    url = request.state.settings.redis_url
    if not url:
        return "not_configured"
    import redis.asyncio as aioredis

    client = aioredis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await asyncio.wait_for(client.ping(), timeout=5)
        return "connected"
    except Exception as err:  # a probe reports every failure
        return f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}"
    finally:
        await client.aclose()


WORDS = {"database": "connected", "storage": "reachable", "queue": "ok"}


def _model_service(request: Request) -> str:
    """The document's `fal_api` check, for what makes the models here: the workers."""
    with session_scope(request.state.db) as session:
        workers = live_workers(session)
    return "reachable" if workers else "unreachable: no live worker"


async def ready(request: Request) -> Response:
    """Readiness: database, storage, the job queue, and Redis when configured (the shared rate-limit store).
    503 names what fails. `fal_api` reports whether a worker is live to make models; the web app stays ready
    without one (jobs queue until a worker starts).
    ---
    responses:
      200: {description: '{"status": "ready", "checks": {"database": "connected", "storage": "reachable", "queue": "ok", "redis": "connected", "fal_api": "reachable"}}'}
      503: {description: '{"status": "not_ready", "checks": {...}}'}
    """
    results = await run_checks(request, CHECKS)
    checks = {name: WORDS.get(name, "ok") if result == "ok" else result for name, result in results.items()}
    checks["redis"] = await _redis(request)
    try:
        checks["fal_api"] = await run_in_threadpool(_model_service, request)
    except Exception as err:  # the database check above already reports it
        checks["fal_api"] = f"unknown: {type(err).__name__}"
    failing = [name for name, value in checks.items() if value.startswith("error")]
    if failing:
        return JSONResponse({"status": "not_ready", "failing": failing, "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})
