"""Publishing: putting approved models on the product as MODEL_3D media (stagedUploadsCreate → multipart upload
→ productUpdate(media:) → poll until READY), and taking withdrawn, rejected or replaced ones off it.

Decisions are recorded at once by the web app (shop_app.shopify.review); the Shopify calls are made by the
scheduler's publish job,
one step per run, so nothing waits on Shopify inside a request and a failed step is retried on the next run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from shop_app.db import session_scope, write_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import Generation, Job
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.shopify import model_cache
from shop_app.shopify.errors import ShopifyError, ShopNotInstalled
from shop_app.shopify.operations import ATTACH_MODEL, DETACH_MEDIA, MEDIA_STATUS, STAGE_UPLOAD
from shop_app.shopify.services import ShopifyServices
from shop_app.storage import Storage

logger = logging.getLogger(__name__)

MAX_PUBLISH_ATTEMPTS = 5
PENDING, PROCESSING, PUBLISHED, FAILED, UNPUBLISH_PENDING = (
    "pending",
    "processing",
    "published",
    "failed",
    "unpublish_pending",
)


# ---------------------------------------------------------------- publishing (scheduler)


@dataclass
class PublishReport:
    processing: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    unpublished: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)


@dataclass
class _Work:
    approval_id: int
    publish_status: str
    shop: str
    product_gid: str
    product_title: str
    media_gid: str | None
    glb_key: str | None


def _pending_work(services: ShopifyServices, limit: int) -> list[_Work]:
    with session_scope(services.engine) as session:
        rows = session.exec(
            select(Approval, Shop, ProductImage, Product)
            .join(Shop, Shop.id == Approval.shop_id)  # type: ignore[arg-type]
            .join(ProductImage, ProductImage.id == Approval.product_image_id)  # type: ignore[arg-type]
            .join(Product, Product.id == ProductImage.product_id)  # type: ignore[arg-type]
            .where(
                Approval.publish_status.in_((PENDING, PROCESSING, UNPUBLISH_PENDING)),  # type: ignore[union-attr]
                Shop.uninstalled_at.is_(None),  # type: ignore[union-attr]
                Shop.needs_reauth.is_(False),  # type: ignore[attr-defined]
            )
            .order_by(Approval.updated_at)  # type: ignore[arg-type]
            .limit(limit)
        ).all()
        work = []
        for approval, shop, _image, product in rows:
            glb_key = None
            if approval.job_id:
                job = session.get(Job, approval.job_id)
                generation = session.get(Generation, job.generation_id) if job and job.generation_id else None
                glb_key = generation.glb_key if generation else None
            work.append(
                _Work(
                    approval_id=approval.id,  # type: ignore[arg-type]
                    publish_status=approval.publish_status or "",
                    shop=shop.domain,
                    product_gid=product.gid,
                    product_title=product.title,
                    media_gid=approval.media_gid,
                    glb_key=glb_key,
                )
            )
        return work


def _update(services: ShopifyServices, approval_id: int, **values: Any) -> None:
    with write_scope(services.engine) as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            return
        for key, value in values.items():
            setattr(approval, key, value)
        approval.updated_at = utcnow()
        session.add(approval)
        _forget_cached(session, approval)


def _user_errors(payload: dict[str, Any]) -> str | None:
    errors = payload.get("userErrors") or []
    return "; ".join(str(e.get("message")) for e in errors) or None


async def _publish(services: ShopifyServices, storage: Storage, work: _Work) -> str:
    if not work.glb_key:
        raise _Permanent("the approved generation has no GLB")
    glb = await asyncio.to_thread(storage.get, work.glb_key)
    admin = services.admin(work.shop)
    staged = await admin.execute(
        STAGE_UPLOAD,
        {
            "input": [
                {
                    "filename": "model.glb",
                    "mimeType": "model/gltf-binary",
                    "resource": "MODEL_3D",
                    "fileSize": str(len(glb)),
                    "httpMethod": "POST",
                }
            ]
        },
    )
    result = staged["stagedUploadsCreate"]
    if _user_errors(result):
        raise _Permanent(f"stagedUploadsCreate: {_user_errors(result)}")
    target = result["stagedTargets"][0]
    form = {p["name"]: p["value"] for p in target["parameters"]}
    try:
        # The file must be the last form field; httpx writes data fields before files.
        upload = await services.http.post(
            target["url"], data=form, files={"file": ("model.glb", glb, "model/gltf-binary")}, timeout=60.0
        )
    except Exception as err:  # network trouble: retried on the next run
        raise ShopifyError(f"staged upload failed: {err!r}", shop=work.shop) from None
    if upload.status_code >= 500:  # the upload host is briefly unavailable: retried on the next run
        raise ShopifyError(f"staged upload failed ({upload.status_code})", shop=work.shop)
    if upload.status_code not in (200, 201, 204):
        raise _Permanent(f"staged upload refused ({upload.status_code}): {upload.text[:200]}")
    attached = await admin.execute(
        ATTACH_MODEL,
        {
            "product": {"id": work.product_gid},
            "media": [
                {
                    "originalSource": target["resourceUrl"],
                    "mediaContentType": "MODEL_3D",
                    "alt": f"3D model of {work.product_title}"[:512],
                }
            ],
        },
    )
    update = attached["productUpdate"]
    if _user_errors(update):
        raise _Permanent(f"productUpdate: {_user_errors(update)}")
    nodes = ((update.get("product") or {}).get("media") or {}).get("nodes") or []
    if not nodes or nodes[-1].get("mediaContentType") != "MODEL_3D":
        raise _Permanent("productUpdate did not return the new 3D media")
    return str(nodes[-1]["id"])


async def _poll(services: ShopifyServices, work: _Work) -> tuple[str, str | None, str | None]:
    """(status, model url, error) of the media Shopify is processing."""
    data = await services.admin(work.shop).execute(MEDIA_STATUS, {"ids": [work.media_gid]})
    node = (data.get("nodes") or [None])[0]
    if not node:
        return FAILED, None, "the 3D media no longer exists on Shopify"
    if node.get("status") == "READY":
        url = next((s.get("url") for s in node.get("sources") or [] if s.get("format") == "glb"), None)
        return PUBLISHED, url, None
    if node.get("status") == "FAILED":
        errors = "; ".join(
            f"{e.get('code')}: {e.get('details') or e.get('message')}" for e in node.get("mediaErrors") or []
        )
        return FAILED, None, errors or "Shopify could not process the model"
    return PROCESSING, None, None


async def _unpublish(services: ShopifyServices, work: _Work) -> None:
    data = await services.admin(work.shop).execute(
        DETACH_MEDIA, {"files": [{"id": work.media_gid, "referencesToRemove": [work.product_gid]}]}
    )
    problem = _user_errors(data["fileUpdate"])
    if problem and "not found" not in problem.lower():
        raise _Permanent(f"fileUpdate: {problem}")


class _Permanent(Exception):
    """A publishing step that will not succeed by retrying."""


async def publish_step(services: ShopifyServices, storage: Storage, *, limit: int = 20) -> PublishReport:
    """Advance every approval that waits on Shopify by one step."""
    report = PublishReport()
    for work in await asyncio.to_thread(_pending_work, services, limit):
        try:
            if work.publish_status == PENDING:
                media_gid = await _publish(services, storage, work)
                await asyncio.to_thread(
                    _update,
                    services,
                    work.approval_id,
                    publish_status=PROCESSING,
                    media_gid=media_gid,
                    publish_error=None,
                )
                report.processing.append(work.approval_id)
            elif work.publish_status == PROCESSING:
                status, url, error = await _poll(services, work)
                if status != PROCESSING:
                    await asyncio.to_thread(
                        _update,
                        services,
                        work.approval_id,
                        publish_status=status,
                        model_url=url,
                        publish_error=error,
                    )
                    (report.published if status == PUBLISHED else report.failed).append(work.approval_id)
            elif work.publish_status == UNPUBLISH_PENDING:
                await _unpublish(services, work)
                await asyncio.to_thread(_finish_unpublish, services, work.approval_id)
                report.unpublished.append(work.approval_id)
        except _Permanent as err:
            logger.warning("publishing approval %s of %s failed: %s", work.approval_id, work.shop, err)
            await asyncio.to_thread(
                _update, services, work.approval_id, publish_status=FAILED, publish_error=str(err)[:1024]
            )
            report.failed.append(work.approval_id)
        except (ShopifyError, ShopNotInstalled) as err:
            await asyncio.to_thread(_record_retry, services, work.approval_id, err.message)
            report.retrying.append(work.approval_id)
    return report


def _finish_unpublish(services: ShopifyServices, approval_id: int) -> None:
    with write_scope(services.engine) as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            return
        _forget_cached(session, approval)
        if approval.status == "withdrawn":
            session.delete(approval)
            return
        # approved again (another model of the photo): the replaced one is off the product, publish the new one
        approval.publish_status = PENDING if approval.status == "approved" else None
        approval.publish_attempts = 0
        approval.media_gid = None
        approval.model_url = None
        approval.updated_at = utcnow()
        session.add(approval)


def _forget_cached(session: Session, approval: Approval) -> None:
    shop = session.get(Shop, approval.shop_id)
    if shop is not None:
        model_cache.invalidate_image(session=session, shop=shop, image_id=approval.product_image_id)


def _record_retry(services: ShopifyServices, approval_id: int, message: str) -> None:
    with write_scope(services.engine) as session:
        approval = session.get(Approval, approval_id)
        if approval is None:
            return
        approval.publish_attempts += 1
        approval.publish_error = message[:1024]
        if approval.publish_attempts >= MAX_PUBLISH_ATTEMPTS and approval.publish_status == PENDING:
            approval.publish_status = FAILED
        approval.updated_at = utcnow()
        session.add(approval)
