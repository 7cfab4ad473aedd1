"""SnapAsset's wire format: its status words, error body, request validation and response bodies.

Everything here follows the SnapAsset API guide (`../shared/seeds/004_0e250d300d9fd2b6.txt`); the endpoints in
`shop_app/routes/snapasset/__init__.py` only call the job core and these functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from shop_app.errors import AppError
from shop_app.jobs.renders import PLATFORM_SIZES
from shop_app.models.base import utcnow
from shop_app.models.jobs import CANCELED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from shop_app.models.renders import PlatformRender
from shop_app.storage import Storage
from shop_app.web.render import iso

FAMILY = "snapasset"
MIN_PROMPT_CHARS = 10
MAX_PROMPT_CHARS = 1000
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
OPTION_CHOICES = {"quality": ("standard", "hd"), "style": ("vivid", "natural")}

# Core status -> SnapAsset's word. A queued job waiting out a retry's backoff is "delayed" (see status_word).
STATUSES = {
    QUEUED: "waiting",
    RUNNING: "active",
    SUCCEEDED: "completed",
    FAILED: "failed",
    CANCELED: "cancelled",
}
# The list filter's words: (core statuses, delayed?) - waiting and delayed split the queued jobs.
FILTERS: dict[str, tuple[frozenset[str], bool | None]] = {
    "waiting": (frozenset({QUEUED}), False),
    "delayed": (frozenset({QUEUED}), True),
    "active": (frozenset({RUNNING}), None),
    "completed": (frozenset({SUCCEEDED}), None),
    "failed": (frozenset({FAILED}), None),
    "cancelled": (frozenset({CANCELED}), None),
}
# /api/queue/clean removes finished jobs only (a waiting or active job is cancelled first).
CLEANABLE = {"completed": SUCCEEDED, "failed": FAILED, "cancelled": CANCELED}


def status_word(job: Job, now: datetime | None = None) -> str:
    if job.status == QUEUED and job.run_after > (now or utcnow()):
        return "delayed"
    return STATUSES[job.status]


# ------------------------------------------------------------------------------------------------ errors

TITLES = {
    400: "Invalid request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}
# The core's and the shared helpers' codes in SnapAsset's vocabulary (its table: INVALID_REQUEST,
# UNAUTHORIZED, RATE_LIMIT_EXCEEDED, JOB_LIMIT_EXCEEDED, JOB_NOT_FOUND, INTERNAL_ERROR).
CODES = {
    "VALIDATION_ERROR": "INVALID_REQUEST",
    "FILE_TOO_LARGE": "INVALID_REQUEST",
    "AUTHENTICATION_REQUIRED": "UNAUTHORIZED",
    "INVALID_API_KEY": "UNAUTHORIZED",
    "NOT_FOUND": "JOB_NOT_FOUND",
    "METHOD_NOT_ALLOWED": "INVALID_REQUEST",
}


class SnapAssetError(AppError):
    """An error already in SnapAsset's vocabulary (`code` is one of its codes)."""


def render_error(err: AppError) -> Response:
    """`{"error", "message", "code", "timestamp"}` (+ `retryAfter` on 429s, as its client reads)."""
    code = err.code if isinstance(err, SnapAssetError) else CODES.get(err.code, err.code)
    if err.status_code >= 500 and code not in {"NOT_IMPLEMENTED"}:
        code = "INTERNAL_ERROR"
    body: dict[str, Any] = {
        "error": TITLES.get(err.status_code, "Error"),
        "message": err.message,
        "code": code,
        "timestamp": iso(utcnow()),
    }
    if err.details:
        body["details"] = err.details
    return JSONResponse(body, status_code=err.status_code, headers=err.headers)


def _limit_body(code: str, what: str) -> Any:
    def body(message: str, retry_after: int) -> dict[str, Any]:
        return {
            "error": "Too many requests",
            "message": f"{what}: {message}",
            "code": code,
            "retryAfter": retry_after,
            "timestamp": iso(utcnow()),
        }

    return body


rate_limit_body = _limit_body("RATE_LIMIT_EXCEEDED", "API rate limit exceeded")
job_limit_body = _limit_body("JOB_LIMIT_EXCEEDED", "Job creation limit exceeded")


def invalid(message: str, **details: Any) -> SnapAssetError:
    return SnapAssetError(message, code="INVALID_REQUEST", status_code=400, details=details or None)


def not_found(job_id: str) -> SnapAssetError:
    return SnapAssetError(f"Job {job_id} not found; check the job ID", code="JOB_NOT_FOUND", status_code=404)


# ---------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class CreateJob:
    """A validated `POST /api/jobs` body. `sourceJobId` / `modelId` (Nu3D's addition): render that finished
    3D model; without either, the model is made from the prompt (image provider, then the engine)."""

    user_id: str
    prompt: str
    platforms: tuple[str, ...]
    options: dict[str, str]
    source_job_id: str | None = None
    model_id: int | None = None

    def data(self) -> dict[str, Any]:
        """The job's `data` as GET /api/jobs/:id shows it."""
        out: dict[str, Any] = {
            "userId": self.user_id,
            "prompt": self.prompt,
            "platforms": list(self.platforms),
        }
        if self.options:
            out["options"] = self.options
        if self.source_job_id is not None:
            out["sourceJobId"] = self.source_job_id
        if self.model_id is not None:
            out["modelId"] = str(self.model_id)
        return out


