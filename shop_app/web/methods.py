"""`Allow` that lists every method a path serves, and OPTIONS answered from the routes.

Starlette's router answers a 405 with the methods of the first route whose path matched, so a path served by
several routes (GET and POST /api/v1/jobs are two routes) advertised only one of them. This middleware
computes the methods from all routes: a 405 gets the full `Allow`, and an OPTIONS request on a served path
is answered 204 with it. Routes left out of the schema (catch-alls that only produce a family's 404/405)
are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            prefix = route.path.rstrip("/")
            if path.startswith(prefix + "/") and route.routes:
                methods |= allowed_methods(route.routes, path[len(prefix) :])
        elif isinstance(route, Route) and route.include_in_schema and route.methods:
            if route.path_regex.match(path):
                methods |= route.methods
    return methods


def allow_header(methods: set[str]) -> bytes:
    return ", ".join(sorted(methods | {"OPTIONS"})).encode()


class AllowHeaderMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The methods are computed only when they are needed (an OPTIONS request, a 405 answer): matching
        # the path against every route cost each request more than its own routing did.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope.get("method") == "OPTIONS":
            methods = allowed_methods(self.routes, path)
            if methods and "OPTIONS" not in methods:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [(b"allow", allow_header(methods))],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed_methods(self.routes, path)
                if methods:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", allow_header(methods))]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
