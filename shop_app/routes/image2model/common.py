"""What the Image2Model endpoints share: the family's name and words, auth with its error codes, batch and
file lookups, the file entries of its bodies, and the mapping of core and storage errors to its codes.

A batch (`job_id` in the document) is a `job_batch`; each uploaded file is one job of it, named by a
`file_id` (`file_001`, ...) kept in the job's family data. `models/generate-single` may queue a newer job
for a file (other face_limit, or after a failure); the file then reads the newest one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session
from starlette.requests import Request

from shop_app.errors import AppError, AuthenticationRequired, NotFound, ValidationError
from shop_app.jobs.errors import InvalidJobRequest, InvalidTransition, JobNotFound
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.queries import batch_jobs, get_owned_batch
from shop_app.jobs.results import generation_of
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL, Job, JobBatch
from shop_app.storage import StorageError
from shop_app.web.auth import api_key_owner
from shop_app.web.db import in_db

T = TypeVar("T")
FAMILY = "image2model"
PREFIX = "/api/v1"
STATUSES = {
    QUEUED: "pending",
    RUNNING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "failed",
}


def owner(session: Session, request: Request, *, scope: str = "jobs") -> ApiKeyOwner:
    """The API key's owner. The document's codes: AUTHENTICATION_REQUIRED (401, missing or invalid key),
    INVALID_API_KEY (403, a key without the needed scope)."""
    try:
        return api_key_owner(session, request, scope=scope)
    except AuthenticationRequired as err:
        raise AuthenticationRequired(err.message) from None


def upstream_error(err: StorageError) -> AppError:
    # The document's FAL_API_ERROR is "the service that makes and keeps the models failed"; here that is
    # the object store.
    return AppError(
        f"the model store did not answer: {err}",
        code="FAL_API_ERROR",
        status_code=502,
        details={"retry": True},
    )


async def run(request: Request, work: Callable[[Session], T], *, write: bool = False) -> T:
    """`in_db` with the core's and the store's errors in this family's codes."""
    try:
        return await in_db(request, work, write=write)
    except InvalidJobRequest as err:
        raise ValidationError(str(err), details={"field": err.field} if err.field else None) from None
    except InvalidTransition as err:
        raise ValidationError(str(err)) from None
    except StorageError as err:
        raise upstream_error(err) from None


def owned_batch(
    session: Session, who: ApiKeyOwner, batch_id: str, *, session_id: str | None = None
) -> JobBatch:
    """The batch if this key owns it (and, when the client names a session, that session does too)."""
    try:
        batch = get_owned_batch(session, who, batch_id)
    except JobNotFound:
        batch = None
    if batch is None or (session_id is not None and batch.session_id != session_id):
        raise NotFound(f"no batch {batch_id!r} for this API key and session", code="NOT_FOUND")
    return batch


@dataclass
class FileState:
    file_id: str
    filename: str
    job: Job  # the newest job for the file


def files_of(session: Session, batch: JobBatch) -> list[FileState]:
    """The batch's files in upload order, each with its newest job."""
    newest: dict[str, FileState] = {}
    order: list[str] = []
    for job in batch_jobs(session, batch):
        file_id = str(job.meta.get("file_id") or job.id)
        if file_id not in newest:
            order.append(file_id)
        newest[file_id] = FileState(file_id, str(job.meta.get("filename") or job.name or file_id), job)
    return [newest[f] for f in order]


def file_of(session: Session, batch: JobBatch, file_id: str) -> FileState:
    for state in files_of(session, batch):
        if state.file_id == file_id:
            return state
    raise NotFound(f"no file {file_id!r} in batch {batch.id!r}", code="NOT_FOUND")


def file_entry(request: Request, session: Session, state: FileState) -> dict[str, Any]:
    job = state.job
    entry: dict[str, Any] = {
        "file_id": state.file_id,
        "filename": state.filename,
        "status": STATUSES[job.status],
        "progress": 100 if job.status in TERMINAL else job.progress,
        "model_task_id": job.id,
    }
    generation = generation_of(session, job)
    if generation is not None:
        entry["model_url"] = request.state.storage.url(generation.glb_key)
    if job.status in {FAILED, CANCELED}:
        entry["error"] = job.error_message
    return entry


def batch_status(files: Sequence[FileState]) -> str:
    jobs = [f.job for f in files]
    if not jobs or any(j.status not in TERMINAL for j in jobs):
        return "processing"
    return "completed" if any(j.status == SUCCEEDED for j in jobs) else "failed"
