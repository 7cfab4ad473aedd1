"""What Hydrilla's two APIs share: the family name, both status vocabularies, the `{"error": ...}` body,
bearer-JWT auth (requireAuth / optionalAuth), the queue object, and the previews' in-process queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.auth_jwt import KeySetUnavailable, TokenPrincipal, TokenRejected, bearer_token
from shop_app.errors import AppError
from shop_app.fetch import FetchError, FetchPolicy, check_url_early
from shop_app.jobs.image_provider import NOT_CONFIGURED, OpenAIImages
from shop_app.jobs.owners import PrincipalOwner, owns
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import get_job
from shop_app.jobs.stats import estimate, queue_stats, queued_count
from shop_app.jobs.submit import Images, SubmitRequest, submit
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, Generation, Job
from shop_app.storage import LocalStorage, ObjectNotFound, Storage, validate_key
from shop_app.web.db import in_db
from shop_app.web.previews import PreviewQueue
from shop_app.web.render import iso_ms
from shop_app.web.state import app_state

FAMILY = "hydrilla"
# The document's table: Node backend word ← core status → Python backend word.
NODE_STATUS = {QUEUED: "WAIT", RUNNING: "RUN", SUCCEEDED: "DONE", FAILED: "FAIL", CANCELED: "FAIL"}
BACKEND_STATUS = {
    QUEUED: "pending",
    RUNNING: "processing",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "cancelled",
}
JWT_SETTINGS = "NU3D_JWT_JWKS_URL or NU3D_JWT_HS256_SECRET"
UNAVAILABLE = "External service unavailable. Please try again later."


class HydrillaError(AppError):
    """An error in the document's shape: `{"error": "<message>"}` with its status code."""

    def body(self) -> dict[str, Any]:
        return {"error": self.message}


def render_error(err: AppError) -> Response:
    """Every error raised inside a Hydrilla endpoint answers `{"error": ...}` (the document's one shape)."""
    message = err.message
    if err.status_code == 500:
        request_id = (err.details or {}).get("request_id")
        message = "Internal server error" + (
            f"; quote request id {request_id} when reporting it" if request_id else ""
        )
    return JSONResponse({"error": message}, status_code=err.status_code, headers=err.headers)


# ----------------------------------------------------------------------------------------------- auth


async def signed_in(request: Request) -> TokenPrincipal:
    """requireAuth: the token's principal, or 401 "Authentication required"."""
    who = await principal(request, required=True)
    if who is None:  # principal(required=True) raises instead; this narrows the type
        raise HydrillaError("Authentication required", status_code=401)
    return who


