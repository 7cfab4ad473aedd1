"""Products from the JSON the control API and the catalogue loader accept (fields, variants, images)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from devstore.cdn import InvalidImage
from devstore.errors import DevstoreError
from devstore.records import Shop, parse_dt
from devstore.state import Store


def _decode_image(spec: dict[str, Any]) -> bytes:
    try:
        return base64.b64decode(spec["data_base64"], validate=True)
    except (KeyError, binascii.Error) as exc:
        raise DevstoreError("each image needs 'data_base64' (the image bytes, base64-encoded)") from exc


def add_product_images(store: Store, shop: Shop, product_id: int, images: list[dict[str, Any]]) -> None:
    product = store.get_product(shop, product_id)
    for spec in images:
        data = _decode_image(spec)
        variant_positions = spec.get("variants") or []
        variant_ids = [product.variants[i].id for i in variant_positions if 0 <= i < len(product.variants)]
        try:
            store.add_image(
                shop,
                data,
                alt=spec.get("alt", ""),
                filename=spec.get("filename", "image.png"),
                product=product,
                variant_ids=variant_ids,
            )
        except InvalidImage as exc:
            raise DevstoreError(f"image {spec.get('filename', '')!r}: {exc}") from exc


def create_product_from_json(store: Store, shop: Shop, body: dict[str, Any], *, notify: bool = True) -> int:
    if not body.get("title"):
        raise DevstoreError("'title' is required")
    tags = body.get("tags", [])
    if isinstance(tags, str):
        tags = tags.split(",")
    created_at = parse_dt(body["created_at"]) if body.get("created_at") else None
    product = store.create_product(
        shop,
        title=body["title"],
        status=body.get("status", "ACTIVE"),
        body_html=body.get("body_html", ""),
        vendor=body.get("vendor", ""),
        product_type=body.get("product_type", ""),
        tags=tags,
        handle=body.get("handle"),
        created_at=created_at,
        variants=body.get("variants"),
        emit=False,
    )
    try:
        add_product_images(store, shop, product.id, body.get("images") or [])
    except DevstoreError:
        store.delete_product(shop, product.id, emit=False)
        raise
    if notify:
        store.emit("products/create", shop, {"product_id": product.id})
    return product.id
