"""Request ID middleware: taken from X-Request-ID (when sane) or generated, echoed on the response, put on
every log line (through `shop_app.request_context`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop_app.request_context import accept_request_id, reset_request_id, set_request_id

ErrorResponder = Callable[[Request, Exception], Awaitable[Response]]


class RequestIdMiddleware:
    """Outermost of our middleware: sets the id for everything inside, and turns an unhandled exception
    into `on_error`'s response while the id is still set (Starlette's own 500 handler runs after it is gone).
    """

    def __init__(self, app: ASGIApp, *, on_error: ErrorResponder | None = None) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accept_request_id(incoming)
        token = set_request_id(request_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started or self.on_error is None:
                raise
            response = await self.on_error(Request(scope, receive), exc)
            await response(scope, receive, send_with_id)
        finally:
            reset_request_id(token)
