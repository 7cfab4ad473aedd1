"""Application errors and the one place they become HTTP responses.

Default error body (the /api/v1 family, as in seed 003):
    {"detail": {"code": "VALIDATION_ERROR", "message": "...", "details": {...}}}
Route families with another documented shape (seed 000's /store/threed-jobs, seed 001's /api/nu3d) raise
subclasses that override `body()`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.request_context import current_request_id

logger = logging.getLogger(__name__)


class AppError(Exception):
    status_code = 400
    code = "VALIDATION_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, code={self.code!r}, message={self.message!r})"

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            detail["details"] = self.details
        return {"detail": detail}


class ValidationError(AppError):
    status_code = 400
    code = "VALIDATION_ERROR"


class AuthenticationRequired(AppError):
    status_code = 401
    code = "AUTHENTICATION_REQUIRED"


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"


class NotFound(AppError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "FILE_TOO_LARGE"


class RateLimited(AppError):
    status_code = 429
    code = "RATE_LIMIT_EXCEEDED"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"


_STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "AUTHENTICATION_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "FILE_TOO_LARGE",
    429: "RATE_LIMIT_EXCEEDED",
}


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)  # noqa: S101 - registered for AppError only
    if exc.status_code >= 500:
        logger.error("%s %s -> %s", request.method, request.url.path, repr(exc))
    else:
        logger.info(
            "%s %s -> %s %s: %s", request.method, request.url.path, exc.status_code, exc.code, exc.message
        )
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


async def _http_exception(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    assert isinstance(exc, HTTPException)  # noqa: S101
    code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
    body = {"detail": {"code": code, "message": str(exc.detail)}}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def unhandled_error_response(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {
        "detail": {
            "code": "INTERNAL_ERROR",
            "message": "Internal server error; quote this request id when reporting it.",
            "details": {"request_id": current_request_id()},
        }
    }
    return JSONResponse(body, status_code=500)


EXCEPTION_HANDLERS = {
    AppError: _app_error,
    HTTPException: _http_exception,
    Exception: unhandled_error_response,
}
