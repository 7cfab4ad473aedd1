"""GET /status/{job_id} and its server-sent events, GET /status/stream/{job_id}."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.db import session_scope
from shop_app.models.jobs import CANCELED, FAILED, SUCCEEDED, TERMINAL, JobBatch
from shop_app.routes.image2model.common import batch_status, file_entry, files_of, owned_batch, owner, run
from shop_app.web.render import iso
from shop_app.web.streaming import Pinger, sse, sse_response


def status_body(request: Request, session: Session, batch_id: str) -> dict[str, Any]:
    batch = owned_batch(session, owner(session, request), batch_id)
    files = files_of(session, batch)
    jobs = [f.job for f in files]
    progress = sum(100 if j.status in TERMINAL else j.progress for j in jobs) / max(1, len(jobs))
    return {
        "job_id": batch.id,
        "session_id": batch.session_id,
        "status": batch_status(files),
        "total_files": len(files),
        "processed_files": sum(j.status == SUCCEEDED for j in jobs),
        "failed_files": sum(j.status in {FAILED, CANCELED} for j in jobs),
        "progress": round(progress, 2),
        "files": [file_entry(request, session, f) for f in files],
        "created_at": iso(batch.created_at),
    }


async def get_status(request: Request) -> Response:
    """A batch: counts, overall progress, and each file's status, model URL and model task.
    ---
    responses:
      200: {description: '{"job_id", "status", "total_files", "processed_files", "failed_files", "progress", "files"}'}
      404: {description: NOT_FOUND}
    """
    batch_id = request.path_params["job_id"]
    return JSONResponse(await run(request, lambda session: status_body(request, session, batch_id)))


def _log_message(line: str) -> str:
    # Stored lines start with "HH:MM:SS "; the event carries the message alone.
    head, _, rest = line.partition(" ")
    return rest if len(head) == 8 and head.count(":") == 2 else line


class _Seen:
    """What a stream already told the client about one file's job."""

    def __init__(self) -> None:
        self.job_id = ""
        self.progress = -1
        self.logs = 0
        self.finished = False


async def stream_status(request: Request) -> Response:
    """Server-sent events for a batch, one `data:` line each, until every file is finished:
    `{"type": "progress", "job_id", "file_id", "progress"}`, `{"type": "log", "job_id", "file_id",
    "message"}`, `{"type": "completed", "job_id", "file_id", "model_url"}`, and, for a file that failed,
    `{"type": "failed", "job_id", "file_id", "error"}`.
    ---
    responses:
      200: {description: text/event-stream}
      404: {description: NOT_FOUND}
    """
    batch_id = request.path_params["job_id"]
    await run(request, lambda session: owned_batch(session, owner(session, request), batch_id))
    db = request.state.db

    def read() -> list[dict[str, Any]] | None:
        with session_scope(db) as session:
            batch = session.get(JobBatch, batch_id)
            if batch is None:
                return None
            return [
                {**file_entry(request, session, f), "logs": list(f.job.logs), "core_status": f.job.status}
                for f in files_of(session, batch)
            ]

    async def stream() -> AsyncIterator[str]:
        seen: dict[str, _Seen] = {}
        pinger = Pinger(request)
        while True:
            files = await run_in_threadpool(read)
            if files is None:
                yield sse({"type": "failed", "job_id": batch_id, "error": "the batch was deleted"})
                return
            for f in files:
                yield_list = _events(batch_id, f, seen.setdefault(f["file_id"], _Seen()))
                for event in yield_list:
                    yield event
                if yield_list:
                    pinger.sent()
            if all(seen[f["file_id"]].finished for f in files):
                return
            ping = await pinger.wait(batch_id)
            if ping:
                yield ping

    return sse_response(stream())


def _events(batch_id: str, f: dict[str, Any], seen: _Seen) -> list[str]:
    out: list[str] = []
    ids = {"job_id": batch_id, "file_id": f["file_id"]}
    if f["model_task_id"] != seen.job_id:  # a new model task for the file (generate-single)
        seen.job_id, seen.progress, seen.logs, seen.finished = f["model_task_id"], -1, 0, False
    for line in f["logs"][seen.logs :]:
        out.append(sse({"type": "log", **ids, "message": _log_message(line)}))
    seen.logs = len(f["logs"])
    if seen.finished:
        return out
    if f["progress"] != seen.progress and f["core_status"] != SUCCEEDED:
        seen.progress = f["progress"]
        out.append(sse({"type": "progress", **ids, "progress": f["progress"]}))
    if f["core_status"] == SUCCEEDED:
        out.append(sse({"type": "completed", **ids, "model_url": f.get("model_url")}))
        seen.finished = True
    elif f["core_status"] in {FAILED, CANCELED}:
        out.append(sse({"type": "failed", **ids, "error": f.get("error")}))
        seen.finished = True
    return out
