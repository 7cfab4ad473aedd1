"""Request bodies bounded while they stream in, before any handler (and so any authentication or parsing)
sees them.

`Content-Length` alone proves nothing (chunked bodies have none, and a client may send more than it
declared), so the limit is enforced on the bytes actually received. A declared length over the limit is
answered at once, without reading the body; a body that grows past the limit while streaming is cut off:
the 413 is sent as soon as the limit is crossed, the handler's later reads see a disconnect, and nothing it
does afterwards reaches the client. Each API family declares its upload endpoints (`ApiFamily.body_limits`);
the 413 is rendered by the family's own error renderer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop_app.errors import AppError, PayloadTooLarge
from shop_app.jobs.images import MAX_FILE_BYTES
from shop_app.web.uploads import MULTIPART_SLACK

logger = logging.getLogger(__name__)

ErrorRenderer = Callable[[AppError], Response]

DEFAULT_MAX_BYTES = 1024 * 1024  # JSON bodies, forms without files
# A multipart body no rule names: room for one request's images (4 of 10 MB), so a family that adds an
# upload endpoint without a rule still works; larger uploads (batches) need their own rule.
DEFAULT_MULTIPART_MAX_BYTES = 4 * 10 * 1024 * 1024 + 1024 * 1024


def _default_render(err: AppError) -> Response:
    return JSONResponse(err.body(), status_code=err.status_code)


def upload_bytes(files: int, *, per_file: int = MAX_FILE_BYTES) -> int:
    """The body size `files` images of `per_file` bytes take, multipart framing and form fields included."""
    return files * per_file + MULTIPART_SLACK


@dataclass(frozen=True)
class BodyRule:
    """Parameters:
    pattern: a regular expression the whole path must match (e.g. r"/api/v1/jobs").
    max_bytes: the largest body accepted, multipart framing included.
    methods: the methods the rule applies to (None: all).
    render_error: renders the 413 (None: the renderer of the family whose prefix the path is under).
    what: how the limit is described to the client ("4 images of 10 MB").
    """

    pattern: str
    max_bytes: int
    methods: frozenset[str] | None = None
    render_error: ErrorRenderer | None = None
    what: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.methods is None or method in self.methods) and re.fullmatch(
            self.pattern, path
        ) is not None


class _TooLarge(Exception):
    pass


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.3g} MB" if n >= 1024 * 1024 else f"{n / 1024:.3g} KB"


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rules: list[BodyRule],
        default_max_bytes: int = DEFAULT_MAX_BYTES,
        default_multipart_max_bytes: int = DEFAULT_MULTIPART_MAX_BYTES,
        owner_of: Callable[[str], Any] | None = None,
    ) -> None:
        """`owner_of`: the API family a path belongs to (or None), so a 413 answers in its shape."""
        self.app = app
        self.rules = rules
        self.default_max_bytes = default_max_bytes
        self.default_multipart_max_bytes = default_multipart_max_bytes
        self.owner_of = owner_of

    def _rule_for(self, scope: Scope) -> tuple[BodyRule, ErrorRenderer]:
        method, path = scope.get("method", "GET"), scope.get("path", "")

        def family(err: AppError) -> Response:
            # Looked up only when a 413 is rendered: finding a path's family matches it against every
            # family's routes (~100 patterns), ~20 µs of every webhook acknowledgement when done up front (measured).
            owner = self.owner_of(path) if self.owner_of is not None else None
            return (owner.render_error if owner is not None else _default_render)(err)

        for rule in self.rules:
            if rule.matches(method, path):
                return rule, rule.render_error or family
        multipart = any(
            name == b"content-type" and value.lower().startswith(b"multipart/")
            for name, value in scope.get("headers", [])
        )
        limit = self.default_multipart_max_bytes if multipart else self.default_max_bytes
        return BodyRule(".*", limit), family

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                declared = value.decode("latin-1").strip()
            elif name == b"transfer-encoding":
                chunked = True
        if declared in (None, "0") and not chunked:
            # No body framing, so no body (HTTP/1.1): nothing to limit. A poll skips the rule lookup and the
            # wrapped receive and send.
            await self.app(scope, receive, send)
            return
        rule, render = self._rule_for(scope)
        if declared is not None and declared.isdigit() and int(declared) > rule.max_bytes:
            await self._refuse(scope, send, rule, render, f"the request body is {_megabytes(int(declared))}")
            return

        received = 0
        refused = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > rule.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(
                            scope,
                            send,
                            rule,
                            render,
                            f"the request body is over {_megabytes(rule.max_bytes)}",
                        )
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 already went out; whatever the handler answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The handler failed on the cut-off body (or let _TooLarge through); the client has its 413.
            logger.debug("handler stopped after the body limit on %s", scope.get("path"))

    async def _refuse(
        self, scope: Scope, send: Send, rule: BodyRule, render: ErrorRenderer, what_was_sent: str
    ) -> None:
        limit = f"at most {_megabytes(rule.max_bytes)}" + (f" ({rule.what})" if rule.what else "")
        err = PayloadTooLarge(
            f"{what_was_sent}; this endpoint accepts {limit}",
            code="PAYLOAD_TOO_LARGE",
            details={"max_bytes": rule.max_bytes},
        )
        response = render(err)
        response.headers["connection"] = "close"
        logger.info("refused a request body over %d bytes with 413", rule.max_bytes)

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)
