"""Read and authenticate a Shopify webhook delivery the way Shopify's own libraries do.

405 for anything but POST (the route only allows POST), 400 when a required header is missing, 413 for an
oversized body, 401 when the base64 HMAC-SHA256 of the raw body (app secret) does not match, 400 for a body
that is not a JSON object. The HMAC is computed over the bytes as received, before any parsing.

The HMAC covers the body only, so the headers of a captured delivery can be rewritten. Two more checks bind a
delivery to what was signed (400, nothing stored):
- the shop: a payload that names its shop (`myshopify_domain` or a myshopify `domain` in app/uninstalled's
  Shop resource, `shop_domain` in the compliance topics) must name the shop of `X-Shopify-Shop-Domain`;
- the time: `X-Shopify-Triggered-At` is required and must lie within `max_age_s` (Shopify retries a failed
  delivery 8 times over 4 hours and may delay one up to a day; default 24 h) and at most 5 minutes ahead;
  product payloads carry a signed `updated_at`, which must lie within the same window.
A replay of a signed body inside the window, even with fresh ids, is a duplicate in the inbox (same body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta

from starlette.datastructures import Headers
from starlette.requests import Request

from shop_app.errors import AuthenticationRequired, PayloadTooLarge, ValidationError
from shop_app.models.base import utcnow
from shop_app.shopify.domains import is_valid_shop_domain
from shop_app.shopify.sync import parse_time
from webhooks.delivery import WebhookDelivery

logger = logging.getLogger(__name__)

__all__ = ["WebhookDelivery", "compute_hmac", "hmac_matches", "read_body", "read_delivery"]

MAX_BODY_BYTES = 2 * 1024 * 1024  # product payloads with 100 variants stay far below this
REQUIRED_HEADERS = (
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Triggered-At",
)
DEFAULT_MAX_AGE_S = 24 * 3600.0
CLOCK_AHEAD = timedelta(minutes=5)  # Shopify's clock against ours
SIGNED_TIME_TOPICS = frozenset({"products/create", "products/update"})  # payloads with a fresh `updated_at`


def compute_hmac(raw: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def hmac_matches(raw: bytes, given: str, secret: str) -> bool:
    return hmac.compare_digest(compute_hmac(raw, secret).encode(), given.strip().encode())


def _reject(error: Exception, reason: str, headers: Headers) -> Exception:
    logger.warning(
        "webhook rejected (%s): topic=%r shop=%r webhook_id=%r",
        reason,
        headers.get("X-Shopify-Topic"),
        headers.get("X-Shopify-Shop-Domain"),
        headers.get("X-Shopify-Webhook-Id"),
    )
    return error


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` without reading it all into memory."""
    declared = request.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _reject(
            PayloadTooLarge(f"webhook body of {declared} bytes exceeds the {max_bytes}-byte limit"),
            "body too large",
            request.headers,
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _reject(
                PayloadTooLarge(f"webhook body exceeds the {max_bytes}-byte limit"),
                "body too large",
                request.headers,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def payload_shops(payload: dict[str, object]) -> set[str]:
    """The shop domains a payload names about itself (lower-cased)."""
    named = set()
    for key in ("myshopify_domain", "shop_domain", "domain"):
        value = payload.get(key)
        if isinstance(value, str) and (key != "domain" or value.lower().endswith(".myshopify.com")):
            named.add(value.strip().lower())
    return named


def _check_binding(
    headers: Headers, topic: str, shop: str, payload: dict[str, object], max_age_s: float
) -> datetime:
    others = payload_shops(payload) - {shop}
    if others:
        raise _reject(
            ValidationError(
                f"the payload belongs to {sorted(others)[0]}, not to X-Shopify-Shop-Domain {shop}",
                code="SHOP_MISMATCH",
            ),
            "payload names another shop",
            headers,
        )
    triggered = parse_time(headers["X-Shopify-Triggered-At"])
    if triggered is None:
        raise _reject(
            ValidationError("X-Shopify-Triggered-At is not an ISO 8601 time", code="INVALID_TRIGGERED_AT"),
            "invalid triggered-at",
            headers,
        )
    now = utcnow()
    oldest = now - timedelta(seconds=max_age_s)
    stamps = [("X-Shopify-Triggered-At", triggered)]
    if topic in SIGNED_TIME_TOPICS and (updated := parse_time(payload.get("updated_at"))) is not None:
        stamps.append(("the payload's updated_at", updated))
    for name, stamp in stamps:
        if stamp < oldest:
            raise _reject(
                ValidationError(
                    f"{name} {stamp.isoformat()} is older than the {max_age_s:.0f} s delivery window "
                    "(a replayed or expired delivery)",
                    code="STALE_DELIVERY",
                ),
                "stale delivery",
                headers,
            )
    if triggered > now + CLOCK_AHEAD:
        raise _reject(
            ValidationError(
                f"X-Shopify-Triggered-At {triggered.isoformat()} is in the future", code="STALE_DELIVERY"
            ),
            "triggered-at in the future",
            headers,
        )
    return triggered


async def read_delivery(
    request: Request,
    *,
    secret: str,
    expected_topic: str,
    max_bytes: int = MAX_BODY_BYTES,
    max_age_s: float = DEFAULT_MAX_AGE_S,
) -> WebhookDelivery:
    headers = request.headers
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        raise _reject(
            ValidationError(f"missing webhook header(s): {', '.join(missing)}", code="MISSING_HEADERS"),
            f"missing {', '.join(missing)}",
            headers,
        )
    raw = await read_body(request, max_bytes)
    if not hmac_matches(raw, headers["X-Shopify-Hmac-Sha256"], secret):
        raise _reject(
            AuthenticationRequired("webhook HMAC does not match the body", code="INVALID_HMAC"),
            "bad HMAC",
            headers,
        )
    topic = headers["X-Shopify-Topic"].strip()
    if topic != expected_topic:
        raise _reject(
            ValidationError(
                f"topic {topic[:64]!r} was sent to the {expected_topic} endpoint", code="WRONG_TOPIC"
            ),
            "topic does not match the route",
            headers,
        )
    shop = headers["X-Shopify-Shop-Domain"].strip().lower()
    if not is_valid_shop_domain(shop):
        raise _reject(
            ValidationError("X-Shopify-Shop-Domain is not a myshopify.com shop", code="INVALID_SHOP_DOMAIN"),
            "invalid shop domain",
            headers,
        )
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        raise _reject(
            ValidationError("webhook body is not a JSON object", code="INVALID_JSON"), "invalid JSON", headers
        )
    triggered = _check_binding(headers, topic, shop, payload, max_age_s)
    webhook_id = headers["X-Shopify-Webhook-Id"].strip()[:255]
    return WebhookDelivery(
        topic=topic,
        shop_domain=shop,
        webhook_id=webhook_id,
        event_id=(headers.get("X-Shopify-Event-Id") or "").strip()[:255] or webhook_id,
        api_version=headers["X-Shopify-API-Version"].strip()[:16],
        triggered_at=triggered,
        raw=raw,
        payload=payload,
    )
