"""Errors become HTTP responses here, once (registered by the app factory).

The default body is the /api/v1 shape `{"detail": {"code", "message", "details"}}`; families with another
documented shape wrap their endpoints with `shop_app.web.family.ApiFamily.endpoint`, which renders every error
in their shape before these handlers see it.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.errors import AppError
from shop_app.request_context import current_request_id

logger = logging.getLogger(__name__)

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
    log_app_error(request, exc)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


def log_app_error(request: Request, exc: AppError) -> None:
    if exc.status_code >= 500:
        logger.error("%s %s -> %s", request.method, request.url.path, repr(exc))
    else:
        logger.info(
            "%s %s -> %s %s: %s", request.method, request.url.path, exc.status_code, exc.code, exc.message
        )


def http_error_code(status_code: int) -> str:
    return _STATUS_CODES.get(status_code, "HTTP_ERROR")


async def _http_exception(request: Request, exc: Exception) -> Response:  # noqa: ARG001
    assert isinstance(exc, HTTPException)  # noqa: S101
    code = http_error_code(exc.status_code)
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
