"""/api/v1/jobs/{id}/events: the job's snapshot on every change, as server-sent events."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shop_app.db import session_scope
from shop_app.models.jobs import CANCELED, FAILED, SUCCEEDED, TERMINAL, Job
from shop_app.routes.api_v1.common import owned_job, owner, run, snapshot
from shop_app.web.streaming import Pinger, sse, sse_response

logger = logging.getLogger(__name__)


def _event_type(status: str) -> str:
    return {SUCCEEDED: "completed", FAILED: "failed", CANCELED: "canceled"}.get(status, "progress")


async def job_events(request: Request) -> Response:
    """Server-sent events: a full job snapshot (`id: <version>`) on every change, `: ping` every 15 s,
    resume with `Last-Event-ID`, closed after the terminal snapshot.
    ---
    responses:
      200: {description: text/event-stream}
    """
    job_id = request.path_params["job_id"]
    await run(request, lambda session: owned_job(session, owner(session, request), job_id))
    try:
        last_seen = int(request.headers.get("last-event-id", "0") or 0)
    except ValueError:
        last_seen = 0
    db = request.state.db

    def version_of() -> tuple[int, str] | None:
        with session_scope(db) as session:
            row = session.exec(select(col(Job.version), col(Job.status)).where(col(Job.id) == job_id)).first()
            return (int(row[0]), str(row[1])) if row else None

    def read_snapshot() -> dict[str, Any] | None:
        with session_scope(db) as session:
            job = session.get(Job, job_id)
            return snapshot(request, session, job) if job else None

    async def stream() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        sent = last_seen
        pinger = Pinger(request)
        while True:
            try:
                current = await run_in_threadpool(version_of)
            except Exception as err:  # the database is briefly unavailable: say so and keep the stream
                logger.warning("SSE %s: cannot read the job: %s", job_id, str(err).splitlines()[0])
                yield sse({"type": "error", "message": "temporarily unable to read the job"}, event="error")
                current = (sent, "")
            if current is None:
                yield sse({"type": "error", "message": "the job was deleted"}, event="error")
                return
            version, status = current
            if version > sent:
                snap = await run_in_threadpool(read_snapshot)
                if snap is None:
                    return
                sent = snap["version"]
                snap["type"] = _event_type(snap["status"])
                yield sse(snap, event_id=sent)
                pinger.sent()
                if snap["status"] in TERMINAL:
                    return
            elif status in TERMINAL:
                return  # the client already holds the terminal snapshot (Last-Event-ID)
            ping = await pinger.wait(job_id)
            if ping:
                yield ping

    return sse_response(stream())
