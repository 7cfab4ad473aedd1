"""Which of a product's photos are generated together: labelled views (front, left, back, right) make one
multi-view group in the engine's order; every other photo is a group of its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlmodel import Session, select

from shop_app.models.core import Shop
from shop_app.models.shopify import ProductImage

VIEW_ORDER = ("front", "left", "back", "right")  # the engine's view order: counter-clockwise from above
_WORDS = re.compile(r"[a-z]+")


def view_label(alt: str | None, url: str | None) -> str | None:
    """The view a photo shows ("front", "left", "back", "right") when its alt text or file name says so.

    Only the last comma-separated part of the alt text counts ("Back to school mug, front" is a front view),
    then the file name ("mug-left.png"); a text naming two different views names none.
    """
    texts = []
    if alt:
        texts.append(alt.rsplit(",", 1)[-1])
    if url:
        texts.append(urlsplit(url).path.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    for text in texts:
        named = {word for word in _WORDS.findall(text.lower()) if word in VIEW_ORDER}
        if len(named) == 1:
            return named.pop()
    return None


def plan_groups(images: Sequence[ProductImage]) -> list[list[ProductImage]]:
    """Split a product's current photos into generations: the labelled views of the object make ONE group
    in the engine's order (front, then left, back, right as long as each is present; the engine reads N
    photos as the first N views), every other photo is a group of its own. Ordered by first position."""
    ordered = sorted(images, key=lambda i: (i.position, i.id or 0))
    by_view: dict[str, ProductImage] = {}
    for image in ordered:
        label = view_label(image.alt, image.url)
        if label is not None and label not in by_view:
            by_view[label] = image
    views: list[ProductImage] = []
    for name in VIEW_ORDER:
        if name not in by_view:
            break
        views.append(by_view[name])
    if len(views) < 2:
        views = []
    in_group = {id(i) for i in views}
    groups: list[list[ProductImage]] = [[i] for i in ordered if id(i) not in in_group]
    if views:
        groups.append(views)
    return sorted(groups, key=lambda g: min(i.position for i in g))


def current_images(*, session: Session, shop: Shop, product_id: int) -> list[ProductImage]:
    return list(
        session.exec(
            select(ProductImage)
            .where(
                ProductImage.shop_id == shop.id,
                ProductImage.product_id == product_id,
                ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
            )
            .order_by(ProductImage.position)  # type: ignore[arg-type]
        ).all()
    )


def group_of(*, session: Session, shop: Shop, image: ProductImage) -> list[ProductImage]:
    """The photos generated together with `image` (itself alone for a removed or unlabelled photo);
    the first one is the group's lead, which carries the group's approval."""
    if image.removed_at is not None:
        return [image]
    for group in plan_groups(current_images(session=session, shop=shop, product_id=image.product_id)):
        if any(member.id == image.id for member in group):
            return group
    return [image]
