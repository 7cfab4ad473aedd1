"""The request id of the work in progress (a contextvar), read by every log line.

No web imports: the worker and scheduler log through the same formatter. The web app sets it in
`shop_app.web.request_id.RequestIdMiddleware`.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def current_request_id() -> str | None:
    return _request_id.get()


def accept_request_id(incoming: str | None) -> str:
    """The client's id when it is sane, else a fresh one."""
    return incoming if incoming and _SANE_ID.match(incoming) else uuid.uuid4().hex


def set_request_id(request_id: str) -> Token[str | None]:
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)
