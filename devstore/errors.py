"""Small typed exceptions; the HTTP layer maps them to JSON error bodies in one place."""

from __future__ import annotations


class DevstoreError(Exception):
    """Bad input to the devstore's control API or state layer; ``status_code`` is the HTTP answer."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, message={self.message!r})"


class NotFound(DevstoreError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=404)


class OAuthError(Exception):
    """An OAuth endpoint failure answered with ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status_code = status_code


class DevstoreClientError(Exception):
    """Raised by :mod:`devstore.testing` helpers when the devstore answers a control call with an error."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"devstore answered HTTP {status_code}: {body}")
        self.status_code = status_code
        self.body = body
