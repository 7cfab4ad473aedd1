"""POST /upload/batch and POST /models/generate-single."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.errors import AppError, PayloadTooLarge, ValidationError
from shop_app.jobs import commands
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.submit import Images, Labels, SubmitRequest, create_batch, submit
from shop_app.models.jobs import CANCELED, FAILED, SUCCEEDED, Job, JobBatch
from shop_app.routes.image2model.common import (
    FAMILY,
    STATUSES,
    FileState,
    file_of,
    owned_batch,
    owner,
    run,
    upstream_error,
)
from shop_app.storage import StorageError
from shop_app.web.auth import check_active_cap
from shop_app.web.db import in_db
from shop_app.web.json_body import strict_loads
from shop_app.web.uploads import Upload, read_uploads

MAX_FILES = 25
SESSION_CHARS = 128


def _face_limit(value: Any) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    try:
        return normalize_params({"face_limit": value})
    except InvalidJobRequest as err:
        raise ValidationError(str(err), details={"field": "face_limit"}) from None


def _check_cap(request: Request, session: Session, who: ApiKeyOwner, adding: int) -> None:
    check_active_cap(request, session, who, adding=adding, code="RATE_LIMIT_EXCEEDED")


def _batch_id() -> str:
    # The document's shape: batch_<date>_<time>_<random>.
    return f"batch_{datetime.now(UTC).strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(4)}"


def _submit_file(
    request: Request,
    session: Session,
    who: ApiKeyOwner,
    batch: JobBatch,
    *,
    file_id: str,
    filename: str,
    image_key: str,
    params: dict[str, Any],
) -> Job:
    return submit(
        session,
        SubmitRequest(
            family=FAMILY,
            owner=who,
            images=Images.from_keys([image_key]),
            params=params,
            labels=Labels(name=filename[:255], session_id=batch.session_id),
            batch_id=batch.id,
            max_attempts=request.state.settings.job_max_attempts,
            meta={"file_id": file_id, "filename": filename[:255]},
        ),
    )


async def upload_batch(request: Request) -> Response:
    """Upload 1 to 25 JPG/PNG images (multipart `files`, 10 MB each, optional `face_limit` and `session_id`);
    each file is queued for 3D generation at once.
    ---
    responses:
      200: {description: '{"job_id", "session_id", "files": [{"file_id", "filename", "status"}], "total_files", "status"}'}
      400: {description: VALIDATION_ERROR (not an image, more than 25 files, bad face_limit)}
      401: {description: AUTHENTICATION_REQUIRED}
      413: {description: FILE_TOO_LARGE}
    """
    await in_db(request, lambda session: _check_cap(request, session, owner(session, request), 1))
    try:
        uploads, fields = await read_uploads(request, field="files", max_files=MAX_FILES)
    except PayloadTooLarge as err:
        if err.details and "received" in err.details:  # too many files: a bad request, not a big file
            raise ValidationError(err.message, details=err.details) from None
        raise
    params = _face_limit(fields.get("face_limit"))
    session_id = fields.get("session_id") or f"sess_{secrets.token_hex(8)}"
    if len(session_id) > SESSION_CHARS:
        raise ValidationError(
            f"session_id is longer than {SESSION_CHARS} characters", details={"field": "session_id"}
        )
    keys = await _store(request, uploads)

    def work(session: Session) -> dict[str, Any]:
        who = owner(session, request)
        _check_cap(request, session, who, len(uploads))
        batch = create_batch(
            session, owner=who, total=len(uploads), session_id=session_id, batch_id=_batch_id()
        )
        files = []
        for index, (upload, key) in enumerate(zip(uploads, keys, strict=True), start=1):
            file_id = f"file_{index:03d}"
            job = _submit_file(
                request,
                session,
                who,
                batch,
                file_id=file_id,
                filename=upload.filename,
                image_key=key,
                params=params,
            )
            files.append({"file_id": file_id, "filename": upload.filename, "status": STATUSES[job.status]})
        return {
            "job_id": batch.id,
            "session_id": session_id,
            "files": files,
            "total_files": len(files),
            "status": "processing",
        }

    return JSONResponse(await run(request, work, write=True))


async def _store(request: Request, uploads: list[Upload]) -> list[str]:
    storage = request.state.storage
    try:
        return await run_in_threadpool(lambda: [storage.put(u.data, suffix=u.info.suffix) for u in uploads])
    except StorageError as err:
        raise upstream_error(err) from None


async def generate_single(request: Request) -> Response:
    """(Re)generate one uploaded file's model: `{"job_id", "file_id", "face_limit"?}`. A file whose model is
    queued, running or done with the same face_limit keeps it; otherwise a new model task is queued.
    ---
    responses:
      200: {description: '{"job_id", "file_id", "model_task_id", "status"}'}
      400: {description: VALIDATION_ERROR}
      404: {description: NOT_FOUND (no such batch or file for this key)}
    """
    try:
        body = strict_loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError('send JSON like {"job_id": "batch_...", "file_id": "file_001"}') from None
    if not isinstance(body, dict):
        raise ValidationError("the JSON body must be an object")
    for name in ("job_id", "file_id"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise ValidationError(f"{name} is required (a string)", details={"field": name})
    params = _face_limit(body.get("face_limit"))

    def work(session: Session) -> dict[str, Any]:
        who = owner(session, request)
        batch = owned_batch(session, who, body["job_id"])
        state = file_of(session, batch, body["file_id"])
        job = _current_or_new(request, session, who, batch, state, params)
        status = "completed" if job.status == SUCCEEDED else "processing"
        return {"job_id": batch.id, "file_id": state.file_id, "model_task_id": job.id, "status": status}

    return JSONResponse(await run(request, work, write=True))


def _current_or_new(
    request: Request,
    session: Session,
    who: ApiKeyOwner,
    batch: JobBatch,
    state: FileState,
    params: dict[str, Any],
) -> Job:
    job = state.job
    same_params = not params or all(job.params.get(k) == v for k, v in params.items())
    if same_params and job.status not in {FAILED, CANCELED}:
        return job
    if same_params:
        _check_cap(request, session, who, 1)
        return commands.retry(session, job, log="queued again by models/generate-single")
    keys = job.inputs.get("image_keys") or []
    if not keys:
        raise AppError(
            "the file's image is no longer stored; upload it again", code="PROCESSING_ERROR", status_code=500
        )
    _check_cap(request, session, who, 1)
    merged = {**job.params, **params}
    return _submit_file(
        request,
        session,
        who,
        batch,
        file_id=state.file_id,
        filename=state.filename,
        image_key=keys[0],
        params=merged,
    )
