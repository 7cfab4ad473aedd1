"""A router that tries only the routes a path can match: the app has ~115 routes in one flat list.

Starlette's `Router` matches a request against each route in order, a regular expression and a scope dict per
route: a poll of `/api/v1/jobs/{id}` went through 39 of them first (~5 % of its CPU, profiled). Every route's
pattern starts with a literal text ("/api/v1/jobs/" for "/api/v1/jobs/{job_id}", "/webhooks/" for that
mount), so a path can only match the routes whose literal first segment is its own, plus the few whose first
segment is itself a parameter (e.g. "/{rest:path}"). `IndexedRouter` keeps those candidates per first
segment, in the original order, and hands the first FULL match to its route exactly as `Router` would (a
route the index skipped cannot match). Everything else (no full match: 405 partial matches, slash
redirects, 404) goes to `Router.app` unchanged, which matches all the routes again.

`routes` stays the flat list (introspection, OpenAPI, `Allow` headers); routes added to it later are
indexed on the next request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

WILDCARD = None  # the key of routes whose first segment is a parameter: candidates for every path


def first_segment(route: BaseRoute) -> str | None:
    """The literal first path segment every path this route matches has, or WILDCARD."""
    path = getattr(route, "path", None)
    if not isinstance(route, Route | Mount) or not isinstance(path, str) or not path.startswith("/"):
        return WILDCARD
    literal = path.split("{", 1)[0]
    end = literal.find("/", 1)
    if end != -1:
        return literal[1:end]
    if literal != path:  # a parameter inside the first segment ("/{rest:path}", "/v{n}")
        return WILDCARD
    return literal[1:]  # the whole path is one literal segment ("/health", a mount's "/webhooks")


def path_segment(path: str) -> str:
    end = path.find("/", 1)
    return path[1:end] if end != -1 else path[1:]


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=list(routes), **kwargs)
        self._indexed: tuple[int, int] = (0, -1)  # (id, length) of the routes list the index was built from
        self._candidates: dict[str | None, list[BaseRoute]] = {}

    def _index(self) -> dict[str | None, list[BaseRoute]]:
        if self._indexed != (id(self.routes), len(self.routes)):  # routes are appended, not replaced in place
            keys = [first_segment(route) for route in self.routes]
            index: dict[str | None, list[BaseRoute]] = {
                key: [r for r, k in zip(self.routes, keys, strict=True) if k in (key, WILDCARD)]
                for key in set(keys)
            }
            index.setdefault(WILDCARD, [r for r, k in zip(self.routes, keys, strict=True) if k is WILDCARD])
            self._candidates, self._indexed = index, (id(self.routes), len(self.routes))
        return self._candidates

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            index = self._index()
            path = _route_path(scope)
            candidates = index.get(path_segment(path))
            for route in index[WILDCARD] if candidates is None else candidates:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the routes match against: `scope["path"]` less the `root_path` (as Starlette computes it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    return path[len(root_path) :] if path[len(root_path)] == "/" else path