async def principal(request: Request, *, required: bool) -> TokenPrincipal | None:
    """requireAuth (`required=True`: 401 without a token) or optionalAuth (None without one).

    A token that is present but invalid is refused on both (401): a stale session must not silently turn
    into an anonymous one (history would come back empty, generate would lose its owner)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        if required:
            raise HydrillaError("Authentication required", status_code=401)
        return None
    verifier = app_state(request).jwt_verifier
    if verifier is None:
        raise HydrillaError(
            f"Bearer tokens cannot be checked: no identity provider is configured (set {JWT_SETTINGS})",
            status_code=501,
        )
    try:
        return await run_in_threadpool(verifier.verify, token)
    except TokenRejected as err:
        raise HydrillaError(f"Invalid token: {err.message}", status_code=401) from None
    except KeySetUnavailable:
        raise HydrillaError(UNAVAILABLE, status_code=503) from None


def image_provider(request: Request) -> OpenAIImages:
    provider: OpenAIImages | None = app_state(request).image_provider
    if provider is None:
        raise HydrillaError(
            f"Text prompts are not available on this server: {NOT_CONFIGURED}", status_code=501
        )
    return provider


# ---------------------------------------------------------------------------------------------- queue


def queue_object(session: Session, job: Job) -> dict[str, Any]:
    """The document's QueueInfo for one job: position 0 = processing (or finished), 1+ = waiting.

    Estimates come from measured run times and live workers; null until a job has been measured."""
    est = estimate(session, job)
    ahead = est.position or 0
    total = None if est.eta_s is None else round(est.eta_s, 1)
    wait: float | None = 0.0
    if job.status == QUEUED:
        wait = None if est.eta_s is None or est.ewma_s is None else round(max(0.0, est.eta_s - est.ewma_s), 1)
    return {
        "position": ahead + 1 if job.status == QUEUED else 0,
        "jobs_ahead": ahead if job.status == QUEUED else 0,
        "estimated_wait_seconds": wait,
        "estimated_total_seconds": total,
        "queue_length": queued_count(session),
        "currently_processing": job.status == RUNNING,
    }


def queue_info_body(session: Session, previews: PreviewQueue) -> dict[str, Any]:
    """`GET /queue/info` (both APIs): the generation queue's figures and the preview queue's."""
    stats = queue_stats(session)
    waiting, running = stats.counts[QUEUED], stats.counts[RUNNING]
    wait = stats.new_job_wait_s()
    return {
        "queue_length": waiting,
        "currently_processing": running > 0,
        "waiting_jobs": waiting,
        "estimated_wait_for_new_job_seconds": None if wait is None else round(wait, 1),
        "estimated_time_per_job_seconds": None if stats.ewma_s is None else round(stats.ewma_s, 1),
        **previews.info(),
    }


# --------------------------------------------------------------------------------------------- images


def own_file_key(storage: Storage, url: str) -> str | None:
    """The storage key behind one of our own signed file URLs (an upload-image answer), else None.

    Such URLs point at this app, which the worker's fetcher refuses (loopback/private addresses); the job
    reads the stored file directly instead."""
    if not isinstance(storage, LocalStorage) or not url.startswith(f"{storage.base_url}/files/"):
        return None
    parts = urlsplit(url)
    key = unquote(parts.path.split("/files/", 1)[1])
    query = parse_qs(parts.query)
    try:
        validate_key(key)
    except ObjectNotFound:
        return None
    expires, sig = query.get("expires") or [""], query.get("sig") or [""]
    if not storage.verify(key, expires[0], sig[0]):
        return None
    return key if storage.exists(key) else None


# ----------------------------------------------------------------------------------------------- jobs


def images_from_url(request: Request, url: str, *, field: str) -> Images:
    """The job input for an image URL: our own stored file by key, else a public URL checked against the
    fetch policy now (400 naming `field` when it cannot be fetched)."""
    key = own_file_key(request.state.storage, url)
    if key is not None:
        return Images.from_keys([key])
    try:
        check_url_early(url, FetchPolicy.from_settings(request.state.settings))
    except FetchError as err:
        raise HydrillaError(f"{field} cannot be used: {err}", status_code=400) from None
    return Images.from_urls([url])


async def submit_job(
    request: Request, job: SubmitRequest, *, invalid: Callable[[InvalidJobRequest], HydrillaError]
) -> str:
    """Queue `job` in one write unit of work and return its id; parameters the job core refuses raise
    `invalid(err)` (each API words them its own way)."""

    def work(session: Session) -> str:
        try:
            return submit(session, job).id
        except InvalidJobRequest as err:
            raise invalid(err) from None

    return await in_db(request, work, write=True)


def owner_of(who: TokenPrincipal | None) -> PrincipalOwner:
    """A signed-in user owns what they submit; anonymous work sits in the family's shared space."""
    return PrincipalOwner(family=FAMILY, subject=who.owner_id if who is not None else None)


def hydrilla_job(session: Session, job_id: str) -> Job:
    """A job submitted through either Hydrilla API, else 404 "Job not found"."""
    job = get_job(session, job_id)
    if job is None or job.family != FAMILY:
        raise HydrillaError("Job not found", status_code=404)
    return job


def check_access(job: Job, who: TokenPrincipal | None, *, action: str) -> None:
    """A job with an owner answers only to that owner (403); an anonymous one to anyone holding its id."""
    if job.principal is None:
        return
    if who is None or not owns(owner_of(who), job):
        raise HydrillaError(f"You don't have permission to {action} this job", status_code=403)


