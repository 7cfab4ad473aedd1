"""GET /api/nu3d's answer, built from stored state: today's ACTIVE products of a shop with every image's model.

Nothing here calls Shopify or waits on a generation: products come from our mirror (webhooks and scans keep
it current), image results from the job table. A product whose images have all finished (at least one model)
is written to the product-level cache and served from it afterwards (`cached: true`); see model_cache.

Cached answers hold storage keys, never signed URLs (those expire); URLs are signed each time one is served.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from shop_app.models.core import Shop
from shop_app.models.jobs import ACTIVE, SUCCEEDED, TERMINAL, Generation, Job
from shop_app.models.product_models import ProductModelCache
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.shopify import model_cache
from shop_app.shopify.photo_groups import plan_groups
from shop_app.shopify.services import start_of_day

SignUrl = Callable[[str], str]
PAGE_SIZE = 5  # the seed's page size
METADATA_KEYS = ("scale", "rotation", "camera_pose", "translation", "object_index")
MESSAGES = {
    "completed": "3D generation completed successfully",
    "processing": "3D generation in progress",
}


class InvalidCursor(ValueError):
    """`after` is not a cursor this API handed out."""


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"last_id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["last_id"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidCursor("after is not a cursor from a previous response") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidCursor("after is not a cursor from a previous response")
    return value


def iso_ms(value: datetime | None) -> str | None:
    """`2025-12-08T13:51:47.000Z`, the seed's timestamp form."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_s(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@dataclass
class FeedPage:
    products: list[dict[str, Any]]  # seed-shaped, URLs signed
    total: int
    has_next_page: bool
    end_cursor: str | None
    created_today: datetime
    in_flight: int  # images still generating on this page (the long-poll waits for 0)
    from_cache: bool = False  # every product on it came from its cached answer (nothing built now)

    def as_json(self) -> dict[str, Any]:
        return {
            "products": self.products,
            "total": self.total,
            "pageInfo": {"hasNextPage": self.has_next_page, "endCursor": self.end_cursor},
            "filters": {"createdToday": iso_ms(self.created_today), "status": "ACTIVE", "limit": PAGE_SIZE},
        }


def _today_filter(shop: Shop, start: datetime) -> Any:
    return (
        (Product.shop_id == shop.id)
        & (Product.status == "ACTIVE")
        & Product.deleted_at.is_(None)  # type: ignore[union-attr]
        & (Product.shopify_created_at >= start)  # type: ignore[operator]
    )


def feed_page(
    *, session: Session, shop: Shop, after: int, sign: SignUrl, now: datetime | None = None
) -> tuple[FeedPage, dict[int, dict[str, Any]]]:
    """One page of today's products. Returns the page and the finished products not yet cached (the caller
    stores them with `store_finished` in a write transaction).

    A page served from the cache costs one statement (ids, cached answers and the total together); only
    products without a cached answer are loaded and built."""
    start = start_of_day(shop.iana_timezone, now=now)
    where = _today_filter(shop, start)
    total_of_day = select(func.count()).select_from(Product).where(where).scalar_subquery()
    cache_join = (col(ProductModelCache.product_id) == col(Product.id)) & (
        col(ProductModelCache.shop_id) == shop.id
    )
    page_rows = session.execute(
        select(col(Product.id), col(ProductModelCache.payload), total_of_day.label("total"))
        .select_from(Product)
        .outerjoin(ProductModelCache, cache_join)
        .where(where, col(Product.id) > after)
        .order_by(col(Product.id))
        .limit(PAGE_SIZE + 1)
    ).all()
    if page_rows:
        total = int(page_rows[0][2])
    else:
        total = int(session.exec(select(func.count()).select_from(Product).where(where)).one())
    has_next = len(page_rows) > PAGE_SIZE
    page_rows = page_rows[:PAGE_SIZE]
    cached = {int(pid): payload for pid, payload, _ in page_rows if payload is not None}
    live_ids = [int(pid) for pid, payload, _ in page_rows if payload is None]
    live = list(session.exec(select(Product).where(col(Product.id).in_(live_ids))).all()) if live_ids else []
    built = build_products(session=session, shop=shop, products=live)
    finished: dict[int, dict[str, Any]] = {}
    products, in_flight = [], 0
    for pid, _, _ in page_rows:
        product_id = int(pid)
        if product_id in cached:
            products.append(render(cached[product_id], sign, cached=True))
            continue
        payload, state = built[product_id]
        in_flight += state.in_flight
        if state.finished:
            finished[product_id] = payload
        products.append(render(payload, sign, cached=False))
    page = FeedPage(
        products=products,
        total=total,
        has_next_page=has_next,
        end_cursor=encode_cursor(int(page_rows[-1][0])) if page_rows else None,
        created_today=start,
        in_flight=in_flight,
        from_cache=not live_ids,
    )
    return page, finished


