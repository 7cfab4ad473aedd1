"""What Hydrilla's two APIs share: the family name, both status vocabularies, the `{"error": ...}` body,
bearer-JWT auth (requireAuth / optionalAuth), the queue object, and the previews' in-process queue."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.auth_jwt import KeySetUnavailable, TokenPrincipal, TokenRejected, bearer_token
from shop_app.errors import AppError
from shop_app.jobs.image_provider import NOT_CONFIGURED, OpenAIImages
from shop_app.jobs.stats import estimate, queue_stats
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from shop_app.storage import LocalStorage, ObjectNotFound, Storage, validate_key

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
        message = "Internal server error"
    return JSONResponse({"error": message}, status_code=err.status_code, headers=err.headers)


# ----------------------------------------------------------------------------------------------- auth


async def principal(request: Request, *, required: bool) -> TokenPrincipal | None:
    """requireAuth (`required=True`: 401 without a token) or optionalAuth (None without one).

    A token that is present but invalid is refused on both (401): a stale session must not silently turn
    into an anonymous one (history would come back empty, generate would lose its owner)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        if required:
            raise HydrillaError("Authentication required", status_code=401)
        return None
    verifier = request.state.jwt_verifier
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
    provider = request.state.image_provider
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
    stats = queue_stats(session)
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
        "queue_length": stats.counts[QUEUED],
        "currently_processing": job.status == RUNNING,
    }


@dataclass
class PreviewTicket:
    position: int
    ahead: int
    queue_length: int
    generating: bool
    wait_s: float | None
    total_s: float | None

    def body(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "previews_ahead": self.ahead,
            "estimated_wait_seconds": self.wait_s,
            "estimated_total_seconds": self.total_s,
            "queue_length": self.queue_length,
            "currently_generating": self.generating,
        }


class PreviewQueue:
    """Text-to-image previews in this web process: at most `concurrency` provider calls at once, the rest wait.

    Figures are real: counts of waiting and generating previews, and a moving average of measured generation
    times (none until the first preview finished). Each web process keeps its own."""

    ALPHA = 0.3

    def __init__(self, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self._slots = asyncio.Semaphore(self.concurrency)
        self.waiting = 0
        self.generating = 0
        self.average_s: float | None = None

    def _eta(self, ahead: int) -> tuple[float | None, float | None]:
        """(wait before starting, wait until done) for a preview with `ahead` previews before it."""
        if self.average_s is None:
            return None, None
        rounds = 0 if ahead < self.concurrency else (ahead - self.concurrency) // self.concurrency + 1
        wait = round(rounds * self.average_s, 1)
        return wait, round(wait + self.average_s, 1)

    def info(self) -> dict[str, Any]:
        wait, _ = self._eta(self.waiting + self.generating)
        return {
            "preview_queue_length": self.waiting,
            "currently_generating_preview": self.generating > 0,
            "preview_waiting": self.waiting,
            "estimated_wait_for_preview_seconds": wait,
            "estimated_preview_time_seconds": None if self.average_s is None else round(self.average_s, 1),
        }

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[PreviewTicket]:
        ahead = self.waiting + self.generating
        wait, total = self._eta(ahead)
        in_line = self.waiting if ahead >= self.concurrency else 0  # 0: a slot is free, it starts at once
        ticket = PreviewTicket(
            position=in_line + 1 if ahead >= self.concurrency else 0,
            ahead=in_line,
            queue_length=self.waiting,
            generating=self.generating > 0,
            wait_s=wait,
            total_s=total,
        )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.generating += 1
        started = time.monotonic()
        try:
            yield ticket
            took = time.monotonic() - started
            self.average_s = (
                took if self.average_s is None else self.ALPHA * took + (1 - self.ALPHA) * self.average_s
            )
        finally:
            self.generating -= 1
            self._slots.release()


def queue_info_body(session: Session, previews: PreviewQueue) -> dict[str, Any]:
    """`GET /queue/info` (both APIs): the generation queue's figures and the preview queue's."""
    stats = queue_stats(session)
    waiting, running = stats.counts[QUEUED], stats.counts[RUNNING]
    wait = stats.new_job_wait_s() if hasattr(stats, "new_job_wait_s") else None
    if wait is None and stats.ewma_s is not None and stats.live_workers:
        wait = (waiting + running) * stats.ewma_s / stats.live_workers
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