def file_url(storage: Storage, key: str | None, ttl_s: int) -> str | None:
    return storage.url(key, ttl_s=ttl_s) if key else None


def node_job(job: Job, generation: Generation | None, storage: Storage, ttl_s: int) -> dict[str, Any]:
    """The document's BackendJob record."""
    failed = job.status in {FAILED, CANCELED}
    return {
        "id": job.id,
        "userId": job.principal or job.user_id,
        "status": NODE_STATUS[job.status],
        "prompt": job.params.get("prompt"),
        "imageUrl": job.meta.get("image_url"),
        "generateType": "Normal",
        "faceCount": job.params.get("face_limit"),
        "enablePBR": False,
        "polygonType": None,
        "resultGlbUrl": file_url(storage, generation.glb_key, ttl_s) if generation else None,
        "previewImageUrl": job.meta.get("preview_image_url")
        or (file_url(storage, generation.preview_key, ttl_s) if generation else None),
        "errorCode": job.error_code if failed else None,
        "errorMessage": job.error_message if failed else None,
        "name": job.name,
        "createdAt": iso_ms(job.created_at),
        "updatedAt": iso_ms(job.updated_at),
    }


def profile(who: TokenPrincipal) -> dict[str, Any]:
    """The user as the token's profile claims describe them (the document's `user`)."""
    created = who.claims.get("created_at") or who.claims.get("createdAt")
    if isinstance(created, int | float):
        created = iso_ms(datetime.fromtimestamp(created / 1000 if created > 1e11 else created, UTC))
    return {
        "id": who.subject,
        "email": who.email,
        "firstName": who.first_name,
        "lastName": who.last_name,
        "imageUrl": who.image_url,
        "createdAt": created if isinstance(created, str) else None,
    }


async def queue_info(request: Request) -> Response:
    """Queue figures for time estimates (no auth; the same on both APIs).
    ---
    responses:
      200: {description: '{"queue_length", "currently_processing", "waiting_jobs", ..., "preview_queue_length", ...}'}
    """
    previews = app_state(request).previews
    return JSONResponse(await in_db(request, lambda session: queue_info_body(session, previews)))


Endpoint = Callable[[Request], Awaitable[Response]]


ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _method_not_allowed(allowed: list[str]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        raise HydrillaError(
            f"{request.method} is not supported on {request.url.path}; use {', '.join(allowed)}",
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )

    return endpoint


async def _not_found(request: Request) -> Response:
    raise HydrillaError(f"Not found: {request.url.path}", status_code=404)


def routes(
    prefix: str,
    endpoints: list[tuple[str, Endpoint, list[str]]],
    wrap: Callable[[Endpoint], Endpoint],
    *,
    catch_all: bool = False,
) -> list[BaseRoute]:
    """Routes under `prefix`, each endpoint wrapped (the family's error rendering). Other methods on those
    paths answer 405, and with `catch_all` other paths under the prefix 404, in the family's shape too
    (Starlette's own answers would take the default `{"detail": ...}` shape)."""
    out: list[BaseRoute] = [
        Route(prefix + path, wrap(fn), methods=methods) for path, fn, methods in endpoints
    ]
    allowed: dict[str, list[str]] = {}
    for path, _, methods in endpoints:
        allowed.setdefault(path, []).extend(methods)
    for path, methods in allowed.items():
        others = [m for m in ALL_METHODS if m not in methods and not (m == "HEAD" and "GET" in methods)]
        # Not endpoints of their own: out of the OpenAPI document and of Allow (shop_app/web/methods.py).
        out.append(
            Route(prefix + path, wrap(_method_not_allowed(methods)), methods=others, include_in_schema=False)
        )
    if catch_all:
        out.append(
            Route(
                prefix + "/{rest:path}", wrap(_not_found), methods=list(ALL_METHODS), include_in_schema=False
            )
        )
    return out
