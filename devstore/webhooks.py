"""Webhook deliveries: REST-shaped payloads, Shopify's headers and HMAC, retries with backoff.

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
from datetime import datetime
from typing import Any

import httpx

from devstore.config import DevstoreConfig
from devstore.records import COMPLIANCE_TOPICS, AppInstall, Media, Product, Shop, to_iso
from devstore.state import Store

logger = logging.getLogger(__name__)

USER_AGENT = "Shopify-Captain-Hook"


def webhook_hmac(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(secret, raw body)), the value of ``X-Shopify-Hmac-Sha256``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _rest_time(dt: datetime | None, shop: Shop) -> str | None:
    # REST payloads carry local time with an offset, e.g. 2021-12-31T19:00:00-05:00
    return dt.astimezone(shop.zone).isoformat(timespec="seconds") if dt else None


def product_payload(store: Store, shop: Shop, product: Product) -> dict[str, Any]:
    """The REST Product resource as products/create and products/update deliver it (webhook API 2026-07)."""
    media: list[Media] = [shop.media[m] for m in product.media_ids if m in shop.media]
    now = store.now()
    images = []
    variant_ids_by_media: dict[int, list[int]] = {}
    for v in product.variants:
        for mid in v.media_ids:
            variant_ids_by_media.setdefault(mid, []).append(v.id)
    position = 0
    for m in media:
        if m.content_type != "IMAGE":
            continue
        position += 1
        images.append(
            {
                "id": m.image_id or m.id,
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{m.image_id or m.id}",
                "product_id": product.id,
                "position": position,
                "alt": m.alt or None,
                "width": m.width or 0,
                "height": m.height or 0,
                "src": store.media_url(m),
                "variant_ids": variant_ids_by_media.get(m.id, []),
                "created_at": _rest_time(m.created_at, shop),
                "updated_at": _rest_time(m.updated_at or m.created_at, shop),
            }
        )
    media_json = []
    for pos, m in enumerate(media, start=1):
        typename = "MediaImage" if m.content_type == "IMAGE" else "Model3d"
        shown = m if m.content_type == "IMAGE" else (m.preview_media() if m.status(now) == "READY" else None)
        preview = None
        if shown is not None:
            preview = {
                "width": shown.width or 0,
                "height": shown.height or 0,
                "status": "READY",
                "src": store.media_url(shown),
            }
        media_json.append(
            {
                "id": m.id,
                "product_id": product.id,
                "position": pos,
                "alt": m.alt or "",
                "status": m.status(now),
                "media_content_type": m.content_type,
                "preview_image": preview,
                "variant_ids": variant_ids_by_media.get(m.id, []),
                "admin_graphql_api_id": f"gid://shopify/{typename}/{m.id}",
                "created_at": _rest_time(m.created_at, shop),
                "updated_at": _rest_time(m.updated_at or m.created_at, shop),
            }
        )
    image_id_of = {m.id: (m.image_id or m.id) for m in media if m.content_type == "IMAGE"}
    variants = []
    for v in product.variants:
        values = [val for _, val in v.options] + [None, None, None]
        variants.append(
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
                "barcode": v.barcode,
                "compare_at_price": v.compare_at_price,
                "created_at": _rest_time(v.created_at, shop),
                "id": v.id,
                "inventory_policy": "deny",
                "position": v.position,
                "price": v.price,
                "product_id": product.id,
                "sku": v.sku,
                "taxable": v.taxable,
                "title": v.title,
                "updated_at": _rest_time(v.updated_at, shop),
                "option1": values[0],
                "option2": values[1],
                "option3": values[2],
                "image_id": next((image_id_of[m] for m in v.media_ids if m in image_id_of), None),
                "inventory_item_id": v.inventory_item_id,
                "inventory_quantity": v.inventory_quantity,
                "old_inventory_quantity": v.inventory_quantity,
            }
        )
    options = []
    for pos, name in enumerate(product.option_names, start=1):
        values: list[str] = []
        for v in product.variants:
            for oname, ovalue in v.options:
                if oname == name and ovalue not in values:
                    values.append(ovalue)
        options.append(
            {
                "id": product.id * 10 + pos,
                "product_id": product.id,
                "name": name,
                "position": pos,
                "values": values,
            }
        )
    return {
        "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
        "body_html": product.body_html,
        "created_at": _rest_time(product.created_at, shop),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": _rest_time(product.published_at, shop),
        "template_suffix": None,
        "title": product.title,
        "updated_at": _rest_time(product.updated_at, shop),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "web",
        "tags": ", ".join(product.tags),
        "variants": variants,
        "options": options,
        "images": images,
        "image": images[0] if images else None,
        "media": media_json,
        "variant_gids": [
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
                "updated_at": v.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            for v in sorted(product.variants, key=lambda v: v.updated_at, reverse=True)
        ],
        "has_variants_that_requires_components": False,
        "category": None,
    }


def shop_payload(shop: Shop) -> dict[str, Any]:
    """The REST Shop resource, as app/uninstalled delivers it."""
    handle = shop.domain.split(".", 1)[0]
    return {
        "id": shop.id,
        "name": shop.name,
        "email": shop.email,
        "domain": shop.domain,
        "province": "New York",
        "country": "US",
        "address1": "1 Devstore Way",
        "zip": "10001",
        "city": "New York",
        "source": None,
        "phone": "5555550100",
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": None,
        "created_at": _rest_time(shop.created_at, shop),
        "updated_at": _rest_time(shop.created_at, shop),
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.currency,
        "customer_email": shop.email,
        "timezone": f"(GMT) {shop.iana_timezone}",
        "iana_timezone": shop.iana_timezone,
        "shop_owner": f"{handle.title()} Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": "${{amount}} " + shop.currency,
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": shop.plan_display_name,
        "plan_name": shop.plan,
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": shop.domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": "${{amount}} " + shop.currency,
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": True,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": shop.id + 1,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [shop.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }


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
                    "updated_at": _rest_time(self.store.now(), shop),
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
