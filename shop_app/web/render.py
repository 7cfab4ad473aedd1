"""Small rendering helpers the families share: timestamps and signed result URLs."""

from __future__ import annotations

from datetime import datetime

from shop_app.models.jobs import Generation
from shop_app.storage import Storage


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def iso_ms(value: datetime | None) -> str | None:
    """`2025-07-26T15:30:00.000Z` (millisecond precision, as the JavaScript clients print)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else None


def result_urls(generation: Generation, storage: Storage, ttl_s: int | None = None) -> dict[str, str | None]:
    return {
        "glb_url": storage.url(generation.glb_key, ttl_s=ttl_s),
        "splat_url": storage.url(generation.splat_key, ttl_s=ttl_s) if generation.splat_key else None,
        "preview_url": storage.url(generation.preview_key, ttl_s=ttl_s) if generation.preview_key else None,
    }
