"""The product scan: find products a webhook may have missed (and those of a shop that just installed).

Per shop, two passes, page by page (cursor saved after each page, so a scan that stops resumes where it was):
1. `status:active AND created_at:>='<watermark>'` (sortKey CREATED_AT): new products;
2. `status:active AND updated_at:>='<updated_watermark>'` (sortKey UPDATED_AT): reconciliation of updates
   whose webhook was lost (a new photo, a draft made active).
A product whose `updatedAt` we already hold is skipped; others get their images read with ProductDetail and
go through the same upsert as the webhooks: running a scan twice changes nothing and queues nothing new.
Each watermark then moves to the newest timestamp its pass saw (`>=` re-reads that boundary second, which the
upsert makes harmless).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from shop_app.db import session_scope, write_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import Product, ScanState
from shop_app.shopify.admin import AdminClient
from shop_app.shopify.errors import ShopifyError, ShopNotInstalled
from shop_app.shopify.operations import PRODUCT_DETAIL, SCAN_PRODUCTS
from shop_app.shopify.services import ShopifyServices, start_of_day
from shop_app.shopify.sync import parse_time, snapshot_from_graphql, upsert_product

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_MEDIA_PAGES = 10


@dataclass
class ShopScanReport:
    shop: str
    products: int = 0  # seen by the created_at pass
    reconciled: int = 0  # seen by the updated_at pass
    queued: int = 0
    pages: int = 0
    error: str | None = None
    queued_job_ids: list[str] = field(default_factory=list)


def search_query(watermark: datetime, field: str = "created_at") -> str:
    stamp = watermark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"status:active AND {field}:>='{stamp}'"


def scannable_shops(services: ShopifyServices) -> list[Shop]:
    """Installed shops with a token that works (an uninstalled or re-auth shop is not scanned)."""
    with session_scope(services.engine) as session:
        return list(
            session.exec(
                select(Shop)
                .where(
                    Shop.uninstalled_at.is_(None),  # type: ignore[union-attr]
                    Shop.access_token_enc.is_not(None),  # type: ignore[union-attr]
                    Shop.needs_reauth.is_(False),  # type: ignore[attr-defined]
                )
                .order_by(Shop.id)  # type: ignore[arg-type]
            ).all()
        )


def _load_state(services: ShopifyServices, shop: Shop) -> ScanState:
    with write_scope(services.engine) as session:
        state = session.get(ScanState, shop.id)
        if state is None:
            state = ScanState(shop_id=shop.id, watermark=start_of_day(shop.iana_timezone))  # type: ignore[arg-type]
        state.last_started_at = utcnow()
        session.add(state)
        session.flush()
        return state


def _save_state(services: ShopifyServices, shop_id: int, **values: Any) -> None:
    with write_scope(services.engine) as session:
        state = session.get(ScanState, shop_id)
        if state is None:
            return
        for key, value in values.items():
            setattr(state, key, value)
        session.add(state)


async def read_product(
    admin: AdminClient, product_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    nodes: list[dict[str, Any]] = []
    after = None
    product = None
    for _ in range(MAX_MEDIA_PAGES):
        data = await admin.execute(PRODUCT_DETAIL, {"id": product_id, "after": after})
        product = data.get("product")
        if not product:
            return None, []
        media = product.get("media") or {}
        nodes += media.get("nodes") or []
        page = media.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            break
        after = page.get("endCursor")
    return product, nodes


def store_product(
    services: ShopifyServices, shop_id: int, product: dict[str, Any], media: list[dict[str, Any]]
) -> list[str]:
    snapshot = snapshot_from_graphql(product, media)
    with write_scope(services.engine) as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.uninstalled_at is not None:
            return []
        return upsert_product(session=session, shop=shop, snapshot=snapshot).queued_job_ids


@dataclass(frozen=True)
class ScanPass:
    """One search over the shop's products: by creation (new products) or by update (reconciliation)."""

    name: str
    search_field: str  # created_at | updated_at
    node_field: str  # createdAt | updatedAt
    sort_key: str  # CREATED_AT | UPDATED_AT
    state_field: str  # ScanState column holding this pass's watermark


