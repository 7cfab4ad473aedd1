"""Read and authenticate a Shopify webhook delivery the way Shopify's own libraries do.

405 for anything but POST (the route only allows POST), 400 when a required header is missing, 413 for an
oversized body, 401 when the base64 HMAC-SHA256 of the raw body (app secret) does not match, 400 for a body
that is not a JSON object. The HMAC is computed over the bytes as received, before any parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request

from shop_app.errors import AuthenticationRequired, PayloadTooLarge, ValidationError
from shop_app.shopify.domains import is_valid_shop_domain
from shop_app.shopify.sync import parse_time

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024  # product payloads with 100 variants stay far below this
REQUIRED_HEADERS = (
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
)


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str
    shop_domain: str
    webhook_id: str
    event_id: str  # X-Shopify-Event-Id, or the webhook id when Shopify sent none
    api_version: str
    triggered_at: datetime | None
    raw: bytes
    payload: dict[str, Any]


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


async def read_delivery(
    request: Request, *, secret: str, expected_topic: str, max_bytes: int = MAX_BODY_BYTES
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
    webhook_id = headers["X-Shopify-Webhook-Id"].strip()[:255]
    return WebhookDelivery(
        topic=topic,
        shop_domain=shop,
        webhook_id=webhook_id,
        event_id=(headers.get("X-Shopify-Event-Id") or "").strip()[:255] or webhook_id,
        api_version=headers["X-Shopify-API-Version"].strip()[:16],
        triggered_at=parse_time(headers.get("X-Shopify-Triggered-At")),
        raw=raw,
        payload=payload,
    )
