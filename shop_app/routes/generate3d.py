"""The generation API seed 001 calls, so a seed-001 deployment can point MODEL3D_API_URL at Nu3D.

    POST /login                      {"email", "password"} → 200 {"access_token", "token_type": "bearer",
                                     "expires_in": 3600}; 401 {"detail": "Incorrect email or password"}
    POST /generate3d_webhook         Authorization: Bearer <token>; JSON or form {"image_url", "prompt"}
                                     → 200 {"image_id": <int>, "status": "processing", "job_id", "message"}
    GET  /generate3d/status/{id}     Authorization: Bearer <token> → 200 {"image_id", "status":
                                     "processing"|"completed"|"failed", "job_id", "gaussian_splat_url",
                                     "model_glb_url", "original_url", "metadata": [{scale, rotation,
                                     camera_pose, translation, object_index}], "message"}

The seed names these paths and fields but not their error bodies; we answer errors as `{"detail": "<message>"}`
(401 with `WWW-Authenticate: Bearer` for a missing, invalid or expired token; 404 for an image of another
account; 400 for a bad body). Accounts come from `nu3d account create --email ...`. Each account sees only its
own images. The prompt is recorded with the job (the weight-free engine names the GLB's node after it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app import generation_accounts
from shop_app.db import session_scope, write_scope
from shop_app.errors import AppError
from shop_app.fetch import FetchError, FetchPolicy, check_url_early
from shop_app.jobs.owners import PrincipalOwner
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.submit import Images, SubmitRequest, submit
from shop_app.models.generation_api import GenerationAccount, GenerationRequest
from shop_app.models.jobs import ACTIVE, SUCCEEDED, Generation, Job
from shop_app.web.family import ApiFamily, family_errors
from shop_app.web.json_body import strict_loads

FAMILY = "generate3d"
STATUSES = {"queued": "processing", "running": "processing", "succeeded": "completed", "failed": "failed",
            "canceled": "failed"}  # fmt: skip
METADATA_KEYS = ("scale", "rotation", "camera_pose", "translation", "object_index")


def render_error(err: AppError) -> Response:
    headers = dict(err.headers)
    if err.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse({"detail": err.message}, status_code=err.status_code, headers=headers)


async def _body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form")):
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    raw = await request.body()
    try:
        body = strict_loads(raw) if raw.strip() else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AppError("the body must be a JSON object (or a form)", status_code=400)
    return body


def _account(request: Request, session: Session) -> GenerationAccount:
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    secret = request.state.settings.secret_key.get_secret_value()
    account_id = generation_accounts.verify_token(token, secret) if token else None
    account = session.get(GenerationAccount, account_id) if account_id is not None else None
    if account is None or account.disabled_at is not None:
        raise AppError("Could not validate credentials: log in again (POST /login)", status_code=401)
    return account


async def login(request: Request) -> Response:
    """Exchange email + password for a bearer token (1 h).
    ---
    responses:
      200: {description: '{"access_token", "token_type": "bearer", "expires_in": 3600}'}
      401: {description: '{"detail": "Incorrect email or password"}'}
    """
    body = await _body(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise AppError("email and password are required", status_code=400)

    def check() -> GenerationAccount | None:
        with session_scope(request.state.db) as session:
            return generation_accounts.authenticate(session=session, email=email, password=password)

    account = await asyncio.to_thread(check)
    if account is None:
        raise AppError("Incorrect email or password", status_code=401)
    issued = generation_accounts.issue_token(account, request.state.settings.secret_key.get_secret_value())
    return JSONResponse(
        {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.expires_in}
    )


async def generate(request: Request) -> Response:
    """Submit one image URL (and the product title as prompt) for 3D generation.
    ---
    responses:
      200: {description: '{"image_id", "status": "processing", "job_id", "message"}'}
      400: {description: 'missing or unfetchable image_url, bad prompt'}
      401: {description: 'missing, invalid or expired token'}
    """
    body = await _body(request)
    image_url, prompt = body.get("image_url"), body.get("prompt")
    if not isinstance(image_url, str) or not image_url:
        raise AppError("image_url is required", status_code=400)
    if prompt is not None and not isinstance(prompt, str):
        raise AppError("prompt must be a string", status_code=400)
    try:
        check_url_early(image_url, FetchPolicy.from_settings(request.state.settings))
    except FetchError as err:
        raise AppError(f"image_url {image_url[:200]!r} is refused: {err}", status_code=400) from None

    def work() -> dict[str, Any]:
        with write_scope(request.state.db) as session:
            account = _account(request, session)
            try:
                job = submit(
                    session,
                    SubmitRequest(
                        family=FAMILY,
                        owner=PrincipalOwner(family=FAMILY, subject=str(account.id)),
                        images=Images.from_urls([image_url]),
                        params={"prompt": prompt} if prompt else {},
                    ),
                )
            except InvalidJobRequest as err:
                raise AppError(str(err), status_code=400) from None
            assert account.id is not None  # noqa: S101 - a stored account
            row = GenerationRequest(
                account_id=account.id, job_id=job.id, image_url=image_url[:2048], prompt=prompt
            )
            session.add(row)
            session.flush()
            return _status_body(request, session, row, job)

    return JSONResponse(await asyncio.to_thread(work))


async def status(request: Request) -> Response:
    """Where one submitted image stands, with every result field once completed.
    ---
    responses:
      200: {description: '{"image_id", "status", "job_id", "gaussian_splat_url", "model_glb_url", "original_url", "metadata", "message"}'}
      401: {description: 'missing, invalid or expired token'}
      404: {description: 'no such image for this account'}
    """
    image_id = request.path_params["image_id"]

    def work() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            account = _account(request, session)
            row = session.get(GenerationRequest, image_id)
            if row is None or row.account_id != account.id:
                raise AppError(f"Image {image_id} not found", status_code=404)
            job = session.get(Job, row.job_id) if row.job_id else None
            return _status_body(request, session, row, job)

    return JSONResponse(await asyncio.to_thread(work))


def _status_body(
    request: Request, session: Session, row: GenerationRequest, job: Job | None
) -> dict[str, Any]:
    word = STATUSES.get(job.status, "failed") if job is not None else "failed"
    generation = (
        session.get(Generation, job.generation_id)
        if job and job.status == SUCCEEDED and job.generation_id
        else None
    )
    sign = request.state.storage.url
    meta = generation.meta if generation else {}
    if word == "completed":
        message = "3D generation completed successfully"
    elif word == "processing":
        message = "3D generation in progress" if job and job.status in ACTIVE else "3D generation queued"
    else:
        message = (job.error_message if job else None) or "3D generation failed"
    return {
        "image_id": row.id,
        "status": word,
        "job_id": job.id if job else None,
        "gaussian_splat_url": sign(generation.splat_key) if generation and generation.splat_key else None,
        "model_glb_url": sign(generation.glb_key) if generation else None,
        "original_url": sign(generation.image_keys[0]) if generation and generation.image_keys else None,
        "metadata": [{k: meta.get(k) for k in METADATA_KEYS}] if "scale" in meta else [],
        "message": message,
    }


_wrap = family_errors(render_error)
routes: list[BaseRoute] = [
    Route("/login", _wrap(login), methods=["POST"]),
    Route("/generate3d_webhook", _wrap(generate), methods=["POST"]),
    Route("/generate3d/status/{image_id:int}", _wrap(status), methods=["GET"]),
]
family = ApiFamily(
    name=FAMILY,
    prefix="/generate3d",
    routes=routes,
    render_error=render_error,
    statuses=STATUSES,
    error_schema={"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}},
)
