"""Typed configuration for the devstore."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Shopify retries a failed webhook 8 times over 4 hours with exponential backoff (changelog 2024-09-10).
# These are the delays (seconds) before each retry; their sum is 4 h.
SHOPIFY_WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (
    60.0,
    120.0,
    300.0,
    600.0,
    1200.0,
    2400.0,
    3600.0,
    6120.0,
)


@dataclass(frozen=True)
class DevstoreConfig:
    """Settings of one devstore instance.

    Parameters:
        public_url: base URL the devstore is reachable at (``http://127.0.0.1:8700``); used for CDN,
            staged-upload and OAuth redirect URLs. ``None`` derives it from each request's Host.
        snapshot_path: JSON file to load state from at start-up and save to at shutdown (``None``: memory only).
        bucket_size / restore_rate: one leaky bucket (capacity in cost points, points per second) for every
            shop, overriding the per-plan limits (``None``, the default: each shop's plan decides, as on
            Shopify; see ``state.PLAN_RATE_LIMITS``; a shop's own limit can also be set via the control API).
        max_query_cost: a single query whose requested cost exceeds this is refused (Shopify: 1,000).
        webhook_retry_delays: delay before each retry of a failed delivery; 8 entries summing to 4 h by
            default. Tests compress it, e.g. ``(0.05,) * 8``.
        webhook_timeout_s: total timeout for one delivery attempt (Shopify: 5 s).
        media_processing_s: how long MODEL_3D media stays UPLOADED and then PROCESSING before READY/FAILED.
        bulk_processing_s: how long a bulk query operation stays RUNNING before COMPLETED (and its webhook).
        max_model3d_bytes: largest accepted GLB (Shopify: below 500 MB).
        max_image_bytes: largest accepted staged IMAGE upload (Shopify: 20 MB).
        staged_upload_ttl_s: how long a staged target accepts its upload.
        auth_code_ttl_s: lifetime of an authorization code.
        access_token_ttl_s / refresh_token_ttl_s: expiring offline token lifetimes (3,600 s / 90 days).
        online_token_ttl_s: lifetime of online access tokens (Shopify: 24 h).
        cache_dir: where the demo catalogue caches rendered photos.
    """

    public_url: str | None = None
    snapshot_path: Path | None = None
    bucket_size: float | None = None
    restore_rate: float | None = None
    max_query_cost: int = 1000
    webhook_retry_delays: tuple[float, ...] = SHOPIFY_WEBHOOK_RETRY_DELAYS
    webhook_timeout_s: float = 5.0
    webhook_connect_timeout_s: float = 1.0
    media_processing_s: float = 2.0
    bulk_processing_s: float = 0.5
    max_model3d_bytes: int = 500 * 1024 * 1024 - 1
    max_image_bytes: int = 20 * 1024 * 1024
    staged_upload_ttl_s: float = 3600.0
    auth_code_ttl_s: float = 600.0
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 90 * 24 * 3600
    online_token_ttl_s: int = 24 * 3600
    cache_dir: Path = field(default_factory=lambda: Path("var/devstore-cache"))