CREATED = ScanPass("created", "created_at", "createdAt", "CREATED_AT", "watermark")
UPDATED = ScanPass("updated", "updated_at", "updatedAt", "UPDATED_AT", "updated_watermark")


def _known_version(services: ShopifyServices, shop_id: int, gid: str) -> datetime | None:
    with session_scope(services.engine) as session:
        product = session.exec(select(Product).where(Product.shop_id == shop_id, Product.gid == gid)).first()
        if product is None:
            return None
        # A deleted product never changes again; treat it as fully known.
        return datetime.max.replace(tzinfo=UTC) if product.deleted_at else product.shopify_updated_at


async def _run_pass(
    services: ShopifyServices,
    shop: Shop,
    admin: AdminClient,
    scan_pass: ScanPass,
    watermark: datetime,
    saved: ScanState,
    report: ShopScanReport,
) -> datetime:
    query = search_query(watermark, scan_pass.search_field)
    cursor = saved.cursor if saved.cursor_query == query else None
    newest = watermark
    while True:
        variables = {"after": cursor, "query": query, "first": PAGE_SIZE, "sortKey": scan_pass.sort_key}
        data = await admin.execute(SCAN_PRODUCTS, variables)
        connection = data["products"]
        report.pages += 1
        for node in connection["nodes"]:
            stamp = parse_time(node.get(scan_pass.node_field))
            if stamp and stamp > newest:
                newest = stamp
            if scan_pass is CREATED:
                report.products += 1
            else:
                report.reconciled += 1
            known = await asyncio.to_thread(_known_version, services, shop.id, node["id"])  # type: ignore[arg-type]
            updated = parse_time(node.get("updatedAt"))
            if known is not None and updated is not None and known >= updated:
                continue  # nothing changed since a webhook or an earlier scan told us about it
            # always read the detail: GET /api/nu3d serves its description, tags and variants
            product, media = await read_product(admin, node["id"])
            if product is None:
                continue
            queued = await asyncio.to_thread(store_product, services, shop.id, product, media)  # type: ignore[arg-type]
            report.queued += len(queued)
            report.queued_job_ids += queued
        page = connection["pageInfo"]
        if not page["hasNextPage"]:
            break
        cursor = page["endCursor"]
        await asyncio.to_thread(_save_state, services, shop.id, cursor=cursor, cursor_query=query)  # type: ignore[arg-type]
    await asyncio.to_thread(
        _save_state,
        services,
        shop.id,  # type: ignore[arg-type]
        cursor=None,
        cursor_query=None,
        **{scan_pass.state_field: newest},
    )
    return newest


async def scan_shop(services: ShopifyServices, shop: Shop) -> ShopScanReport:
    """Both passes for one shop; a Shopify failure is recorded and the next run resumes from the cursor."""
    report = ShopScanReport(shop=shop.domain)
    state = await asyncio.to_thread(_load_state, services, shop)
    start = start_of_day(shop.iana_timezone)
    admin = services.admin(shop.domain)
    try:
        await _run_pass(services, shop, admin, CREATED, state.watermark or start, state, report)
        await _run_pass(
            services, shop, admin, UPDATED, state.updated_watermark or state.watermark or start, state, report
        )
    except (ShopifyError, ShopNotInstalled) as err:
        report.error = err.message
        logger.warning("scan of %s stopped: %s (resumes from the saved cursor)", shop.domain, err.message)
        await asyncio.to_thread(_save_state, services, shop.id, last_error=err.message[:1024])  # type: ignore[arg-type]
        return report
    await asyncio.to_thread(
        _save_state,
        services,
        shop.id,  # type: ignore[arg-type]
        last_finished_at=utcnow(),
        last_error=None,
        products_seen=report.products,
    )
    logger.info(
        "scanned %s: %d new and %d updated products in %d pages, %d generations queued",
        shop.domain,
        report.products,
        report.reconciled,
        report.pages,
        report.queued,
    )
    return report


async def scan_all_shops(services: ShopifyServices) -> list[ShopScanReport]:
    shops = await asyncio.to_thread(scannable_shops, services)
    reports = []
    for shop in shops:  # one shop at a time: each has its own rate-limit bucket, but the DB is shared
        reports.append(await scan_shop(services, shop))
    return reports
