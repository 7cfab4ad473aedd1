"""Seed 000's error body `{"success": false, "error", "type", "details"}`, for every error of the family."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shop_app.errors import AppError
from shop_app.web.family import Endpoint, family_errors


class SeedError(AppError):
    """An error in seed 000's shape."""

    TYPES = {
        400: "INVALID_DATA",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "INVALID_DATA",  # no seed type for it; the request (its method) is what is wrong
        413: "INVALID_DATA",
        422: "INVALID_DATA",
        429: "FORBIDDEN",  # see RATE_LIMIT_TYPE
    }

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 400,
        details: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message, status_code=status_code, headers=headers)
        self.type = type_ or self.TYPES.get(status_code, "INTERNAL_ERROR")
        self.details_text = details

    def body(self) -> dict[str, Any]:
        return {"success": False, "error": self.message, "type": self.type, "details": self.details_text}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers)


# Seed 000 documents no type for "too many requests" (its types: INVALID_DATA, NOT_FOUND, UNAUTHORIZED,
# FORBIDDEN, INTERNAL_ERROR). FORBIDDEN is the closest: the server refuses this client for now; the request is
# neither malformed (INVALID_DATA) nor a server fault (INTERNAL_ERROR). The status stays 429 with Retry-After,
# and `error`/`details` say it is the rate limit.
RATE_LIMIT_TYPE = "FORBIDDEN"


def rate_limit_body(message: str, retry_after: int) -> dict[str, Any]:
    return {
        "success": False,
        "error": message,
        "type": RATE_LIMIT_TYPE,
        "details": f"rate limited: 60 requests per minute per IP address; retry after {retry_after} s",
    }


def from_app_error(err: AppError) -> SeedError:
    detail = err.details
    text = json.dumps(detail) if isinstance(detail, dict) else (str(detail) if detail else None)
    return SeedError(err.message, status_code=err.status_code, details=text)


def render_error(err: AppError) -> Response:
    """Every error from a /store/ route in seed 000's shape (the family's renderer)."""
    if isinstance(err, SeedError):
        return err.response()
    if err.code == "INTERNAL_ERROR":
        request_id = (err.details or {}).get("request_id")
        return SeedError(
            "Internal server error",
            status_code=500,
            details=f"quote request id {request_id} when reporting it",
        ).response()
    return from_app_error(err).response()


seed_errors = family_errors(render_error)


def method_not_allowed(allowed: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return SeedError(
            f"{request.method} is not supported on {request.url.path}",
            status_code=405,
            details=f"allowed methods: {allowed}",
            headers={"Allow": allowed},
        ).response()

    return endpoint


async def not_found(request: Request) -> Response:
    return SeedError(
        f"{request.url.path} not found",
        status_code=404,
        details="endpoints: /store/threed-jobs and /store/threed-jobs/:id",
    ).response()
