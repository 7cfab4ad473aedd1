"""Backfills: a merchant asks for models of all active products, or of one collection's, not only today's.

The web app records the request (`start`); the scheduler's backfill job walks the catalogue page by page
(scheduler/backfill.py), saving its cursor after each page, so a stopped run resumes. One backfill runs per
shop at a time: asking again while one runs answers the running one.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlmodel import Session, select

from shop_app.db import session_scope, write_scope
from shop_app.errors import NotFound, ValidationError
from shop_app.jobs.rows import new_id
from shop_app.models.core import Shop
from shop_app.models.product_models import Backfill
from shop_app.shopify.operations import COLLECTION_EXISTS

RUNNING, FINISHED, FAILED = "running", "finished", "failed"
COLLECTION_GID = re.compile(r"^gid://shopify/Collection/[1-9][0-9]{0,19}$")


def parse_collection_id(value: Any) -> str | None:
    """None (all active products) or a `gid://shopify/Collection/<number>`; anything else is a 400."""
    if value is None:
        return None
    if not isinstance(value, str) or not COLLECTION_GID.fullmatch(value):
        raise ValidationError(
            "collection_id must be null or a collection id such as gid://shopify/Collection/123",
            details={"field": "collection_id"},
        )
    return value


def latest(*, session: Session, shop: Shop) -> Backfill | None:
    return session.exec(
        select(Backfill)
        .where(Backfill.shop_id == shop.id)
        .order_by(Backfill.started_at.desc(), Backfill.id.desc())  # type: ignore[attr-defined]
    ).first()


def start(*, session: Session, shop: Shop, collection_id: str | None, requested_by: str | None) -> Backfill:
    """Record a backfill (the running one when the shop already has one)."""
    running = session.exec(
        select(Backfill).where(Backfill.shop_id == shop.id, Backfill.status == RUNNING)
    ).first()
    if running is not None:
        return running
    backfill = Backfill(
        id=new_id("bf"),
        shop_id=shop.id,  # type: ignore[arg-type]
        status=RUNNING,
        collection_id=collection_id,
        requested_by=requested_by,
    )
    session.add(backfill)
    session.flush()
    return backfill


def as_json(backfill: Backfill | None) -> dict[str, Any] | None:
    if backfill is None:
        return None
    return {
        "id": backfill.id,
        "status": backfill.status,
        "collection_id": backfill.collection_id,
        "products_seen": backfill.products_seen,
        "images_queued": backfill.images_queued,
        "started_at": backfill.started_at.isoformat(),
        "finished_at": backfill.finished_at.isoformat() if backfill.finished_at else None,
        "error": backfill.error,
    }


async def request_backfill(
    *, services: Any, shop: Shop, collection_id: str | None, requested_by: str | None
) -> Backfill:
    """Validate against Shopify (a collection the shop doesn't have is a 404) and record the backfill.
    `services` is the app's ShopifyServices (its engine and Admin clients)."""
    if collection_id is not None:
        data = await services.admin(shop.domain).execute(COLLECTION_EXISTS, {"id": collection_id})
        if not data.get("collection"):
            raise NotFound(f"the shop has no collection {collection_id}")

    def record() -> Backfill:
        with write_scope(services.engine) as session:
            row = session.get(Shop, shop.id)
            assert row is not None  # noqa: S101 - the caller loaded it
            return start(session=session, shop=row, collection_id=collection_id, requested_by=requested_by)

    return await asyncio.to_thread(record)


def latest_json(*, engine: Any, shop: Shop) -> dict[str, Any] | None:
    with session_scope(engine) as session:
        return as_json(latest(session=session, shop=shop))
