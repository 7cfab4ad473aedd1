"""The merchant's review of a photo's 3D models: history, approve, reject, withdraw, regenerate.

One set of rules for both the embedded UI (/app/api/images/...) and API clients (/api/nu3d/images/...):
- a multi-view group has one model and one decision, kept on the group's lead photo;
- **regenerate** queues a NEW model: a fresh random `seed` makes a new variation (a different input hash, so
  the stored result is not reused); the previous model stays available, and approved/published, until the
  merchant approves the new one;
- **approve** takes a generation of the photo (`job_id`, default the latest that succeeded). Approving another
  model than the one on Shopify replaces it: the scheduler detaches the old media, then publishes the new one.
  Approving again after a failed publish retries it;
- **reject** takes a published model off the product; **withdraw** forgets the decision (detaching first).
Every function takes the shop and the caller's transaction; the product's cached API answer is dropped.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, select

from shop_app.errors import Conflict, NotFound
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.shopify import generation_queue, model_cache, photo_groups
from shop_app.shopify.publish import PENDING, UNPUBLISH_PENDING

MAX_SEED = 2**31 - 1


def get_approval(*, session: Session, shop: Shop, image: ProductImage) -> Approval | None:
    return session.exec(
        select(Approval).where(Approval.shop_id == shop.id, Approval.product_image_id == image.id)
    ).first()


def lead_of(*, session: Session, shop: Shop, image: ProductImage) -> tuple[ProductImage, list[ProductImage]]:
    group = photo_groups.group_of(session=session, shop=shop, image=image)
    return group[0], group


def history(*, session: Session, shop: Shop, image: ProductImage) -> list[Job]:
    """Every generation of the photo (or its group), newest first."""
    lead, group = lead_of(session=session, shop=shop, image=image)
    sources = {member.gid for member in group}
    jobs = list(
        session.exec(
            select(Job)
            .where(Job.shop_id == shop.id, Job.image_gid.in_(sources))  # type: ignore[union-attr]
            .order_by(Job.created_at.desc(), Job.id.desc())  # type: ignore[attr-defined]
        ).all()
    )
    if lead.job_id and all(job.id != lead.job_id for job in jobs):
        current = session.exec(select(Job).where(Job.id == lead.job_id, Job.shop_id == shop.id)).first()
        if current is not None:
            jobs.insert(0, current)
    return jobs


def generations_json(*, session: Session, shop: Shop, image: ProductImage, sign: Any) -> list[dict[str, Any]]:
    lead, _ = lead_of(session=session, shop=shop, image=image)
    approval = get_approval(session=session, shop=shop, image=lead)
    approved_job = approval.job_id if approval is not None and approval.status == "approved" else None
    out = []
    for job in history(session=session, shop=shop, image=image):
        generation = session.get(Generation, job.generation_id) if job.generation_id else None
        done = job.status == SUCCEEDED and generation is not None
        out.append(
            {
                "job_id": job.id,
                "status": job.status,
                "created_at": job.created_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                "preview_url": sign(generation.preview_key) if done and generation.preview_key else None,  # type: ignore[union-attr]
                "model_glb_url": sign(generation.glb_key) if done else None,  # type: ignore[union-attr]
                "gaussian_splat_url": sign(generation.splat_key) if done and generation.splat_key else None,  # type: ignore[union-attr]
                "faces": (generation.stats or {}).get("faces") if generation else None,
                "seed": (job.params or {}).get("seed", 0),
                "approved": job.id == approved_job,
                "current": job.id == lead.job_id,
            }
        )
    return out


def _chosen_job(session: Session, shop: Shop, image: ProductImage, job_id: str | None) -> Job:
    jobs = history(session=session, shop=shop, image=image)
    if job_id is not None:
        job = next((j for j in jobs if j.id == job_id), None)
        if job is None:
            raise NotFound(f"generation {job_id} is not one of this photo's models")
        if job.status != SUCCEEDED or job.generation_id is None:
            raise Conflict(f"generation {job_id} has no finished 3D model ({job.status})", code="NOT_READY")
        return job
    for job in jobs:  # newest first
        if job.status == SUCCEEDED and job.generation_id is not None:
            return job
    raise Conflict("this photo has no finished 3D model to approve yet", code="NOT_READY")


def approve(
    *, session: Session, shop: Shop, image: ProductImage, user_id: str | None, job_id: str | None = None
) -> Approval:
    lead, _ = lead_of(session=session, shop=shop, image=image)
    job = _chosen_job(session, shop, lead, job_id)
    approval = get_approval(session=session, shop=shop, image=lead)
    if (
        approval is not None
        and approval.status == "approved"
        and approval.job_id == job.id
        and approval.publish_status != "failed"
    ):
        return approval  # approving the same model twice changes nothing
    now = utcnow()
    approval = approval or Approval(shop_id=shop.id, product_image_id=lead.id, status="approved")  # type: ignore[arg-type]
    approval.status = "approved"
    approval.job_id = job.id
    approval.decided_by = user_id
    approval.decided_at = now
    # a model of this photo already on Shopify is detached first, then this one is published
    approval.publish_status = UNPUBLISH_PENDING if approval.media_gid else PENDING
    approval.publish_error = None
    approval.publish_attempts = 0
    approval.updated_at = now
    session.add(approval)
    model_cache.invalidate(session=session, shop=shop, product_id=lead.product_id)
    session.flush()
    return approval


def reject(*, session: Session, shop: Shop, image: ProductImage, user_id: str | None) -> Approval:
    lead, _ = lead_of(session=session, shop=shop, image=image)
    approval = get_approval(session=session, shop=shop, image=lead)
    now = utcnow()
    if approval is None:
        approval = Approval(shop_id=shop.id, product_image_id=lead.id, status="rejected")  # type: ignore[arg-type]
    approval.status = "rejected"
    approval.job_id = lead.job_id
    approval.decided_by = user_id
    approval.decided_at = now
    approval.publish_status = UNPUBLISH_PENDING if approval.media_gid else None
    approval.updated_at = now
    session.add(approval)
    model_cache.invalidate(session=session, shop=shop, product_id=lead.product_id)
    session.flush()
    return approval


def withdraw(*, session: Session, shop: Shop, image: ProductImage) -> str:
    """Forget the decision; a model already on Shopify is detached from the product first."""
    lead, _ = lead_of(session=session, shop=shop, image=image)
    approval = get_approval(session=session, shop=shop, image=lead)
    if approval is None:
        raise NotFound("this photo has no approval to withdraw")
    model_cache.invalidate(session=session, shop=shop, product_id=lead.product_id)
    if approval.media_gid:
        approval.status = "withdrawn"
        approval.publish_status = UNPUBLISH_PENDING
        approval.updated_at = utcnow()
        session.add(approval)
        return "unpublishing"
    session.delete(approval)
    return "withdrawn"


def regenerate(*, session: Session, shop: Shop, image: ProductImage, user_id: str | None) -> Job:
    """Queue a new variation of the photo's (group's) model; the previous one stays until approved over."""
    if image.removed_at is not None:
        raise Conflict("this photo was removed from the product in Shopify")
    product = session.get(Product, image.product_id)
    assert product is not None  # noqa: S101 - the foreign key guarantees it
    if product.deleted_at is not None:
        raise Conflict("this product was deleted in Shopify")
    _, group = lead_of(session=session, shop=shop, image=image)
    return generation_queue.queue_group(
        session=session,
        shop=shop,
        product=product,
        group=group,
        priority=1,  # the merchant is waiting for this one
        user_id=user_id,
        merchant=True,
        params={"seed": secrets.randbelow(MAX_SEED) + 1},
    )


def decide(
    *,
    session: Session,
    shop: Shop,
    image: ProductImage,
    action: str,
    user_id: str | None,
    job_id: str | None = None,
) -> str:
    """approve | reject | withdraw; returns the result word the endpoints answer."""
    if action == "approve":
        approve(session=session, shop=shop, image=image, user_id=user_id, job_id=job_id)
        return "approve"
    if action == "reject":
        reject(session=session, shop=shop, image=image, user_id=user_id)
        return "reject"
    return withdraw(session=session, shop=shop, image=image)
