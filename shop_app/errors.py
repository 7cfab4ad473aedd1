"""Application errors: small classes with a status, a stable code and a message for people.

No web imports: the worker and scheduler raise these too. They become HTTP responses in one place,
`shop_app.web.errors`; each API family renders the body in its own documented shape.

Default error body (the /api/v1 family, as in seed 003):
    {"detail": {"code": "VALIDATION_ERROR", "message": "...", "details": {...}}}
Route families with another documented shape (seed 000's /store/threed-jobs, seed 001's /api/nu3d) raise
subclasses that override `body()`.
"""

from __future__ import annotations

from typing import Any


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
