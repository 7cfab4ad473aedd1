"""Read side of the Shopify mirror for the embedded UI: a shop's products, images and generation status.

Every function takes the shop and filters by it: a product or image of another shop is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from shop_app.models.core import Shop
from shop_app.models.jobs import Job
from shop_app.models.shopify import Approval, Product, ProductImage


@dataclass
class ImageView:
    image: ProductImage
    job: Job | None
    approval: Approval | None = None

    @property
    def generation_status(self) -> str:
        return self.job.status if self.job is not None else "not_queued"

    def as_json(self) -> dict[str, Any]:
        job = self.job
        return {
            "id": self.image.id,
            "gid": self.image.gid,
            "media_gid": self.image.media_gid,
            "url": self.image.url,
            "alt": self.image.alt,
            "width": self.image.width,
            "height": self.image.height,
            "position": self.image.position,
            "removed": self.image.removed_at is not None,
            "generation": None
            if job is None
            else {
                "job_id": job.id,
                "status": job.status,
                "progress": job.progress,
                "stage": job.stage,
                "error": job.error_message,
                "content_version": self.image.job_version,
            },
            "approval": None
            if self.approval is None
            else {
                "status": self.approval.status,
                "decided_at": self.approval.decided_at.isoformat(),
                "job_id": self.approval.job_id,
                "publish_status": self.approval.publish_status,
                "media_gid": self.approval.media_gid,
                "model_url": self.approval.model_url,
                "error": self.approval.publish_error,
            },
        }


@dataclass
class ProductView:
    product: Product
    images: list[ImageView]

    def as_json(self) -> dict[str, Any]:
        p = self.product
        return {
            "id": p.id,
            "gid": p.gid,
            "title": p.title,
            "handle": p.handle,
            "status": p.status,
            "vendor": p.vendor,
            "product_type": p.product_type,
            "created_at": p.shopify_created_at.isoformat() if p.shopify_created_at else None,
            "updated_at": p.shopify_updated_at.isoformat() if p.shopify_updated_at else None,
            "deleted": p.deleted_at is not None,
            "images": [i.as_json() for i in self.images],
        }


def _images(session: Session, shop: Shop, product_ids: list[int]) -> dict[int, list[ImageView]]:
    if not product_ids:
        return {}
    rows = session.exec(
        select(ProductImage, Job, Approval)
        .join(Job, Job.id == ProductImage.job_id, isouter=True)  # type: ignore[arg-type]
        .join(Approval, Approval.product_image_id == ProductImage.id, isouter=True)  # type: ignore[arg-type]
        .where(
            ProductImage.shop_id == shop.id,
            ProductImage.product_id.in_(product_ids),  # type: ignore[attr-defined]
            ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(ProductImage.product_id, ProductImage.position)  # type: ignore[arg-type]
    ).all()
    out: dict[int, list[ImageView]] = {}
    for image, job, approval in rows:
        out.setdefault(image.product_id, []).append(ImageView(image, job, approval))
    return out


def list_products(*, session: Session, shop: Shop, limit: int = 50, offset: int = 0) -> list[ProductView]:
    products = session.exec(
        select(Product)
        .where(Product.shop_id == shop.id)
        .order_by(Product.shopify_created_at.desc(), Product.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    images = _images(session, shop, [p.id for p in products if p.id is not None])
    return [ProductView(p, images.get(p.id or 0, [])) for p in products]


def count_products(*, session: Session, shop: Shop) -> int:
    from sqlalchemy import func

    return int(
        session.exec(select(func.count()).select_from(Product).where(Product.shop_id == shop.id)).one()
    )


def get_product_view(*, session: Session, shop: Shop, product_id: int) -> ProductView | None:
    product = session.exec(
        select(Product).where(Product.shop_id == shop.id, Product.id == product_id)
    ).first()
    if product is None:
        return None
    return ProductView(product, _images(session, shop, [product_id]).get(product_id, []))


def get_image(*, session: Session, shop: Shop, image_id: int) -> ProductImage | None:
    return session.exec(
        select(ProductImage).where(ProductImage.shop_id == shop.id, ProductImage.id == image_id)
    ).first()


def get_image_view(*, session: Session, shop: Shop, image_id: int) -> ImageView | None:
    image = get_image(session=session, shop=shop, image_id=image_id)
    if image is None:
        return None
    job = None
    if image.job_id:
        job = session.exec(select(Job).where(Job.id == image.job_id, Job.shop_id == shop.id)).first()
    approval = session.exec(
        select(Approval).where(Approval.shop_id == shop.id, Approval.product_image_id == image.id)
    ).first()
    return ImageView(image, job, approval)
