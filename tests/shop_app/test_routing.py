"""The indexed router sends every request where Starlette's own router would, on the app's real routes."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from shop_app.app import create_app
from shop_app.settings import Settings
from shop_app.web.routing import IndexedRouter, first_segment

METHODS = ("GET", "POST", "DELETE", "OPTIONS", "PATCH")


class _Recorder:
    """An ASGI endpoint that notes which route it is (a class: Route calls a plain function with a Request)."""

    def __init__(self, index: int) -> None:
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG002
        scope["recorded"] = (self.index, dict(scope.get("path_params", {})))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _recorder(index: int) -> Any:
    return _Recorder(index)


def _pattern_routes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The app's route patterns with recording endpoints (the real endpoints need a database)."""
    copies: list[BaseRoute] = []
    for i, route in enumerate(routes):
        if isinstance(route, Mount):
            copies.append(Mount(route.path, app=_recorder(i)))
        elif isinstance(route, Route):
            copies.append(Route(route.path, _recorder(i), methods=sorted(route.methods or [])))
        else:
            raise AssertionError(f"a route kind the index treats as a wildcard: {route!r}")
    return copies


def _sample_paths(routes: list[BaseRoute]) -> set[str]:
    paths = {"/", "", "/nope", "/api", "/api/", "/app", "/app/", "/health/", "/webhooks", "/static"}
    for route in routes:
        path = getattr(route, "path", "")
        for fill in ("x1", "123"):
            concrete = re.sub(r"{[^}]*}", fill, path)
            paths |= {
                concrete,
                concrete + "/",
                concrete + "/extra",
                concrete.rstrip("/") + "x",
                concrete[:-1],
            }
    return {p for p in paths if p.startswith("/") or p == ""}


async def _route(router: Router, method: str, path: str, root_path: str = "") -> tuple[Any, int, str]:
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [],
        "query_string": b"",
        "scheme": "http",
        "server": ("testserver", 80),
        "http_version": "1.1",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await router.app(scope, receive, send)
    headers = dict(sent[0].get("headers", []))
    return scope.get("recorded"), sent[0]["status"], headers.get(b"location", b"").decode()


def test_every_request_goes_where_starlettes_router_sends_it(settings: Settings) -> None:
    patterns = _pattern_routes(create_app(settings).routes)
    # Routes whose first segment is a parameter (a family mounted at the root may add such): one in the
    # middle of the list that shadows a later literal route (/api/3d/queue/info), and a POST catch-all at
    # the end, so they interleave with the indexed candidates and order decides.
    later = next(i for i, r in enumerate(patterns) if getattr(r, "path", "") == "/api/3d/queue/info")
    patterns.insert(later - 5, Route("/{a}/{b}/queue/info", _recorder(-1), methods=["GET"]))
    patterns.append(Route("/{rest:path}", _recorder(-2), methods=["POST"]))
    plain, indexed = Router(patterns), IndexedRouter(patterns)

    async def compare() -> int:
        checked = 0
        for path in sorted(_sample_paths(patterns)):
            for method in METHODS:
                for root in ("", "/prefix"):
                    want = await _route(plain, method, path, root)
                    got = await _route(indexed, method, path, root)
                    assert got == want, (method, root, path)
                    checked += 1
        return checked

    assert asyncio.run(compare()) > 3000


def test_routes_added_later_are_indexed() -> None:
    router = IndexedRouter([Route("/a", _recorder(0))])

    async def status(path: str) -> int:
        return (await _route(router, "GET", path))[1]

    assert asyncio.run(status("/b")) == 404
    router.routes.append(Route("/b", _recorder(1)))
    assert asyncio.run(status("/b")) == 200


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/health", "health"),
        ("/api/v1/jobs/{job_id}", "api"),
        ("/{rest:path}", None),
        ("/v{n}/x", None),
        ("/", ""),
    ],
)
def test_first_segment(path: str, segment: str | None) -> None:
    assert first_segment(Route(path, _recorder(0))) == segment
