"""Webhook deliveries: REST-shaped payloads (built in devstore.webhook_payloads), Shopify's headers and HMAC,
retries with backoff.

Events come from :meth:`devstore.state.Store.emit`. For each app installed on the shop whose subscriptions
name the topic, one delivery is recorded and queued; a single background thread posts it, so the request
that caused the event never waits. A non-2xx answer (or a timeout) is retried after each delay in
``DevstoreConfig.webhook_retry_delays`` (8 retries over 4 h by default); the retries carry the original
body and headers.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from devstore.config import DevstoreConfig
from devstore.records import COMPLIANCE_TOPICS, AppInstall, Shop, to_iso
from devstore.state import Store
from devstore.webhook_payloads import product_payload, rest_time, shop_payload

logger = logging.getLogger(__name__)

USER_AGENT = "Shopify-Captain-Hook"


def webhook_hmac(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw body)), the value of ``X-Shopify-Hmac-Sha256``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Attempt:
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass
class Delivery:
    id: str  # X-Shopify-Webhook-Id
    event_id: str
    topic: str
    shop: str
    client_id: str
    uri: str
    body: bytes
    headers: dict[str, str]
    triggered_at: str
    state: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "topic": self.topic,
            "shop": self.shop,
            "client_id": self.client_id,
            "uri": self.uri,
            "state": self.state,
            "triggered_at": self.triggered_at,
            "headers": self.headers,
            "body": self.body.decode(),
            "payload": json.loads(self.body),
            "attempts": [a.__dict__ for a in self.attempts],
        }


def _subscription_uris(install: AppInstall, topic: str) -> list[tuple[str, str | None]]:
    key = "compliance_topics" if topic in COMPLIANCE_TOPICS else "topics"
    out = []
    for sub in install.subscriptions:
        if topic in sub.get(key, []):
            uri = sub["uri"]
            if uri.startswith("/"):
                uri = install.app_url.rstrip("/") + uri
            out.append((uri, sub.get("name")))
    return out


class WebhookDispatcher:
    """Builds, records and delivers webhooks on one background thread."""

    def __init__(self, store: Store, config: DevstoreConfig) -> None:
        self.store = store
        self.config = config
        self.deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, Delivery]] = []
        self._seq = 0
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        store.add_listener(self.on_event)

    # ---- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = False
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                self.config.webhook_timeout_s, connect=self.config.webhook_connect_timeout_s
            ),
            follow_redirects=False,
        )
        self._thread = threading.Thread(target=self._run, name="devstore-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def reset(self) -> None:
        with self._cond:
            self.deliveries.clear()
            self._queue.clear()

    # ---- events -------------------------------------------------------------------------------------
    def on_event(self, topic: str, shop: Shop, event: dict[str, Any]) -> None:
        if topic == "app/uninstalled":
            installs = [event["install"]]
            payload: dict[str, Any] = shop_payload(shop)
        else:
            installs = list(shop.installs.values())
            if topic in ("products/create", "products/update"):
                product = shop.products.get(event["product_id"])
                if product is None:
                    return
                with self.store.lock:
                    payload = product_payload(self.store, shop, product)
            elif topic == "products/delete":
                payload = {"id": event["id"]}
            elif topic == "app/scopes_update":
                installs = [shop.installs[event["client_id"]]]
                payload = {
                    "id": self.store.next_id(),
                    "previous": event["previous"],
                    "current": event["current"],
                    "updated_at": rest_time(self.store.now(), shop),
                    "shop_id": f"gid://shopify/Shop/{shop.id}",
                }
            elif topic == "bulk_operations/finish":  # only to the app that ran the operation
                installs = [shop.installs[event["client_id"]]]
                payload = event["payload"]
            elif topic in COMPLIANCE_TOPICS:
                installs = [shop.installs[event["client_id"]]] if event.get("client_id") else installs
                payload = event["payload"]
            else:
                logger.warning("no webhook payload builder for topic %s", topic)
                return
        self.enqueue_event(topic, shop, installs, payload)

    def enqueue_event(
        self, topic: str, shop: Shop, installs: list[AppInstall], payload: dict[str, Any]
    ) -> list[Delivery]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        event_id = str(uuid.uuid4())
        triggered = to_iso(self.store.now()) or ""
        triggered = triggered.replace("Z", ".000Z")
        made = []
        for install in installs:
            for uri, name in _subscription_uris(install, topic):
                webhook_id = str(uuid.uuid4())
                headers = {
                    "Content-Type": "application/json",
                    "User-Agent": USER_AGENT,
                    "X-Shopify-Topic": topic,
                    "X-Shopify-Hmac-Sha256": webhook_hmac(body, install.client_secret),
                    "X-Shopify-Shop-Domain": shop.domain,
                    "X-Shopify-API-Version": install.api_version,
                    "X-Shopify-Webhook-Id": webhook_id,
                    "X-Shopify-Event-Id": event_id,
                    "X-Shopify-Triggered-At": triggered,
                }
                if name:
                    headers["X-Shopify-Name"] = name
                delivery = Delivery(
                    id=webhook_id,
                    event_id=event_id,
                    topic=topic,
                    shop=shop.domain,
                    client_id=install.client_id,
                    uri=uri,
                    body=body,
                    headers=headers,
                    triggered_at=triggered,
                )
                made.append(delivery)
        with self._cond:
            for delivery in made:
                self.deliveries.append(delivery)
                self._schedule(delivery, 0.0)
            self._cond.notify_all()
        return made

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        delivery.next_attempt_at = time.monotonic() + delay
        self._seq += 1
        heapq.heappush(self._queue, (delivery.next_attempt_at, self._seq, delivery))

    # ---- worker -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(timeout=timeout)
                if self._stop:
                    return
                _, _, delivery = heapq.heappop(self._queue)
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self._client.post(delivery.uri, content=delivery.body, headers=delivery.headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(
            at=to_iso(self.store.now()) or "",
            status_code=status,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        with self._cond:
            delivery.attempts.append(attempt)
            if error is None:
                delivery.state = "delivered"
                delivery.next_attempt_at = None
            elif len(delivery.attempts) <= len(self.config.webhook_retry_delays):
                self._schedule(delivery, self.config.webhook_retry_delays[len(delivery.attempts) - 1])
            else:
                delivery.state = "failed"
                delivery.next_attempt_at = None
                logger.info(
                    "webhook %s to %s failed after %d attempts",
                    delivery.topic,
                    delivery.uri,
                    len(delivery.attempts),
                )
            self._cond.notify_all()

    # ---- inspection ---------------------------------------------------------------------------------
    def list(self, *, shop: str | None = None, topic: str | None = None) -> list[Delivery]:
        with self._cond:
            return [
                d
                for d in self.deliveries
                if (shop is None or d.shop == shop) and (topic is None or d.topic == topic)
            ]

    def wait_idle(self, timeout: float) -> bool:
        """Block until no delivery is pending (tests); return False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(d.state == "pending" for d in self.deliveries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=remaining)
        return True
