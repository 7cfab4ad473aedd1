"""Read side of the Shopify mirror for the embedded UI: a shop's products, images and generation status.

Every function takes the shop and filters by it: a product or image of another shop is simply not found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from shop_app.models.core import Shop
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.shopify.photo_groups import plan_groups, view_label

SignUrl = Callable[[str], str]  # storage key -> a signed URL the browser may fetch


def model_facts(gen: Generation) -> dict[str, Any]:
    """What the merchant reads about a model: faces, size in metres, how long the engine took."""
    stats = gen.stats or {}
    total = (stats.get("timings_s") or {}).get("total")
    size = stats.get("size_m")
    return {
        "faces": stats.get("faces"),
        "size_m": size if isinstance(size, list) and len(size) == 3 else None,
        "duration_s": gen.duration_s if gen.duration_s is not None else total,
        "created_at": gen.created_at.isoformat() if gen.created_at else None,
    }


@dataclass
class ImageView:
    image: ProductImage
    job: Job | None
    approval: Approval | None = None
    generation: Generation | None = None

    @property
    def generation_status(self) -> str:
        return self.job.status if self.job is not None else "not_queued"

    def model_json(self, sign_url: SignUrl | None) -> dict[str, Any] | None:
        """Signed URLs of the finished model's files (GLB, preview PNG, splat), or None before success."""
        gen = self.generation
        if sign_url is None or gen is None or self.job is None or self.job.status != SUCCEEDED:
            return None
        return {
            "glb_url": sign_url(gen.glb_key),
            "preview_url": sign_url(gen.preview_key) if gen.preview_key else None,
            "splat_url": sign_url(gen.splat_key) if gen.splat_key else None,
            "facts": model_facts(gen),
        }

    def as_json(self, sign_url: SignUrl | None = None) -> dict[str, Any]:
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
            "view": view_label(self.image.alt, self.image.url),
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
            "model": self.model_json(sign_url),
        }


@dataclass
class GroupView:
    """Photos generated together: one photo, or the labelled views of the object (lead first)."""

    images: list[ImageView]

    @property
    def lead(self) -> ImageView:
        return self.images[0]

    def as_json(self, sign_url: SignUrl | None = None) -> dict[str, Any]:
        lead = self.lead.as_json(sign_url)
        return {
            "lead_image_id": self.lead.image.id,
            "image_ids": [i.image.id for i in self.images],
            "multi_view": len(self.images) > 1,
            "photos": [
                {
                    "id": i.image.id,
                    "url": i.image.url,
                    "alt": i.image.alt,
                    # a lone photo may be named "front" too; only a group's photos are views of the model
                    "view": view_label(i.image.alt, i.image.url) if len(self.images) > 1 else None,
                }
                for i in self.images
            ],
            "generation": lead["generation"],
            "approval": lead["approval"],
            "model": lead["model"],
        }


@dataclass
class ProductView:
    product: Product
    images: list[ImageView]
    groups: list[GroupView] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.groups:
            by_image = {id(v.image): v for v in self.images}
            self.groups = [
                GroupView([by_image[id(image)] for image in group])
                for group in plan_groups([v.image for v in self.images])
            ]

    def as_json(self, sign_url: SignUrl | None = None) -> dict[str, Any]:
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
            "images": [i.as_json(sign_url) for i in self.images],
            "groups": [g.as_json(sign_url) for g in self.groups],
        }


def _images(session: Session, shop: Shop, product_ids: list[int]) -> dict[int, list[ImageView]]:
    if not product_ids:
        return {}
    rows = session.exec(
        select(ProductImage, Job, Approval, Generation)
        .join(Job, Job.id == ProductImage.job_id, isouter=True)  # type: ignore[arg-type]
        .join(Generation, Generation.id == Job.generation_id, isouter=True)  # type: ignore[arg-type]
        .join(Approval, Approval.product_image_id == ProductImage.id, isouter=True)  # type: ignore[arg-type]
        .where(
            ProductImage.shop_id == shop.id,
            ProductImage.product_id.in_(product_ids),  # type: ignore[attr-defined]
            ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
        )
        .order_by(ProductImage.product_id, ProductImage.position)  # type: ignore[arg-type]
    ).all()
    out: dict[int, list[ImageView]] = {}
    for image, job, approval, generation in rows:
        out.setdefault(image.product_id, []).append(ImageView(image, job, approval, generation))
    return out


def views_of(*, session: Session, shop: Shop, products: list[Product]) -> list[ProductView]:
    """Views of already-selected products of `shop`, their photos loaded in one query."""
    images = _images(session, shop, [p.id for p in products if p.id is not None])
    return [ProductView(p, images.get(p.id or 0, [])) for p in products]


def list_products(*, session: Session, shop: Shop, limit: int = 50, offset: int = 0) -> list[ProductView]:
    products = session.exec(
        select(Product)
        .where(Product.shop_id == shop.id)
        .order_by(Product.shopify_created_at.desc(), Product.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    ).all()
    return views_of(session=session, shop=shop, products=list(products))


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
    generation = session.get(Generation, job.generation_id) if job is not None and job.generation_id else None
    return ImageView(image, job, approval, generation)
