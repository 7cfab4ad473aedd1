"""Async Admin GraphQL client: named operations, pacing from `extensions.cost.throttleStatus`, bounded retries.

Shopify answers a throttled query with HTTP 200 and `errors[].extensions.code == "THROTTLED"`, so throttling
is detected in the body as well as from 429. Retries (THROTTLED, 429, 5xx, network errors) use exponential
backoff with jitter, never shorter than what Shopify asks for (`Retry-After`, or the time the bucket needs
to refill enough for the query).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from shop_app.settings import SHOPIFY_API_VERSION
from shop_app.shopify.domains import shop_base_url
from shop_app.shopify.errors import (
    ShopifyAuthError,
    ShopifyError,
    ShopifyGraphQLError,
    ShopifyThrottled,
    ShopifyUnavailable,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Operation:
    """A named GraphQL document. `name` must be the operation's name inside `document`."""

    name: str
    document: str
    estimated_cost: int = 50


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(15.0, connect=5.0))


@dataclass
class ThrottleState:
    """The shop's bucket as last reported, extrapolated forward at its restore rate."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0
    observed_at: float = 0.0

    def available_now(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.observed_at) * self.restore_rate)

    def wait_for(self, cost: float, now: float) -> float:
        missing = min(cost, self.maximum) - self.available_now(now)
        return max(0.0, missing / self.restore_rate) if self.restore_rate > 0 else 0.0


TokenProvider = Callable[[], Awaitable[str]]


class AdminClient:
    """One shop's Admin API. `token` is called before each request, so a refreshed token is picked up."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        shop: str,
        token: TokenProvider,
        admin_base: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.shop = shop
        self.url = f"{shop_base_url(shop, admin_base)}/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
        self.token = token
        self.retry = retry or RetryPolicy()
        self.throttle = ThrottleState()
        self._sleep = sleep
        self._costs: dict[str, float] = {}

    async def execute(self, operation: Operation, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run the operation and return its `data`; raise a ShopifyError subclass carrying Shopify's message."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: isinstance(e, ShopifyError) and e.retryable),
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(operation, variables or {})
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(self.retry.max_delay_s, self.retry.base_delay_s * 2 ** (state.attempt_number - 1))
        delay = random.uniform(backoff / 2, backoff)  # jitter so many shops do not retry in lockstep
        hinted = getattr(exc, "retry_after", None)
        if hinted:
            delay = max(delay, min(float(hinted), self.retry.max_delay_s * 4))
        return delay

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "Shopify call for %s failed (attempt %d): %r; retrying", self.shop, state.attempt_number, exc
        )

    async def _once(self, operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
        cost = self._costs.get(operation.name, float(operation.estimated_cost))
        pause = self.throttle.wait_for(cost, time.monotonic())
        if pause > 0:
            logger.debug("pacing %s: waiting %.2f s for the cost bucket", self.shop, pause)
            await self._sleep(pause)
        token = await self.token()
        body = {"query": operation.document, "variables": variables, "operationName": operation.name}
        headers = {
            "X-Shopify-Access-Token": token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            resp = await self.http.post(self.url, json=body, headers=headers, timeout=self.retry.timeout)
        except httpx.TimeoutException as err:
            raise ShopifyUnavailable(
                f"{operation.name}: Shopify did not answer in time ({err!r})", shop=self.shop
            ) from None
        except httpx.HTTPError as err:
            raise ShopifyUnavailable(f"{operation.name}: network error: {err!r}", shop=self.shop) from None
        deprecated = resp.headers.get("X-Shopify-API-Deprecated-Reason")
        if deprecated:
            logger.warning("%s uses deprecated Admin API fields: %s", operation.name, deprecated)
        return self._handle(operation, resp)

    def _handle(self, operation: Operation, resp: httpx.Response) -> dict[str, Any]:
        status = resp.status_code
        if status == 429:
            raise ShopifyThrottled(
                f"{operation.name}: throttled (429)",
                shop=self.shop,
                http_status=429,
                retry_after=_retry_after(resp) or 1.0,
            )
        if status >= 500:
            raise ShopifyUnavailable(
                f"{operation.name}: Shopify answered {status}",
                shop=self.shop,
                http_status=status,
                retry_after=_retry_after(resp),
            )
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        if status in (401, 403):
            raise ShopifyAuthError(
                f"{operation.name}: access denied ({status}): {_errors_text(payload) or resp.text[:200]}",
                shop=self.shop,
                http_status=status,
            )
        if status != 200 or not isinstance(payload, dict):
            raise ShopifyGraphQLError(
                f"{operation.name}: unexpected answer {status}: {_errors_text(payload) or resp.text[:200]}",
                shop=self.shop,
                http_status=status,
            )
        self._observe_cost(operation, payload)
        errors = payload.get("errors")
        if errors:
            if _is_throttled(errors):
                raise ShopifyThrottled(
                    f"{operation.name}: {_errors_text(payload)}",
                    shop=self.shop,
                    http_status=200,
                    retry_after=self._refill_time(payload),
                )
            raise ShopifyGraphQLError(
                f"{operation.name}: {_errors_text(payload)}", shop=self.shop, http_status=200
            )
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ShopifyGraphQLError(
                f"{operation.name}: answer has no data", shop=self.shop, http_status=200
            )
        return data

    def _observe_cost(self, operation: Operation, payload: dict[str, Any]) -> None:
        cost = (payload.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            self.throttle = ThrottleState(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                observed_at=time.monotonic(),
            )
        except (KeyError, TypeError, ValueError):
            return
        if isinstance(cost.get("requestedQueryCost"), int | float):
            self._costs[operation.name] = float(cost["requestedQueryCost"])

    def _refill_time(self, payload: dict[str, Any]) -> float:
        cost = (payload.get("extensions") or {}).get("cost") or {}
        requested = cost.get("requestedQueryCost")
        if not isinstance(requested, int | float):
            return 1.0
        return max(0.1, self.throttle.wait_for(float(requested), time.monotonic()))


def _is_throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors
    )


def _errors_text(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    errors = payload.get("errors")
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:1000]
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())[:1000]
    return ""


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
