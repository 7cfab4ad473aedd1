"""/api/v1/batches: up to 25 uploads, one job each; aggregate progress; a ZIP of the finished models."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.errors import Conflict, NotFound
from shop_app.jobs.errors import JobNotFound
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.params import InvalidJobRequest, normalize_params
from shop_app.jobs.queries import batch_jobs, get_owned_batch
from shop_app.jobs.results import generation_of
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.jobs.submit import create_batch as new_batch
from shop_app.models.jobs import CANCELED, FAILED, STATUSES, SUCCEEDED, TERMINAL, JobBatch
from shop_app.routes.api_v1.common import (
    FAMILY,
    authenticate_first,
    base_url,
    invalid,
    owner,
    params_from_fields,
    run,
    store_uploads,
)
from shop_app.web.auth import check_active_cap
from shop_app.web.render import iso
from shop_app.web.streaming import model_entries, zip_response
from shop_app.web.uploads import read_uploads

MAX_BATCH_FILES = 25


async def create_batch(request: Request) -> Response:
    """Upload up to 25 images; each becomes its own job. Multipart field `files`.
    ---
    description: Besides `files`, `name` and `session_id`, the form takes POST /api/v1/jobs's engine fields.
    requestBody:
      required: true
      content:
        multipart/form-data:
          schema:
            type: object
            required: [files]
            properties:
              files: {type: array, minItems: 1, maxItems: 25, items: {type: string, format: binary}}
              name: {type: string, maxLength: 255}
              session_id: {type: string, maxLength: 128}
    responses:
      202: {description: the batch with its jobs}
      413: {description: more than 25 files or a file over 10 MB}
    """
    await authenticate_first(request)
    uploads, fields = await read_uploads(request, field="files", max_files=MAX_BATCH_FILES)
    params = params_from_fields(fields)
    try:
        normalize_params(params)  # refuse bad params before anything is stored
    except InvalidJobRequest as err:
        raise invalid(err) from None
    # The whole batch against the active-jobs cap before any file is stored (the first check counted one).
    await authenticate_first(request, adding=len(uploads))
    keys = await store_uploads(request, uploads)
    session_label = fields.get("session_id")

    def work(session: Session) -> dict[str, Any]:
        who = owner(session, request)
        check_active_cap(request, session, who, adding=len(uploads))
        batch = new_batch(
            session, owner=who, total=len(uploads), name=fields.get("name"), session_id=session_label
        )
        files = []
        for upload, image_key in zip(uploads, keys, strict=True):
            job = submit(
                session,
                SubmitRequest(
                    family=FAMILY,
                    owner=who,
                    images=Images.from_keys([image_key]),
                    params=params,
                    labels=Labels(name=upload.filename[:255], session_id=session_label),
                    batch_id=batch.id,
                    max_attempts=request.state.settings.job_max_attempts,
                ),
            )
            files.append(
                {"file_id": job.id, "job_id": job.id, "filename": upload.filename, "status": job.status}
            )
        base = base_url(request)
        return {
            "id": batch.id,
            "job_id": batch.id,
            "session_id": session_label,
            "files": files,
            "total_files": len(files),
            "status": "processing",
            "urls": {
                "get": f"{base}/api/v1/batches/{batch.id}",
                "download": f"{base}/api/v1/batches/{batch.id}/download",
            },
        }

    return JSONResponse(await run(request, work, write=True), status_code=202)


def _owned_batch(session: Session, who: ApiKeyOwner, batch_id: str) -> JobBatch:
    try:
        return get_owned_batch(session, who, batch_id)
    except JobNotFound:
        raise NotFound(f"no batch {batch_id!r}", code="BATCH_NOT_FOUND") from None


async def get_batch(request: Request) -> Response:
    """Aggregate progress of a batch and the state of each file's job.
    ---
    responses:
      200: {description: the batch}
    """
    batch_id = request.path_params["batch_id"]

    def work(session: Session) -> dict[str, Any]:
        batch = _owned_batch(session, owner(session, request), batch_id)
        jobs = batch_jobs(session, batch)
        counts = dict.fromkeys(STATUSES, 0)
        for job in jobs:
            counts[job.status] += 1
        done = counts[SUCCEEDED] + counts[FAILED] + counts[CANCELED]
        progress = sum(100 if j.status in TERMINAL else j.progress for j in jobs) / max(1, len(jobs))
        storage = request.state.storage
        files = []
        for job in jobs:
            entry: dict[str, Any] = {
                "file_id": job.id,
                "job_id": job.id,
                "filename": job.name,
                "status": job.status,
                "progress": job.progress,
                "error": job.error_message if job.status == FAILED else None,
            }
            generation = generation_of(session, job)
            if generation is not None:
                entry["model_url"] = storage.url(generation.glb_key)
            files.append(entry)
        status = "completed" if done == len(jobs) else "processing"
        if done == len(jobs) and counts[SUCCEEDED] == 0 and jobs:
            status = "failed"
        return {
            "id": batch.id,
            "job_id": batch.id,
            "status": status,
            "total_files": len(jobs),
            "processed_files": counts[SUCCEEDED],
            "failed_files": counts[FAILED] + counts[CANCELED],
            "progress": round(progress, 2),
            "counts": counts,
            "files": files,
            "created_at": iso(batch.created_at),
        }

    return JSONResponse(await run(request, work))


async def download_batch(request: Request) -> Response:
    """A ZIP of the batch's finished GLBs, streamed as it is built.
    ---
    responses:
      200: {description: application/zip}
      409: {description: no model in the batch has finished yet}
    """
    batch_id = request.path_params["batch_id"]

    def work(session: Session) -> list[tuple[str, str]]:
        batch = _owned_batch(session, owner(session, request), batch_id)
        finished = [(job, generation_of(session, job)) for job in batch_jobs(session, batch)]
        entries = model_entries(
            (job.name or job.id, job.id, g.glb_key) for job, g in finished if g is not None
        )
        if not entries:
            raise Conflict("no model in this batch has finished yet", code="NOTHING_TO_DOWNLOAD")
        return entries

    entries = await run(request, work)
    return zip_response(request.state.storage, entries, filename=f"{batch_id}.zip")