def store_finished(*, session: Session, shop: Shop, finished: dict[int, dict[str, Any]]) -> None:
    for product_id, payload in finished.items():
        product = session.get(Product, product_id)
        if product is None or product.shop_id != shop.id or product.deleted_at is not None:
            continue
        model_cache.store(session=session, shop=shop, product_id=product_id, payload=payload)


@dataclass
class _State:
    in_flight: int = 0
    succeeded: int = 0
    unfinished: int = 0

    @property
    def finished(self) -> bool:
        return self.unfinished == 0 and self.succeeded > 0


def build_products(
    *, session: Session, shop: Shop, products: list[Product]
) -> dict[int, tuple[dict[str, Any], _State]]:
    """Seed-shaped products (storage keys instead of URLs) with their completion state, in a few queries."""
    if not products:
        return {}
    ids = [p.id for p in products]
    images = session.exec(
        select(ProductImage)
        .where(
            ProductImage.shop_id == shop.id,
            ProductImage.product_id.in_(ids),  # type: ignore[attr-defined]
            ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(ProductImage.position)  # type: ignore[arg-type]
    ).all()
    by_product: dict[int, list[ProductImage]] = {}
    for image in images:
        by_product.setdefault(image.product_id, []).append(image)
    jobs = _by_id(session, Job, {i.job_id for i in images if i.job_id}, shop)
    lead_of: dict[int, ProductImage] = {}
    for group_images in by_product.values():
        for group in plan_groups(group_images):
            for member in group:
                lead_of[member.id] = group[0]  # type: ignore[index]
    approvals = {
        a.product_image_id: a
        for a in session.exec(
            select(Approval).where(
                Approval.shop_id == shop.id,
                Approval.product_image_id.in_([lead.id for lead in lead_of.values()]),  # type: ignore[attr-defined]
            )
        ).all()
    }
    # the model shown while a newer generation is in flight (or failed): the latest that succeeded
    previous = _previous_models(session, shop, images, jobs)
    approved_jobs = _by_id(session, Job, {a.job_id for a in approvals.values() if a.job_id}, shop)
    generation_ids = {j.generation_id for j in [*jobs.values(), *previous.values(), *approved_jobs.values()]}
    generations = _by_id(session, Generation, {g for g in generation_ids if g}, None)

    out: dict[int, tuple[dict[str, Any], _State]] = {}
    for product in products:
        state = _State()
        records: dict[str, dict[str, Any]] = {}
        current = by_product.get(product.id, [])  # type: ignore[arg-type]
        for image in current:
            job = jobs.get(image.job_id or "")
            lead = lead_of.get(image.id, image)  # type: ignore[arg-type]
            record = _image_record(
                image,
                job,
                previous.get(image.id),  # type: ignore[arg-type]
                approvals.get(lead.id),  # type: ignore[arg-type]
                approved_jobs,
                generations,
            )
            records[image.gid] = record
            if record["status"] == "processing":
                state.in_flight += 1
            if job is None or job.status not in TERMINAL:
                state.unfinished += 1
            elif job.status == SUCCEEDED:
                state.succeeded += 1
        out[product.id] = (_product_record(product, current, records), state)  # type: ignore[index]
    return out


def _by_id(session: Session, model: Any, ids: set[Any], shop: Shop | None) -> dict[Any, Any]:
    if not ids:
        return {}
    query = select(model).where(model.id.in_(ids))
    if shop is not None:
        query = query.where(model.shop_id == shop.id)
    return {row.id: row for row in session.exec(query).all()}


def _previous_models(session: Session, shop: Shop, images: Any, jobs: dict[str, Job]) -> dict[int, Job]:
    waiting = [i for i in images if not (i.job_id in jobs and jobs[i.job_id].status == SUCCEEDED)]
    if not waiting:
        return {}
    sources = {i.gid for i in waiting}
    rows = session.exec(
        select(Job)
        .where(
            Job.shop_id == shop.id,
            Job.image_gid.in_(sources),  # type: ignore[union-attr]
            Job.status == SUCCEEDED,
            Job.generation_id.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(Job.finished_at.desc())  # type: ignore[union-attr]
    ).all()
    latest: dict[str, Job] = {}
    for job in rows:
        latest.setdefault(job.image_gid or "", job)
    return {i.id: latest[i.gid] for i in waiting if i.gid in latest}


def _image_record(
    image: ProductImage,
    job: Job | None,
    previous: Job | None,
    approval: Approval | None,
    approved_jobs: dict[str, Job],
    generations: dict[int, Generation],
) -> dict[str, Any]:
    if job is None or job.status in ACTIVE:
        status = "processing"
    elif job.status == SUCCEEDED:
        status = "completed"
    else:
        status = "failed"
    shown = job if status == "completed" else previous
    generation = generations.get(shown.generation_id) if shown and shown.generation_id else None
    meta = generation.meta if generation else {}
    if status == "failed":
        message = (job.error_message if job else None) or "3D generation failed"
    elif status == "processing" and job is None:
        message = "waiting for the generation to be queued"
    else:
        message = MESSAGES[status]
    if status != "completed" and generation is not None:
        message += "; the previous model is shown until the new one is ready"
    approved_key = approved_url = None
    approval_status = "pending"
    if approval is not None and approval.status in ("approved", "rejected"):
        approval_status = approval.status
        if approval.status == "approved":
            approved_url = approval.model_url  # Shopify's URL once published
            approved_job = approved_jobs.get(approval.job_id or "")
            approved_gen = (
                generations.get(approved_job.generation_id)
                if approved_job and approved_job.generation_id
                else None
            )
            approved_key = approved_gen.glb_key if approved_gen and not approved_url else None
    return {
        "id": image.gid,
        "originalImageUrl": image.url,
        "altText": image.alt,
        "width": image.width,
        "height": image.height,
        "image_id": image.id,
        "status": status,
        "job_id": job.id if job else None,
        "glb_key": generation.glb_key if generation else None,
        "splat_key": generation.splat_key if generation else None,
        "original_key": generation.image_keys[0] if generation and generation.image_keys else None,
        "metadata": [{k: meta.get(k) for k in METADATA_KEYS}] if "scale" in meta else [],
        "message": message,
        "approvalStatus": approval_status,
        "approved_key": approved_key,
        "approvedModel3dUrl": approved_url,
        "processedAt": iso_ms(shown.finished_at) if shown else None,
    }


def _product_record(
    product: Product, images: list[ProductImage], records: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    details = product.details or {}
    by_media = {i.media_gid: i.gid for i in images if i.media_gid}
    variants = []
    for variant in details.get("variants") or []:
        own = [g for g in variant.get("image_gids") or [] if g in records]
        own += [by_media[m] for m in variant.get("media_gids") or [] if m in by_media]
        # a variant without its own photo shows the product's photos (what the storefront shows for it)
        gids = list(dict.fromkeys(own)) or [i.gid for i in images]
        variants.append(
            {
                "id": variant.get("gid"),
                "title": variant.get("title"),
                "sku": variant.get("sku"),
                "price": variant.get("price"),
                "availableForSale": bool(variant.get("available_for_sale")),
                "images": [records[g] for g in gids],
            }
        )
    return {
        "id": product.gid,
        "title": product.title,
        "handle": product.handle,
        "description": details.get("description") or "",
        "vendor": product.vendor,
        "productType": product.product_type,
        "status": product.status,
        "tags": details.get("tags") or [],
        "createdAt": iso_s(product.shopify_created_at),
        "updatedAt": iso_s(product.shopify_updated_at),
        "variants": {"nodes": variants},
    }


def render(payload: dict[str, Any], sign: SignUrl, *, cached: bool) -> dict[str, Any]:
    """The stored record as the seed's product: storage keys become signed URLs, seed aliases filled in."""
    signed: dict[str, str | None] = {}

    def url(key: str | None) -> str | None:
        if not key:
            return None
        if key not in signed:
            signed[key] = sign(key)
        return signed[key]

    variants = []
    for variant in payload["variants"]["nodes"]:
        images = []
        for rec in variant["images"]:
            glb = url(rec["glb_key"])
            images.append(
                {
                    "id": rec["id"],
                    "originalImageUrl": rec["originalImageUrl"],
                    "altText": rec["altText"],
                    "width": rec["width"],
                    "height": rec["height"],
                    "image_id": rec["image_id"],
                    "status": rec["status"],
                    "job_id": rec["job_id"],
                    "gaussian_splat_url": url(rec["splat_key"]),
                    "model_glb_url": glb,
                    "original_url": url(rec["original_key"]),
                    "metadata": rec["metadata"],
                    "message": rec["message"],
                    "model3dUrl": glb,
                    "model3dStatus": rec["status"],
                    "model3dImageId": rec["image_id"],
                    "cached": cached,
                    "approvalStatus": rec["approvalStatus"],
                    "approvedModel3dUrl": rec["approvedModel3dUrl"] or url(rec["approved_key"]),
                    "processedAt": rec["processedAt"],
                }
            )
        variants.append({**variant, "images": images})
    return {**payload, "variants": {"nodes": variants}}
