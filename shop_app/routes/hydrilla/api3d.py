"""Hydrilla's main API under /api/3d (the document's "Node.js backend"), exactly as documented.

Auth is a bearer JWT from the operator's identity provider (shop_app.auth_jwt): `requireAuth` routes answer
401 "Authentication required" without one; `optionalAuth` routes work without (history is then empty). A
signed-in user owns the jobs they generate; only they may see, rename or delete them (403 otherwise).
Statuses are WAIT/RUN/DONE/FAIL (canceled jobs are FAIL); every error is `{"error": "..."}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from shop_app.auth_jwt import TokenPrincipal
from shop_app.jobs import commands
from shop_app.jobs.errors import InvalidTransition
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import JobFilter, list_jobs
from shop_app.jobs.results import generation_of
from shop_app.jobs.submit import Images, Labels, SubmitRequest, record_finished
from shop_app.models.jobs import SUCCEEDED
from shop_app.routes.hydrilla.common import (
    FAMILY,
    Endpoint,
    HydrillaError,
    check_access,
    hydrilla_job,
    image_provider,
    images_from_url,
    node_job,
    owner_of,
    principal,
    profile,
    queue_info,
    queue_object,
    routes,
    signed_in,
    submit_job,
)
from shop_app.web.db import in_db, notify
from shop_app.web.files import purge_files
from shop_app.web.json_body import strict_loads
from shop_app.web.uploads import read_uploads

HISTORY_LIMIT = 200
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = strict_loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HydrillaError(
            "The request body must be JSON (Content-Type: application/json)", status_code=400
        ) from None
    if not isinstance(body, dict):
        raise HydrillaError("The request body must be a JSON object", status_code=400)
    return body


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise HydrillaError(f"{name} must be a string", status_code=400)
    return value.strip()


def _invalid(err: InvalidJobRequest) -> HydrillaError:
    # Our parameter names, spoken in the document's (faceCount is the core's face_limit).
    return HydrillaError(str(err).replace("face_limit", "faceCount"), status_code=400)


async def generate(request: Request) -> Response:
    """Submit a job: `{"prompt": "A red sports car"}` (text-to-3D) or `{"imageUrl": "https://..."}`.
    ---
    responses:
      200: {description: '{"jobId": "..."}'}
      400: {description: '{"error": "Either prompt or imageUrl is required"}'}
      401: {description: '{"error": "Authentication required"}'}
      501: {description: a prompt without an image provider configured (names the setting)}
    """
    who = await signed_in(request)
    body = await _json_body(request)
    prompt, image_url = _text(body, "prompt"), _text(body, "imageUrl")
    if prompt is None and image_url is None:
        raise HydrillaError("Either prompt or imageUrl is required", status_code=400)
    if image_url is not None:
        images = images_from_url(request, image_url, field="imageUrl")
    else:
        image_provider(request)  # 501 before anything is stored
        images = Images.from_prompt(prompt or "")
    params: dict[str, Any] = {"prompt": prompt}
    face_count = body.get("faceCount")
    if face_count is not None:
        params["face_limit"] = face_count
    job = SubmitRequest(
        family=FAMILY,
        owner=owner_of(who),
        images=images,
        params=params,
        labels=Labels(user_id=who.owner_id if who else None, username=who.username if who else None),
        meta={"image_url": image_url} if image_url else {},
    )
    job_id = await submit_job(request, job, invalid=_invalid)
    return JSONResponse({"jobId": job_id})


async def status(request: Request) -> Response:
    """A job and its place in the queue (optionalAuth; someone else's job is 403).
    ---
    responses:
      200: {description: '{"job": {... "status": "WAIT|RUN|DONE|FAIL"}, "queue": {"position", "jobs_ahead", ...}}'}
      403: {description: '{"error": "You don''t have permission to view this job"}'}
      404: {description: '{"error": "Job not found"}'}
    """
    who = await principal(request, required=False)
    job_id = request.path_params["job_id"]
    settings = request.state.settings

    def work(session: Session) -> dict[str, Any]:
        job = hydrilla_job(session, job_id)
        check_access(job, who, action="view")
        record = node_job(job, generation_of(session, job), request.state.storage, settings.signed_url_ttl_s)
        return {"job": record, "queue": queue_object(session, job)}

    return JSONResponse(await in_db(request, work))


async def history(request: Request) -> Response:
    """The signed-in user's jobs, newest first (optionalAuth: `{"jobs": []}` without a token).
    ---
    responses:
      200: {description: '{"jobs": [...]}'}
    """
    who = await principal(request, required=False)
    if who is None:
        return JSONResponse({"jobs": []})
    settings = request.state.settings

    def work(session: Session) -> list[dict[str, Any]]:
        page = list_jobs(session, JobFilter(owner=owner_of(who), family=FAMILY), limit=HISTORY_LIMIT)
        storage, ttl = request.state.storage, settings.signed_url_ttl_s
        return [node_job(job, generation_of(session, job), storage, ttl) for job in page.jobs]

    return JSONResponse({"jobs": await in_db(request, work)})


async def rename(request: Request) -> Response:
    """`{"name": "My Custom Name"}` (owner only).
    ---
    responses:
      200: {description: '{"success": true, "message": "Job name updated"}'}
    """
    who = await signed_in(request)
    job_id = request.path_params["job_id"]
    body = await _json_body(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise HydrillaError("name is required: a string of 1 to 255 characters", status_code=400)

    def work(session: Session) -> None:
        job = hydrilla_job(session, job_id)
        check_access(job, who, action="modify")
        commands.rename(session, job, name)

    await in_db(request, work, write=True)
    notify(request, job_id)
    return JSONResponse({"success": True, "message": "Job name updated"})


async def delete(request: Request) -> Response:
    """Delete one of your jobs and the files no other job shares.
    ---
    responses:
      200: {description: '{"success": true, "message": "Job deleted"}'}
      400: {description: the job is still processing}
    """
    who = await signed_in(request)
    job_id = request.path_params["job_id"]

    def work(session: Session) -> list[str]:
        job = hydrilla_job(session, job_id)
        if job.principal is None:  # a shared (anonymous) job has no owner who could delete it
            raise HydrillaError("You don't have permission to delete this job", status_code=403)
        check_access(job, who, action="delete")
        try:
            return commands.delete(session, job)
        except InvalidTransition:
            raise HydrillaError(
                "The job is still processing; delete it once it has finished", status_code=400
            ) from None

    orphaned = await in_db(request, work, write=True)
    await run_in_threadpool(purge_files, request.state.storage, orphaned)
    return JSONResponse({"success": True, "message": "Job deleted"})


async def register_job(request: Request) -> Response:
    """Record a preview in the user's history: `{"job_id", "prompt", "previewImageUrl"}` → a DONE job.
    ---
    responses:
      200: {description: '{"success": true, "job_id": "..."}'}
    """
    who = await principal(request, required=False)
    body = await _json_body(request)
    job_id, prompt, preview = _text(body, "job_id"), _text(body, "prompt"), _text(body, "previewImageUrl")
    if job_id is None:
        raise HydrillaError("job_id is required", status_code=400)
    if preview is None:
        raise HydrillaError("previewImageUrl is required", status_code=400)
    if not preview.startswith(("http://", "https://")):
        raise HydrillaError("previewImageUrl must be an http(s) URL", status_code=400)

    def work(session: Session) -> str:
        try:
            job = record_finished(
                session,
                family=FAMILY,
                owner=owner_of(who),
                job_id=job_id,
                params={"prompt": prompt},
                labels=Labels(user_id=who.owner_id if who else None),
                meta={"preview_image_url": preview},
            )
        except InvalidJobRequest as err:
            raise _invalid(err) from None
        if job.family != FAMILY:
            raise HydrillaError("job_id is already taken", status_code=400)
        check_access(job, who, action="modify")  # registering again is fine; taking over is not
        return job.id

    return JSONResponse({"success": True, "job_id": await in_db(request, work, write=True)})


async def upload_image(request: Request) -> Response:
    """Store an image (multipart field `image`, JPEG or PNG, at most 10 MB) and answer its URL.
    ---
    responses:
      200: {description: '{"success": true, "url": "..."}'}
      413: {description: the file is over 10 MB}
    """
    await principal(request, required=False)
    uploads, _ = await read_uploads(request, field="image", max_files=1, max_bytes=MAX_UPLOAD_BYTES)
    upload = uploads[0]
    storage, settings = request.state.storage, request.state.settings
    key = await run_in_threadpool(storage.put, upload.data, suffix=upload.info.suffix)
    return JSONResponse({"success": True, "url": storage.url(key, ttl_s=settings.signed_url_ttl_s)})


def _stats(session: Session, who: TokenPrincipal) -> dict[str, int]:
    page = list_jobs(session, JobFilter(owner=owner_of(who), family=FAMILY), limit=10_000)
    return {"totalJobs": len(page.jobs), "completedJobs": sum(1 for j in page.jobs if j.status == SUCCEEDED)}


async def me(request: Request) -> Response:
    """The signed-in user (profile claims from the token) and their job counts.
    ---
    responses:
      200: {description: '{"user": {...}, "stats": {"totalJobs", "completedJobs"}}'}
    """
    who = await signed_in(request)
    stats = await in_db(request, lambda session: _stats(session, who))
    return JSONResponse({"user": profile(who), "stats": stats})


async def sync_user(request: Request) -> Response:
    """Nothing to copy: the token is the user record (its claims are read on every request).
    ---
    responses:
      200: {description: '{"success": true, "user": {"id", "email", "firstName", "lastName"}}'}
    """
    who = await signed_in(request)
    user = profile(who)
    return JSONResponse(
        {"success": True, "user": {k: user[k] for k in ("id", "email", "firstName", "lastName")}}
    )


PREFIX = "/api/3d"
ENDPOINTS: list[tuple[str, Endpoint, list[str]]] = [
    ("/generate", generate, ["POST"]),
    ("/status/{job_id}", status, ["GET"]),
    ("/history", history, ["GET"]),
    ("/jobs/{job_id}/name", rename, ["PATCH"]),
    ("/jobs/{job_id}", delete, ["DELETE"]),
    ("/register-job", register_job, ["POST"]),
    ("/upload-image", upload_image, ["POST"]),
    ("/queue/info", queue_info, ["GET"]),
    ("/me", me, ["GET"]),
    ("/sync-user", sync_user, ["POST"]),
]


def routes_with(wrap: Callable[[Endpoint], Endpoint]) -> list[BaseRoute]:
    return routes(PREFIX, ENDPOINTS, wrap, catch_all=True)