def parse_create(body: Any) -> CreateJob:
    """The guide's checks ("validateJobData"), in its words, plus the source fields."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object")
    for name in ("userId", "prompt", "platforms"):
        if body.get(name) in (None, "", []):
            if name == "platforms":
                raise invalid("At least one platform is required", field="platforms")
            raise invalid(f"Missing required field: {name}", field=name)
    user_id, prompt, platforms = body["userId"], body["prompt"], body["platforms"]
    if not isinstance(user_id, str) or len(user_id) > 128:
        raise invalid("userId must be a string of at most 128 characters", field="userId")
    if not isinstance(prompt, str) or len(prompt.strip()) < MIN_PROMPT_CHARS:
        raise invalid(f"prompt must be at least {MIN_PROMPT_CHARS} characters", field="prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid(f"prompt must be at most {MAX_PROMPT_CHARS} characters", field="prompt")
    if not isinstance(platforms, list):
        raise invalid('platforms must be a list such as ["instagram-post"]', field="platforms")
    for platform in platforms:
        if not isinstance(platform, str) or platform not in PLATFORM_SIZES:
            raise invalid(
                f"Invalid platform: {platform}", field="platforms", validPlatforms=list(PLATFORM_SIZES)
            )
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise invalid("options must be an object", field="options")
    for name, value in options.items():
        choices = OPTION_CHOICES.get(name)
        if choices is None:
            raise invalid(f"Unknown option: {name}; known options: quality, style", field="options")
        if value not in choices:
            raise invalid(f"options.{name} must be one of {', '.join(choices)}", field="options")
    source, model = body.get("sourceJobId"), body.get("modelId")
    if source is not None and model is not None:
        raise invalid("Give sourceJobId or modelId, not both", field="sourceJobId")
    if source is not None and (not isinstance(source, str) or not 1 <= len(source) <= 40):
        raise invalid("sourceJobId must be a Nu3D job id such as job_01J...", field="sourceJobId")
    model_id = None
    if model is not None:
        text = str(model)
        if isinstance(model, bool) or not text.isdigit() or len(text) > 18:
            raise invalid("modelId must be a model id (the generationId of a finished job)", field="modelId")
        model_id = int(text)
    return CreateJob(
        user_id=user_id,
        prompt=prompt.strip(),
        platforms=tuple(dict.fromkeys(platforms)),
        options={k: str(v) for k, v in options.items()},
        source_job_id=source,
        model_id=model_id,
    )


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid(f"limit must be a whole number from 1 to {MAX_LIMIT}", field="limit")
    return int(raw)


def parse_clean(body: Any) -> tuple[int, str]:
    """(grace in ms, status word) of `POST /api/queue/clean`."""
    if not isinstance(body, dict):
        raise invalid(
            'The request body must be a JSON object such as {"grace": 86400000, "status": "completed"}'
        )
    grace = body.get("grace", 0)
    if isinstance(grace, bool) or not isinstance(grace, int) or grace < 0:
        raise invalid("grace must be a whole number of milliseconds (0 or more)", field="grace")
    status = body.get("status", "completed")
    if status not in CLEANABLE:
        raise invalid(f"status must be one of {', '.join(CLEANABLE)}", field="status")
    return grace, status


# ------------------------------------------------------------------------------------------------ bodies


def estimated_time(eta_s: float | None) -> str:
    if eta_s is None:
        return "unknown"
    return f"{max(1, math.ceil(eta_s))} seconds"


def images_body(images: list[PlatformRender], storage: Storage) -> list[dict[str, Any]]:
    return [
        {
            "platform": PLATFORM_SIZES[image.platform].label,
            "platformId": image.platform,
            "url": storage.url(image.storage_key),
            "width": image.width,
            "height": image.height,
            "size": image.size_bytes,
        }
        for image in images
    ]


def result_body(job: Job, images: list[PlatformRender], storage: Storage) -> dict[str, Any]:
    return {
        "success": True,
        "generationId": str(job.generation_id) if job.generation_id is not None else None,
        "images": images_body(images, storage),
        # The image provider's rewording is not kept by the worker; null rather than a made-up value.
        "revisedPrompt": None,
    }


def job_body(
    job: Job, images: list[PlatformRender] | None, storage: Storage, now: datetime | None = None
) -> dict[str, Any]:
    """`GET /api/jobs/:jobId`: the guide's fields; `result` once completed, `failedReason` after a failure."""
    body: dict[str, Any] = {
        "jobId": job.id,
        "status": status_word(job, now),
        "progress": job.progress,
        "data": job.meta.get(FAMILY, {}),
        "logs": list(job.logs),
        "attemptsMade": job.attempt,
        "createdAt": iso(job.created_at),
        "processedAt": iso(job.started_at),
        "finishedAt": iso(job.finished_at),
    }
    if job.status == SUCCEEDED and images is not None:
        body["result"] = result_body(job, images, storage)
    if job.error_message and job.status != SUCCEEDED:
        body["failedReason"] = job.error_message
    return body


def list_item(job: Job, now: datetime) -> dict[str, Any]:
    return {
        "jobId": job.id,
        "status": status_word(job, now),
        "progress": job.progress,
        "createdAt": iso(job.created_at),
    }
