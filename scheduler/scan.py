"""The product scan: find products a webhook may have missed (and those of a shop that just installed).

Per shop: `products(query: "status:active AND created_at:>='<watermark>'", sortKey: CREATED_AT)` page by page
(cursor saved after each page, so a scan that stops resumes where it was), each product's images read with
ProductDetail, and everything goes through the same upsert as the webhooks: running it twice changes nothing
and queues nothing new. When a scan completes, the watermark moves to the newest `createdAt` it saw
(`>=` re-reads that boundary second, which the upsert makes harmless).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import ScanState
from shop_app.shopify.admin import AdminClient
from shop_app.shopify.dbutil import write_scope
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
    products: int = 0
    queued: int = 0
    pages: int = 0
    error: str | None = None
    queued_job_ids: list[str] = field(default_factory=list)


def search_query(watermark: datetime) -> str:
    stamp = watermark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"status:active AND created_at:>='{stamp}'"


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


async def _media_nodes(
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


def _store_product(
    services: ShopifyServices, shop_id: int, product: dict[str, Any], media: list[dict[str, Any]]
) -> list[str]:
    snapshot = snapshot_from_graphql(product, media)
    with write_scope(services.engine) as session:
        shop = session.get(Shop, shop_id)
        if shop is None or shop.uninstalled_at is not None:
            return []
        return upsert_product(session=session, shop=shop, snapshot=snapshot).queued_job_ids


async def scan_shop(services: ShopifyServices, shop: Shop) -> ShopScanReport:
    report = ShopScanReport(shop=shop.domain)
    state = await asyncio.to_thread(_load_state, services, shop)
    watermark = state.watermark or start_of_day(shop.iana_timezone)
    query = search_query(watermark)
    cursor = state.cursor if state.cursor_query == query else None
    newest = watermark
    admin = services.admin(shop.domain)
    try:
        while True:
            data = await admin.execute(SCAN_PRODUCTS, {"after": cursor, "query": query, "first": PAGE_SIZE})
            connection = data["products"]
            report.pages += 1
            for node in connection["nodes"]:
                created = parse_time(node.get("createdAt"))
                if created and created > newest:
                    newest = created
                if ((node.get("mediaCount") or {}).get("count") or 0) > 0:
                    product, media = await _media_nodes(admin, node["id"])
                    if product is None:
                        continue
                else:
                    product, media = node, []
                queued = await asyncio.to_thread(_store_product, services, shop.id, product, media)  # type: ignore[arg-type]
                report.products += 1
                report.queued += len(queued)
                report.queued_job_ids += queued
            page = connection["pageInfo"]
            if not page["hasNextPage"]:
                break
            cursor = page["endCursor"]
            await asyncio.to_thread(
                _save_state,
                services,
                shop.id,
                cursor=cursor,
                cursor_query=query,
                products_seen=report.products,  # type: ignore[arg-type]
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
        watermark=newest,
        cursor=None,
        cursor_query=None,
        last_finished_at=utcnow(),
        last_error=None,
        products_seen=report.products,
    )
    logger.info(
        "scanned %s: %d products in %d pages, %d generations queued",
        shop.domain,
        report.products,
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
