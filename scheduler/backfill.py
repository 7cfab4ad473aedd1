"""The backfill job: walk a shop's active products (or one collection's) and queue models for their photos.

Page by page (cursor saved after each), each product read with ProductDetail and stored through the same
upsert as webhooks and the scan, so already-generated photos queue nothing. Throttling is absorbed by the
Admin client's backoff; an uninstall stops the backfill cleanly (`failed`, "the app was uninstalled"); other
Shopify errors are recorded and the next run resumes from the cursor.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import select

from scheduler.scan import read_product, store_product
from shop_app.db import session_scope, write_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.product_models import Backfill
from shop_app.shopify.backfill import FAILED, FINISHED, RUNNING
from shop_app.shopify.errors import ShopifyError, ShopNotInstalled
from shop_app.shopify.operations import (
    BACKFILL_PRODUCTS,
    BULK_OPERATION_STATUS,
    BULK_PRODUCTS_DOCUMENT,
    COLLECTION_PRODUCTS,
    PRODUCTS_COUNT,
    RUN_BULK_QUERY,
)
from shop_app.shopify.services import ShopifyServices

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# more active products than this: one bulk operation (JSONL) instead of pages (each page + ProductDetail calls)
BULK_THRESHOLD = 250
UNINSTALLED = "the app was uninstalled from the shop; the backfill stopped"


def _running(services: ShopifyServices) -> list[tuple[str, int, str]]:
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Backfill, Shop)
            .join(Shop, Shop.id == Backfill.shop_id)  # type: ignore[arg-type]
            .where(Backfill.status == RUNNING)
            .order_by(Backfill.started_at)  # type: ignore[arg-type]
        ).all()
        return [(b.id, s.id, s.domain) for b, s in rows]  # type: ignore[misc]


def _load(services: ShopifyServices, backfill_id: str) -> tuple[Backfill, Shop] | None:
    with session_scope(services.engine) as session:
        backfill = session.get(Backfill, backfill_id)
        shop = session.get(Shop, backfill.shop_id) if backfill else None
        if backfill is None or shop is None or backfill.status != RUNNING:
            return None
        return backfill, shop


def _save(services: ShopifyServices, backfill_id: str, **values: Any) -> None:
    with write_scope(services.engine) as session:
        backfill = session.get(Backfill, backfill_id)
        if backfill is None:
            return
        for key, value in values.items():
            setattr(backfill, key, value)
        session.add(backfill)


def _page(data: dict[str, Any], collection: bool) -> dict[str, Any] | None:
    if collection:
        found = data.get("collection")
        return found["products"] if found else None
    return data["products"]


async def run_backfill(
    services: ShopifyServices, backfill_id: str, *, after_page: Callable[[int], Awaitable[None]] | None = None
) -> str:
    """Advance one backfill to its end (or until Shopify fails); returns its status. `after_page(seen)` runs
    after each saved page (tests uninstall the app there)."""
    loaded = await asyncio.to_thread(_load, services, backfill_id)
    if loaded is None:
        return "gone"
    backfill, shop = loaded
    if shop.uninstalled_at is not None:
        await asyncio.to_thread(
            _save, services, backfill_id, status=FAILED, error=UNINSTALLED, finished_at=utcnow()
        )
        return FAILED
    admin = services.admin(shop.domain)
    cursor, seen, queued = backfill.cursor, backfill.products_seen, backfill.images_queued
    try:
        if backfill.mode == "bulk" or (
            not backfill.collection_id and cursor is None and seen == 0 and await _large(admin)
        ):
            return await _run_bulk(services, admin, backfill, shop)
        while True:
            if backfill.collection_id:
                variables = {"id": backfill.collection_id, "after": cursor, "first": PAGE_SIZE}
                data = await admin.execute(COLLECTION_PRODUCTS, variables)
            else:
                variables = {"after": cursor, "first": PAGE_SIZE, "query": "status:active"}
                data = await admin.execute(BACKFILL_PRODUCTS, variables)
            page = _page(data, bool(backfill.collection_id))
            if page is None:
                await asyncio.to_thread(
                    _save, services, backfill_id, status=FAILED, finished_at=utcnow(),
                    error="the collection no longer exists in the shop",
                )  # fmt: skip
                return FAILED
            for node in page["nodes"]:
                if node.get("status") != "ACTIVE":
                    continue  # a collection also holds drafts and archived products
                product, media = await read_product(admin, node["id"])
                if product is None:
                    continue
                seen += 1
                queued += len(await asyncio.to_thread(store_product, services, shop.id, product, media))  # type: ignore[arg-type]
            cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
            await asyncio.to_thread(
                _save,
                services,
                backfill_id,
                cursor=cursor,
                products_seen=seen,
                images_queued=queued,
                error=None,
            )
            if cursor is None:
                break
            if after_page is not None:
                await after_page(seen)
            if await asyncio.to_thread(_uninstalled, services, shop.id):  # type: ignore[arg-type]
                raise ShopNotInstalled(UNINSTALLED)
    except ShopNotInstalled:
        await asyncio.to_thread(
            _save, services, backfill_id, status=FAILED, error=UNINSTALLED, finished_at=utcnow()
        )
        logger.info("backfill %s of %s stopped: uninstalled", backfill_id, shop.domain)
        return FAILED
    except ShopifyError as err:
        await asyncio.to_thread(_save, services, backfill_id, error=err.message[:1024])
        logger.warning(
            "backfill %s of %s paused: %s (resumes from its cursor)", backfill_id, shop.domain, err.message
        )
        return RUNNING
    await asyncio.to_thread(_save, services, backfill_id, status=FINISHED, finished_at=utcnow())
    logger.info(
        "backfill %s of %s: %d products, %d generations queued", backfill_id, shop.domain, seen, queued
    )
    return FINISHED


async def _large(admin: Any) -> bool:
    data = await admin.execute(PRODUCTS_COUNT, {"query": "status:active"})
    return int((data.get("productsCount") or {}).get("count") or 0) > BULK_THRESHOLD


async def _run_bulk(services: ShopifyServices, admin: Any, backfill: Backfill, shop: Shop) -> str:
    """Start the bulk query (first run), then on each run check it; once COMPLETED read its JSONL."""
    if backfill.bulk_operation_id is None:
        data = (await admin.execute(RUN_BULK_QUERY, {"query": BULK_PRODUCTS_DOCUMENT}))[
            "bulkOperationRunQuery"
        ]
        problems = "; ".join(str(e.get("message")) for e in data.get("userErrors") or [])
        if problems or not data.get("bulkOperation"):
            # e.g. another bulk query of this app is running: try again on the next run
            await asyncio.to_thread(
                _save, services, backfill.id, mode="bulk", error=problems[:1024] or "no operation"
            )
            return RUNNING
        operation_id = data["bulkOperation"]["id"]
        await asyncio.to_thread(
            _save, services, backfill.id, mode="bulk", bulk_operation_id=operation_id, error=None
        )
        logger.info("backfill %s of %s: bulk operation %s started", backfill.id, shop.domain, operation_id)
        return RUNNING
    node = (await admin.execute(BULK_OPERATION_STATUS, {"id": backfill.bulk_operation_id})).get("node") or {}
    status = node.get("status")
    if status in ("CREATED", "RUNNING", "CANCELING"):
        return RUNNING
    if status != "COMPLETED":
        error = f"the bulk operation ended {status or 'missing'} ({node.get('errorCode') or 'no error code'})"
        await asyncio.to_thread(
            _save, services, backfill.id, status=FAILED, error=error, finished_at=utcnow()
        )
        return FAILED
    seen = queued = 0
    if node.get("url"):  # no url: the query matched nothing
        response = await services.http.get(node["url"], timeout=120.0)
        if response.status_code != 200:
            raise ShopifyError(f"bulk result download failed ({response.status_code})")
        for product, media in products_from_jsonl(response.text):
            seen += 1
            queued += len(await asyncio.to_thread(store_product, services, shop.id, product, media))  # type: ignore[arg-type]
            if seen % 100 == 0:
                await asyncio.to_thread(
                    _save, services, backfill.id, products_seen=seen, images_queued=queued
                )
                if await asyncio.to_thread(_uninstalled, services, shop.id):  # type: ignore[arg-type]
                    raise ShopNotInstalled(UNINSTALLED)
    await asyncio.to_thread(
        _save,
        services,
        backfill.id,
        status=FINISHED,
        finished_at=utcnow(),
        products_seen=seen,
        images_queued=queued,
    )
    logger.info(
        "backfill %s of %s (bulk): %d products, %d generations queued", backfill.id, shop.domain, seen, queued
    )
    return FINISHED


def products_from_jsonl(text: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Rebuild ProductDetail-shaped products from the bulk JSONL: lines with `__parentId` are the media and
    variants of the product (or variant) they name."""
    products: dict[str, dict[str, Any]] = {}
    media: dict[str, list[dict[str, Any]]] = {}
    variants: dict[str, dict[str, Any]] = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        parent = line.pop("__parentId", None)
        gid = str(line.get("id") or "")
        if parent is None:
            products[gid] = {**line, "variants": {"nodes": []}}
            media[gid] = []
        elif gid.startswith("gid://shopify/ProductVariant/") and parent in products:
            variant = {**line, "media": {"nodes": []}}
            variants[gid] = variant
            products[parent]["variants"]["nodes"].append(variant)
        elif parent in variants:
            variants[parent]["media"]["nodes"].append(line)
        elif parent in media:
            media[parent].append(line)
    return [(product, media[gid]) for gid, product in products.items()]


def _uninstalled(services: ShopifyServices, shop_id: int) -> bool:
    with session_scope(services.engine) as session:
        shop = session.get(Shop, shop_id)
        return shop is None or shop.uninstalled_at is not None


async def run_backfills(services: ShopifyServices) -> dict[str, str]:
    results = {}
    for backfill_id, _shop_id, _domain in await asyncio.to_thread(_running, services):
        results[backfill_id] = await run_backfill(services, backfill_id)
    return results
