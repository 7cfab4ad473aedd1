"""The scheduler's periodic jobs. Each is a plain function of (settings, engine) so tests call it directly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from sqlalchemy.engine import Engine

from scheduler.backfill import run_backfills
from scheduler.scan import ShopScanReport, scan_all_shops, scannable_shops
from shop_app.blob_sweep import SweepReport, sweep_unreferenced_blobs
from shop_app.db import listen_url
from shop_app.jobs.retries import ReapReport, RetryPolicy, reap_expired_leases
from shop_app.settings import Settings
from shop_app.shopify.auto_publish import approve_ready_models
from shop_app.shopify.errors import ShopifyError, ShopNotInstalled
from shop_app.shopify.publish import PublishReport, publish_step
from shop_app.shopify.services import ShopifyServices, make_shopify_services
from shop_app.storage import make_storage
from webhooks.inbox import InboxProcessor

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _with_services(settings: Settings, engine: Engine, work: Callable[[ShopifyServices], Awaitable[T]]) -> T:
    async def run() -> T:
        async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
            return await work(make_shopify_services(settings, engine, http))

    return asyncio.run(run())


def scan_products(settings: Settings, engine: Engine) -> list[ShopScanReport]:
    """Scan every installed shop for products created since its watermark."""
    return _with_services(settings, engine, scan_all_shops)


async def _refresh_all(services: ShopifyServices) -> dict[str, str]:
    results: dict[str, str] = {}
    for shop in await asyncio.to_thread(scannable_shops, services):
        try:
            refreshed = await services.tokens.refresh_if_needed(shop.domain)
            results[shop.domain] = "refreshed" if refreshed else "fresh"
        except ShopNotInstalled as err:
            results[shop.domain] = f"needs_reauth: {err.message}"
        except ShopifyError as err:  # Shopify unreachable: try again next minute
            results[shop.domain] = f"error: {err.message}"
            logger.warning("token refresh for %s failed: %s", shop.domain, err.message)
    return results


def refresh_tokens(settings: Settings, engine: Engine) -> dict[str, str]:
    """Refresh every installed shop's offline token that has less than 5 minutes left."""
    return _with_services(settings, engine, _refresh_all)


def backfill_products(settings: Settings, engine: Engine) -> dict[str, str]:
    """Advance every running backfill (all active products, or one collection, of a shop)."""
    return _with_services(settings, engine, run_backfills)


def publish_models(settings: Settings, engine: Engine) -> PublishReport:
    """Advance approved models towards Shopify (stage, upload, attach, poll) and detach withdrawn ones."""
    storage = make_storage(settings)
    approve_ready_models(engine)  # shops that publish without review
    return _with_services(settings, engine, lambda services: publish_step(services, storage))


def make_inbox_processor(settings: Settings, engine: Engine, *, poll_s: float = 0.5) -> InboxProcessor:
    """The webhook inbox processor (webhooks/inbox.py); LISTENs for new deliveries on PostgreSQL."""
    storage = make_storage(settings)
    return InboxProcessor(
        engine,
        delete_file=storage.delete,
        poll_s=poll_s,
        database_url=listen_url(engine),
    )


def process_webhooks(settings: Settings, engine: Engine) -> int:
    """Process every recorded webhook delivery that may run now (`--once`)."""
    return make_inbox_processor(settings, engine).drain()


def reap_leases(settings: Settings, engine: Engine) -> ReapReport:
    """Give expired job leases back to the queue (the jobs capability's reaper)."""
    report = reap_expired_leases(
        engine, policy=RetryPolicy(base_s=settings.job_retry_base_s, cap_s=settings.job_retry_cap_s)
    )
    if report.total:
        logger.info(
            "reaper: %d requeued, %d failed, %d canceled",
            len(report.requeued),
            len(report.failed),
            len(report.canceled),
        )
    return report


def sweep_blobs(settings: Settings, engine: Engine) -> SweepReport:
    """Remove stored files that no row references and that were last written before the grace period."""
    return sweep_unreferenced_blobs(
        engine=engine, storage=make_storage(settings), grace_s=settings.blob_sweep_grace_s
    )
