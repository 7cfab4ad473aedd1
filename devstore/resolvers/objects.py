"""Field resolvers of the Shop, Product and ProductVariant types."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from devstore.records import Media, Product, Shop, Variant, to_iso
from devstore.resolvers.paging import connection
from devstore.resolvers.registry import RESOLVERS, Context, Obj, attr, ctx, gid, media_typename


def _offset(shop: Shop, now: datetime) -> timedelta:
    return now.astimezone(shop.zone).utcoffset() or timedelta()


RESOLVERS.update(
    {
        "Shop.id": lambda s, i: gid("Shop", s.value.id),
        "Shop.name": attr("name"),
        "Shop.email": attr("email"),
        "Shop.contactEmail": attr("email"),
        "Shop.myshopifyDomain": attr("domain"),
        "Shop.ianaTimezone": attr("iana_timezone"),
        "Shop.currencyCode": attr("currency"),
        "Shop.createdAt": attr("created_at", to_iso),
        "Shop.updatedAt": attr("created_at", to_iso),
        "Shop.url": lambda s, i: f"https://{s.value.domain}",
        "Shop.timezoneAbbreviation": lambda s, i: ctx(i).now.astimezone(s.value.zone).tzname() or "UTC",
        "Shop.timezoneOffsetMinutes": lambda s, i: int(_offset(s.value, ctx(i).now).total_seconds() // 60),
        "Shop.timezoneOffset": lambda s, i: _format_offset(_offset(s.value, ctx(i).now)),
        "Shop.plan": lambda s, i: {
            "displayName": s.value.plan_display_name,
            "publicDisplayName": s.value.plan_display_name,
            "partnerDevelopment": s.value.plan == "partner_test",
            "shopifyPlus": s.value.plan == "shopify_plus",
        },
    }
)


def _format_offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


# ---- Product -------------------------------------------------------------------------------------


def _strip_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _description(source: Obj, info: GraphQLResolveInfo, truncateAt: int | None = None) -> str:  # noqa: N803
    del info
    text = _strip_html(source.value.body_html)
    if truncateAt is not None and len(text) > truncateAt:
        return text[: max(0, truncateAt - 3)].rstrip() + "..."
    return text


def _product_media(c: Context, product: Product) -> list[Media]:
    return [c.shop.media[m] for m in product.media_ids if m in c.shop.media]


def _media_query_filter(query: str | None) -> Callable[[Media], bool]:
    if not query:
        return lambda m: True
    m = re.fullmatch(r"\s*media_type:(\w+)\s*", query)
    if not m:
        raise GraphQLError(
            f"media query {query!r} is not implemented by the devstore (only media_type:TYPE)",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    wanted = m.group(1).upper()
    return lambda media: media.content_type == wanted


def resolve_product_media(source: Obj, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    c = ctx(info)
    keep = _media_query_filter(args.get("query"))
    media = [m for m in _product_media(c, source.value) if keep(m)]
    if source.typename == "ProductVariant":
        media = [c.shop.media[m] for m in source.value.media_ids if m in c.shop.media]
    position = {m.id: i for i, m in enumerate(media)}
    sort_key = args.get("sortKey") or "POSITION"
    return connection(
        media,
        sort_value=(lambda m: m.id) if sort_key == "ID" else (lambda m: position[m.id]),
        item_id=lambda m: m.id,
        wrap=lambda m: Obj(media_typename(m), m),
        args=args,
    )


def resolve_variants(source: Obj, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    del info
    product: Product = source.value
    sort_key = args.get("sortKey") or "POSITION"
    sorters: dict[str, Callable[[Variant], Any]] = {
        "POSITION": lambda v: v.position,
        "ID": lambda v: v.id,
        "RELEVANCE": lambda v: v.position,
        "TITLE": lambda v: v.title.lower(),
        "SKU": lambda v: (v.sku or "").lower(),
        "INVENTORY_QUANTITY": lambda v: v.inventory_quantity,
    }
    if sort_key not in sorters:
        raise GraphQLError(
            f"variants sortKey {sort_key} is not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    return connection(
        product.variants,
        sort_value=sorters[sort_key],
        item_id=lambda v: v.id,
        wrap=lambda v: Obj("ProductVariant", v, {"product": product}),
        args=args,
    )


def _featured_media(source: Obj, info: GraphQLResolveInfo) -> Obj | None:
    media = _product_media(ctx(info), source.value)
    return Obj(media_typename(media[0]), media[0]) if media else None


def _product_images(source: Obj, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    c = ctx(info)
    images = [m for m in _product_media(c, source.value) if m.content_type == "IMAGE"]
    position = {m.id: i for i, m in enumerate(images)}
    return connection(
        images,
        sort_value=lambda m: position[m.id],
        item_id=lambda m: m.image_id or m.id,
        wrap=lambda m: Obj("Image", m),
        args=args,
    )


def _featured_image(source: Obj, info: GraphQLResolveInfo) -> Obj | None:
    images = [m for m in _product_media(ctx(info), source.value) if m.content_type == "IMAGE"]
    return Obj("Image", images[0]) if images else None


def _options(source: Obj, info: GraphQLResolveInfo, first: int | None = None) -> list[dict[str, Any]]:
    del info
    product: Product = source.value
    out = []
    for position, name in enumerate(product.option_names, start=1):
        values: list[str] = []
        for v in product.variants:
            for oname, ovalue in v.options:
                if oname == name and ovalue not in values:
                    values.append(ovalue)
        out.append(
            {
                "id": gid("ProductOption", product.id * 10 + position),
                "name": name,
                "position": position,
                "values": values,
            }
        )
    return out[:first] if first is not None else out


RESOLVERS.update(
    {
        "Product.id": lambda s, i: gid("Product", s.value.id),
        "Product.legacyResourceId": lambda s, i: str(s.value.id),
        "Product.title": attr("title"),
        "Product.handle": attr("handle"),
        "Product.description": _description,
        "Product.descriptionHtml": attr("body_html"),
        "Product.vendor": attr("vendor"),
        "Product.productType": attr("product_type"),
        "Product.status": attr("status"),
        "Product.tags": attr("tags", list),
        "Product.createdAt": attr("created_at", to_iso),
        "Product.updatedAt": attr("updated_at", to_iso),
        "Product.publishedAt": attr("published_at", to_iso),
        "Product.templateSuffix": lambda s, i: None,
        "Product.isGiftCard": lambda s, i: False,
        "Product.hasOnlyDefaultVariant": lambda s, i: s.value.option_names == ["Title"],
        "Product.totalInventory": lambda s, i: sum(v.inventory_quantity for v in s.value.variants),
        "Product.tracksInventory": lambda s, i: True,
        "Product.media": resolve_product_media,
        "Product.mediaCount": lambda s, i: {
            "count": len(_product_media(ctx(i), s.value)),
            "precision": "EXACT",
        },
        "Product.featuredMedia": _featured_media,
        "Product.variants": resolve_variants,
        "Product.variantsCount": lambda s, i: {"count": len(s.value.variants), "precision": "EXACT"},
        "Product.images": _product_images,
        "Product.featuredImage": _featured_image,
        "Product.options": _options,
    }
)


# ---- ProductVariant --------------------------------------------------------------------------------


def _variant_image(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Obj | None:
    if args.get("maxWidth") is not None or args.get("maxHeight") is not None or args.get("crop") is not None:
        raise GraphQLError(
            "ProductVariant.image size arguments are not implemented by the devstore; use "
            "Image.url(transform:)",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    c = ctx(info)
    for mid in source.value.media_ids:
        m = c.shop.media.get(mid)
        if m and m.content_type == "IMAGE":
            return Obj("Image", m)
    return None


RESOLVERS.update(
    {
        "ProductVariant.id": lambda s, i: gid("ProductVariant", s.value.id),
        "ProductVariant.legacyResourceId": lambda s, i: str(s.value.id),
        "ProductVariant.title": attr("title"),
        "ProductVariant.displayName": lambda s, i: f"{s.extra['product'].title} - {s.value.title}",
        "ProductVariant.sku": attr("sku"),
        "ProductVariant.barcode": attr("barcode"),
        "ProductVariant.price": attr("price"),
        "ProductVariant.compareAtPrice": attr("compare_at_price"),
        "ProductVariant.position": attr("position"),
        "ProductVariant.taxable": attr("taxable"),
        "ProductVariant.inventoryQuantity": attr("inventory_quantity"),
        # tracked inventory with the "deny" policy (the devstore's only one): sellable while in stock
        "ProductVariant.availableForSale": lambda s, i: s.value.inventory_quantity > 0,
        "ProductVariant.createdAt": attr("created_at", to_iso),
        "ProductVariant.updatedAt": attr("updated_at", to_iso),
        "ProductVariant.selectedOptions": lambda s, i: [{"name": n, "value": v} for n, v in s.value.options],
        "ProductVariant.media": resolve_product_media,
        "ProductVariant.image": _variant_image,
        "ProductVariant.product": lambda s, i: Obj("Product", s.extra["product"]),
    }
)
