"""Rate limiting middleware over the `limits` library (moving window).

Storage is in memory per process by default, and Redis (shared by every web process) when NU3D_REDIS_URL is
set. Every limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(an absolute epoch second, as seeds 003 and 004 show); a 429 adds `Retry-After` (seconds).
If the limiter's store is unreachable the request is let through (logged): rate limits protect the service,
they must not take it down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop_app.apikeys import KEY_PREFIX, find_api_key
from shop_app.db import session_scope

logger = logging.getLogger(__name__)

ErrorBody = Callable[[str, int], dict[str, Any]]


def default_error_body(message: str, retry_after: int) -> dict[str, Any]:
    return {
        "detail": {"code": "RATE_LIMIT_EXCEEDED", "message": message, "details": {"retry_after": retry_after}}
    }


@dataclass(frozen=True)
class RateRule:
    """Parameters:
    name: namespace of the counters.
    prefix: path prefix (or prefixes) the rule applies to.
    limit: e.g. "60/minute", or several at once: "60/minute;1000/hour" (every one must allow the request;
      the headers report the first).
    per: "ip" (client address) or "key" (the API key when it is a known one, else the client address).
    error_body: builds the 429 body in the route family's error shape.
    exempt: paths under the prefix that this rule does not count (e.g. SSE streams).
    stacks: counted on top of the first matching rule instead of competing with it (a family's job-creation
      limit beside its general one, answered with its own error body).
    """

    name: str
    prefix: str | tuple[str, ...]
    limit: str
    per: str = "ip"
    error_body: ErrorBody = default_error_body
    exempt: Callable[[str, str], bool] | None = None
    stacks: bool = False

    def items(self) -> list[RateLimitItem]:
        return list(parse_many(self.limit))

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix)


def storage_uri(redis_url: str | None) -> str:
    if not redis_url:
        return "async+memory://"
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


def _presented_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-api-key" or (name == b"authorization" and value[:7].lower() == b"bearer "):
            token = (value[7:] if name == b"authorization" else value).strip()
            return token.decode("latin-1") if token else None
    return None


class KnownKeys:
    """Whether a presented API key exists (active), cached for `ttl_s` so a burst of requests costs one
    lookup. Only a known key gets its own counter: a missing or unknown key counts against the client's
    address, so rotating made-up keys cannot dodge the limit."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_s: float = 30.0) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_known(self, scope: Scope, token: str) -> bool:
        if not token.startswith(KEY_PREFIX) or len(token) > 200:
            return False  # never a valid key: no lookup
        db = (scope.get("state") or {}).get("db")
        if db is None:
            return False
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]

        def lookup() -> bool:
            with session_scope(db) as session:
                return find_api_key(session=session, presented=token) is not None

        known = await run_in_threadpool(lookup)
        if len(self._cache) >= self.MAX_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (known, now + self.ttl_s)
        return known


async def _client_key(scope: Scope, per: str, known_keys: KnownKeys) -> str:
    if per == "key":
        token = _presented_token(scope)
        if token is not None and await known_keys.is_known(scope, token):
            return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return _client_ip(scope)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, *, rules: list[RateRule], storage: str = "async+memory://") -> None:
        self.app = app
        self.rules = [(rule, rule.items()) for rule in rules]
        # redis-py (already a dependency) instead of limits' default async driver, coredis.
        options: dict[str, Any] = {"implementation": "redispy"} if storage.startswith("async+redis") else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage, **options))
        self.known_keys = KnownKeys()

    def _rules_for(self, scope: Scope) -> list[tuple[RateRule, list[RateLimitItem]]]:
        """The first matching rule, plus every matching rule that stacks on it; the first one's figures go in
        the headers of an allowed response."""
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        found: list[tuple[RateRule, list[RateLimitItem]]] = []
        primary = False
        for rule, items in self.rules:
            if not rule.matches(path) or (primary and not rule.stacks):
                continue
            if rule.exempt is not None and rule.exempt(method, path):
                if not rule.stacks:
                    primary = True  # an exempt first match still shadows the rules after it
                continue
            found.append((rule, items))
            primary = primary or not rule.stacks
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        matches = self._rules_for(scope)
        if not matches:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = []
        for index, (rule, items) in enumerate(matches):
            try:
                key = await _client_key(scope, rule.per, self.known_keys)
                refused: RateLimitItem | None = None
                for candidate in items:
                    if not await self.limiter.hit(candidate, rule.name, key):
                        refused = candidate
                        break
                item = refused or items[0]
                stats = await self.limiter.get_window_stats(item, rule.name, key)
            except Exception as err:  # the limiter's store is down: fail open
                logger.warning("rate limiter unavailable, request allowed: %s", err)
                await self.app(scope, receive, send)
                return
            rule_headers = [
                (b"x-ratelimit-limit", str(item.amount).encode()),
                (b"x-ratelimit-remaining", str(max(0, stats.remaining)).encode()),
                (b"x-ratelimit-reset", str(math.ceil(stats.reset_time)).encode()),
            ]
            if index == 0:
                headers = rule_headers
            if refused is not None:
                await self._refuse(send, rule, item, stats.reset_time, rule_headers)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(
        self,
        send: Send,
        rule: RateRule,
        item: RateLimitItem,
        reset_time: float,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        retry_after = max(1, math.ceil(reset_time - time.time()))
        body = json.dumps(
            rule.error_body(
                f"Too many requests: the limit is {item.amount} per {_per(item)}; retry in {retry_after} s.",
                retry_after,
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _per(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"
