"""Hydrilla's generation backend API (the document's "Python backend"): form posts, no auth, as documented.

Mounted at the root by default, as the document's base URL has it (`NU3D_HYDRILLA_BACKEND_PREFIX` moves it,
e.g. to `/hydrilla`). Its paths do not collide with ours except `/health`: at the root, our liveness probe
answers it (`{"status": "healthy"}`, which seed 003 documents at that path); under a prefix,
`{prefix}/health` answers the document's `{"status": "ok"}`.

Jobs submitted here belong to no signed-in user (`user_id` is kept as a label only: this API has no auth, so
it cannot vouch for one); they show under /api/3d/status by id, like the backend's own. Statuses are
pending/processing/completed/failed/cancelled; errors are `{"error": "..."}`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from shop_app.jobs import commands
from shop_app.jobs.commands import CancelOutcome
from shop_app.jobs.image_provider import ImageProviderError
from shop_app.jobs.params import MAX_PROMPT_CHARS
from shop_app.jobs.results import generation_of
from shop_app.jobs.submit import Images, Labels, SubmitRequest
from shop_app.models.jobs import QUEUED, RUNNING, SUCCEEDED, TERMINAL, Job
from shop_app.routes.hydrilla.common import (
    BACKEND_STATUS,
    FAMILY,
    UNAVAILABLE,
    Endpoint,
    HydrillaError,
    file_url,
    hydrilla_job,
    image_provider,
    images_from_url,
    owner_of,
    queue_info,
    queue_object,
    routes,
    submit_job,
)
from shop_app.web.db import in_db, notify
from shop_app.web.state import app_state
from shop_app.web.streaming import Pinger, sse, sse_response
from shop_app.web.uploads import Upload, read_uploads

# What a job is doing, in the document's words ("Generating 3D mesh..."), by the worker's stage names.
STAGE_MESSAGES = {
    "queued": "Waiting in queue",
    "fetching_inputs": "Downloading input image...",
    "generating_image": "Generating image from prompt...",
    "generating": "Preparing image...",
    "segment": "Removing background...",
    "carve": "Generating 3D mesh...",
    "mesh": "Generating 3D mesh...",
    "texture": "Texturing mesh...",
    "export": "Exporting model...",
    "storing": "Uploading results...",
}


async def _form(request: Request, *, file_field: str | None = None) -> tuple[dict[str, str], Upload | None]:
    """The form fields (urlencoded or multipart, as FastAPI's Form accepts) and at most one image file."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        uploads, fields = await read_uploads(request, field=file_field or "file", min_files=0, max_files=1)
        return fields, (uploads[0] if uploads and file_field else None)
    if content_type.startswith("application/x-www-form-urlencoded"):
        async with request.form() as form:
            return {k: v for k, v in form.multi_items() if isinstance(v, str)}, None
    raise HydrillaError(
        "Send the fields as form data (application/x-www-form-urlencoded or multipart/form-data)",
        status_code=400,
    )


def _prompt(fields: dict[str, str]) -> str:
    prompt = (fields.get("prompt") or "").strip()
    if not prompt:
        raise HydrillaError("prompt is required", status_code=400)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise HydrillaError(f"prompt is longer than {MAX_PROMPT_CHARS} characters", status_code=400)
    return prompt


def _user_id(fields: dict[str, str]) -> str | None:
    user_id = (fields.get("user_id") or "").strip() or None
    if user_id is not None and len(user_id) > 128:
        raise HydrillaError("user_id is longer than 128 characters", status_code=400)
    return user_id


def _prefix(request: Request) -> str:
    return app_state(request).settings.hydrilla_backend_prefix


async def _submit(
    request: Request, images: Images, *, prompt: str | None, user_id: str | None, meta: dict[str, Any]
) -> Response:
    job = SubmitRequest(
        family=FAMILY,
        owner=owner_of(None),
        images=images,
        params={"prompt": prompt},
        labels=Labels(user_id=user_id),
        meta=meta,
    )
    job_id = await submit_job(request, job, invalid=lambda err: HydrillaError(str(err), status_code=400))
    prefix = _prefix(request)
    return JSONResponse(
        {
            "job_id": job_id,
            "status": "pending",
            "message": f"Job created successfully. Use /status/{job_id} to check progress.",
            "status_url": f"{prefix}/status/{job_id}",
            "stream_url": f"{prefix}/stream/{job_id}",
        }
    )


async def image_to_3d(request: Request) -> Response:
    """Form: `image_url` (a public URL) or `image_file` (an upload), optional `user_id`.
    ---
    responses:
      200: {description: '{"job_id", "status": "pending", "message", "status_url", "stream_url"}'}
      400: {description: neither image_url nor image_file, or an unusable one}
    """
    fields, upload = await _form(request, file_field="image_file")
    image_url = (fields.get("image_url") or "").strip() or None
    storage = request.state.storage
    meta: dict[str, Any] = {}
    if upload is not None:
        key = await run_in_threadpool(storage.put, upload.data, suffix=upload.info.suffix)
        images = Images.from_keys([key])
    elif image_url is not None:
        meta["image_url"] = image_url
        images = images_from_url(request, image_url, field="image_url")
    else:
        raise HydrillaError("image_url or image_file is required", status_code=400)
    return await _submit(request, images, prompt=None, user_id=_user_id(fields), meta=meta)


async def text_to_3d(request: Request) -> Response:
    """Form: `prompt`, optional `user_id`. Prompt → image (the configured provider) → 3D.
    ---
    responses:
      200: {description: '{"job_id", "status": "pending", "message", "status_url", "stream_url"}'}
      501: {description: no image provider configured (names the setting)}
    """
    fields, _ = await _form(request)
    prompt = _prompt(fields)
    image_provider(request)
    return await _submit(
        request, Images.from_prompt(prompt), prompt=prompt, user_id=_user_id(fields), meta={}
    )


async def text_to_image(request: Request) -> Response:
    """Form: `prompt`, optional `user_id`. Draws a preview now (waits its turn in the preview queue).
    ---
    responses:
      200: {description: '{"success": true, "preview_id", "image_url", "prompt", "message", "queue": {...}}'}
      501: {description: no image provider configured (names the setting)}
      503: {description: the provider is down}
    """
    fields, _ = await _form(request)
    prompt = _prompt(fields)
    provider = image_provider(request)
    user_id = _user_id(fields)
    async with request.state.previews.slot() as ticket:
        try:
            image = await provider.agenerate(prompt, client=request.state.http, user=user_id)
        except ImageProviderError as err:
            if err.retryable:
                raise HydrillaError(UNAVAILABLE, status_code=503) from None
            raise HydrillaError(f"The prompt was refused: {err.message}", status_code=400) from None
    storage, settings = request.state.storage, request.state.settings
    key = await run_in_threadpool(storage.put, image.data, suffix=image.suffix)
    return JSONResponse(
        {
            "success": True,
            "preview_id": str(uuid.uuid4()),
            "image_url": storage.url(key, ttl_s=settings.signed_url_ttl_s),
            "prompt": prompt,
            "message": "Preview image generated successfully",
            "queue": ticket.body(),
        }
    )


def _message(job: Job) -> str:
    if job.status == QUEUED:
        return "Waiting in queue" if job.attempt == 0 else "Waiting to retry"
    if job.status == RUNNING:
        if job.cancel_requested:
            return "Cancellation requested; stopping at the next checkpoint..."
        return STAGE_MESSAGES.get(job.stage or "", "Processing...")
    if job.status == SUCCEEDED:
        return "Completed"
    if job.status == "canceled":
        return "Job cancelled"
    return f"Failed: {job.error_message or job.error_code}"


def status_body(session: Session, job: Job, request: Request) -> dict[str, Any]:
    """The document's Job (Python backend): progress, message, queue, result and error."""
    storage, ttl = request.state.storage, request.state.settings.signed_url_ttl_s
    body: dict[str, Any] = {
        "job_id": job.id,
        "user_id": job.principal or job.user_id,
        "status": BACKEND_STATUS[job.status],
        "progress": job.progress,
        "message": _message(job),
        "created_at": int(job.created_at.timestamp()),
        "updated_at": int(job.updated_at.timestamp()),
        "queue": queue_object(session, job),
    }
    generation = generation_of(session, job)
    if generation is not None:
        text_mode = "text_prompt" in job.inputs
        image_key = generation.image_keys[0] if generation.image_keys else None
        result: dict[str, Any] = {
            "job_id": job.id,
            "mode": "text-to-3d" if text_mode else "image-to-3d",
            "mesh_url": file_url(storage, generation.glb_key, ttl),
            "processed_image_url": file_url(storage, image_key, ttl),
            "elapsed_seconds": round(
                job.duration_s if job.duration_s is not None else generation.duration_s or 0.0, 1
            ),
        }
        if text_mode:
            result["prompt"] = job.params.get("prompt")
            result["generated_image_url"] = result["processed_image_url"]
        body["result"] = result
    if job.status in {"failed", "canceled"}:
        body["error"] = job.error_message or job.error_code
    return body


async def status(request: Request) -> Response:
    """Any Hydrilla job by id (no auth: ids are unguessable).
    ---
    responses:
      200: {description: '{"job_id", "status", "progress", "message", "queue", "result"?, "error"?}'}
      404: {description: '{"error": "Job not found"}'}
    """
    job_id = request.path_params["job_id"]
    return JSONResponse(await in_db(request, lambda s: status_body(s, hydrilla_job(s, job_id), request)))


async def stream(request: Request) -> Response:
    """The status body as server-sent events, one per change, until the job finishes.
    ---
    responses:
      200: {description: 'text/event-stream of status bodies'}
    """
    job_id = request.path_params["job_id"]
    first = await in_db(request, lambda s: status_body(s, hydrilla_job(s, job_id), request))

    async def events() -> AsyncIterator[str]:
        pinger = Pinger(request)
        body, last = first, None
        while True:
            if body != last:
                yield sse(body)
                pinger.sent()
                last = body
            if body["status"] in {BACKEND_STATUS[s] for s in TERMINAL} or await request.is_disconnected():
                return
            ping = await pinger.wait(job_id)
            if ping:
                yield ping
            body = await in_db(request, lambda s: status_body(s, hydrilla_job(s, job_id), request))

    return sse_response(events())


async def cancel(request: Request) -> Response:
    """Cancel a pending or running job (a running one stops at its next checkpoint).
    ---
    responses:
      200: {description: '{"job_id", "status": "cancelled", "message": "Job cancellation requested. ..."}'}
      400: {description: the job has already finished}
    """
    job_id = request.path_params["job_id"]

    def work(session: Session) -> CancelOutcome:
        return commands.cancel(session, hydrilla_job(session, job_id))

    outcome = await in_db(request, work, write=True)
    if outcome == CancelOutcome.ALREADY_FINISHED:
        raise HydrillaError("Job has already finished and cannot be cancelled", status_code=400)
    notify(request, job_id)
    return JSONResponse(
        {
            "job_id": job_id,
            "status": "cancelled",
            "message": "Job cancellation requested. It will stop at the next checkpoint.",
        }
    )


async def health(request: Request) -> Response:  # noqa: ARG001
    """The backend's own liveness answer (only under a prefix; at the root our /health answers).
    ---
    responses:
      200: {description: '{"status": "ok"}'}
    """
    return JSONResponse({"status": "ok"})


ENDPOINTS: list[tuple[str, Endpoint, list[str]]] = [
    ("/image-to-3d", image_to_3d, ["POST"]),
    ("/text-to-3d", text_to_3d, ["POST"]),
    ("/text-to-image", text_to_image, ["POST"]),
    ("/status/{job_id}", status, ["GET"]),
    ("/stream/{job_id}", stream, ["GET"]),
    ("/queue/info", queue_info, ["GET"]),
    ("/cancel/{job_id}", cancel, ["POST"]),
]


def routes_with(wrap: Callable[[Endpoint], Endpoint], prefix: str) -> list[BaseRoute]:
    return routes(prefix, ENDPOINTS + ([("/health", health, ["GET"])] if prefix else []), wrap)
