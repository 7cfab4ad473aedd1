"""Resolvers for the part of Shopify's Admin schema the devstore executes.

Resolvers are keyed by ``"Type.field"``. A field that is valid in Shopify's schema but has no resolver here
raises :class:`NotImplementedField`, which the client sees as an error naming the field (never a silent null).
Value objects (connections, page info, user errors) are plain dicts and resolve by key.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, parse_value, value_from_ast

from devstore.config import DevstoreConfig
from devstore.search import (
    IMPLEMENTED_FILE_FIELDS,
    SHOPIFY_FILE_FIELDS,
    TIME_FIELDS,
    ParsedQuery,
    SearchError,
    SortedItems,
    compare_interval,
    compare_number,
    paginate,
    parse_query,
    sort_items,
    time_interval,
)
from devstore.state import AccessToken, Media, Product, Shop, StagedUpload, Store, Variant, to_iso

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250
# set while a bulk query executes (devstore.bulk): connections then return every item without first/last
BULK_EXECUTION: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk_execution", default=False)
GID_RE = re.compile(r"^gid://shopify/(?P<type>[A-Za-z0-9]+)/(?P<id>\d+)(?:\?.*)?$")
GLB_MAGIC = b"glTF"


class NotImplementedField(GraphQLError):
    pass


@dataclass(eq=False)
class Obj:
    """A resolved object of a concrete GraphQL type wrapping a state record."""

    typename: str
    value: Any
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    store: Store
    config: DevstoreConfig
    shop: Shop
    token: AccessToken
    base_url: str
    now: datetime
    search_warnings: list[dict[str, Any]] = field(default_factory=list)
    changed_products: set[int] = field(default_factory=set)


Resolver = Callable[..., Any]
RESOLVERS: dict[str, Resolver] = {}


def resolves(*keys: str) -> Callable[[Resolver], Resolver]:
    def deco(fn: Resolver) -> Resolver:
        for key in keys:
            RESOLVERS[key] = fn
        return fn

    return deco


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    key = f"{info.parent_type.name}.{info.field_name}"
    fn = RESOLVERS.get(key)
    if fn is not None:
        return fn(source, info, **args)
    if isinstance(source, dict) and info.field_name in source:
        return source[info.field_name]
    if isinstance(source, Obj) and info.field_name in source.extra:
        return source.extra[info.field_name]
    raise NotImplementedField(
        f"Field '{info.field_name}' on type '{info.parent_type.name}' is valid in Shopify's Admin API but is "
        "not implemented by the devstore",
        extensions={
            "code": "DEVSTORE_NOT_IMPLEMENTED",
            "typeName": info.parent_type.name,
            "fieldName": info.field_name,
        },
    )


def type_resolver(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    del info, abstract_type
    return value.typename if isinstance(value, Obj) else None


def ctx(info: GraphQLResolveInfo) -> Context:
    return info.context


def attr(name: str, transform: Callable[[Any], Any] | None = None) -> Resolver:
    def resolve(source: Obj, info: GraphQLResolveInfo, **args: Any) -> Any:
        del info, args
        value = getattr(source.value, name)
        return transform(value) if transform else value

    return resolve


# ---- ids -----------------------------------------------------------------------------------------


def gid(kind: str, ident: int) -> str:
    return f"gid://shopify/{kind}/{ident}"


def parse_gid(value: str) -> tuple[str, int]:
    m = GID_RE.match(value or "")
    if not m:
        raise GraphQLError(
            f"Invalid global id '{value}'",
            extensions={"code": "argumentLiteralsIncompatible", "typeName": "CoercionError"},
        )
    return m.group("type"), int(m.group("id"))


def media_typename(media: Media) -> str:
    return "MediaImage" if media.content_type == "IMAGE" else "Model3d"


def node_for(c: Context, value: str) -> Obj | None:
    kind, ident = parse_gid(value)
    shop = c.shop
    if kind == "Product":
        p = shop.products.get(ident)
        return Obj("Product", p) if p else None
    if kind == "ProductVariant":
        for p in shop.products.values():
            for v in p.variants:
                if v.id == ident:
                    return Obj("ProductVariant", v, {"product": p})
        return None
    if kind in ("MediaImage", "Model3d"):
        m = shop.media.get(ident)
        return Obj(kind, m) if m and media_typename(m) == kind else None
    if kind == "Shop":
        return Obj("Shop", shop) if ident == shop.id else None
    if kind == "BulkOperation":
        op = c.store.bulk_operations.get(ident)
        return Obj("BulkOperation", op) if op is not None and op.shop == shop.domain else None
    if kind == "Collection":
        found = shop.collections.get(ident)
        return Obj("Collection", found) if found else None
    return None


# ---- paging helpers -------------------------------------------------------------------------------


def check_page_args(first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"Argument '{name}' on Field must be a non-negative integer, got {value}")
        if value is not None and value > MAX_PAGE_SIZE:
            raise GraphQLError(
                f"The '{name}' argument may not exceed {MAX_PAGE_SIZE} (got {value}).",
                extensions={"code": "BAD_USER_INPUT"},
            )


def connection(
    items: list[Any] | SortedItems,
    *,
    sort_value: Callable[[Any], Any] | None,
    item_id: Callable[[Any], int] | None,
    wrap: Callable[[Any], Any],
    args: dict[str, Any],
) -> dict[str, Any]:
    if BULK_EXECUTION.get() and args.get("first") is None and args.get("last") is None:
        size = len(items.items) if isinstance(items, SortedItems) else len(items)
        args = {**args, "first": max(1, size)}
    else:
        check_page_args(args.get("first"), args.get("last"))
    try:
        page = paginate(
            items,
            sort_value=sort_value,
            item_id=item_id,
            first=args.get("first"),
            after=args.get("after"),
            last=args.get("last"),
            before=args.get("before"),
            reverse=bool(args.get("reverse")),
        )
    except SearchError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc
    nodes = [wrap(it) for it in page.items]
    return {
        "edges": [{"cursor": cur, "node": node} for cur, node in zip(page.cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": page.has_previous_page,
            "startCursor": page.cursors[0] if page.cursors else None,
            "endCursor": page.cursors[-1] if page.cursors else None,
        },
    }


# ---- QueryRoot -----------------------------------------------------------------------------------


@resolves("QueryRoot.shop")
def resolve_shop(source: Any, info: GraphQLResolveInfo) -> Obj:
    del source
    return Obj("Shop", ctx(info).shop)


PRODUCT_SORT: dict[str, Callable[[Product], Any]] = {
    "ID": lambda p: p.id,
    "RELEVANCE": lambda p: p.id,
    "CREATED_AT": lambda p: to_iso(p.created_at),
    "UPDATED_AT": lambda p: to_iso(p.updated_at),
    "PUBLISHED_AT": lambda p: to_iso(p.published_at),
    "TITLE": lambda p: p.title.lower(),
    "VENDOR": lambda p: p.vendor.lower(),
    "PRODUCT_TYPE": lambda p: p.product_type.lower(),
    "INVENTORY_TOTAL": lambda p: sum(v.inventory_quantity for v in p.variants),
}


def compile_product_filter(parsed: ParsedQuery, shop: Shop, now: datetime) -> Callable[[Product], bool]:
    """Turn parsed search terms into one predicate (evaluated once per product per request)."""
    checks: list[Callable[[Product], bool]] = []
    for term in parsed.terms:
        name, op, value = term.field, term.op, term.value
        lowered = value.lower()
        wanted = frozenset(s.strip().lower() for s in value.split(","))
        if name is None:
            checks.append(
                lambda p, w=lowered: w in " ".join([p.title, p.vendor, p.product_type, *p.tags]).lower()
            )
        elif name == "status":
            checks.append(lambda p, w=wanted: p.status.lower() in w)
        elif name in TIME_FIELDS:
            interval = time_interval(value, shop.zone, now)
            checks.append(lambda p, f=name, o=op, i=interval: compare_interval(getattr(p, f), o, i))
        elif name == "id":
            compare_number(0, op, value)  # validates the value once
            checks.append(lambda p, o=op, v=value: compare_number(p.id, o, v))
        elif name in ("vendor", "product_type", "handle"):
            checks.append(lambda p, f=name, w=wanted: getattr(p, f).lower() in w)
        elif name == "title":
            checks.append(lambda p, w=lowered: w in p.title.lower())
        elif name == "tag":
            checks.append(lambda p, w=lowered: w in {t.lower() for t in p.tags})
        elif name == "tag_not":
            checks.append(lambda p, w=lowered: w not in {t.lower() for t in p.tags})
    return lambda p: all(check(p) for check in checks)


@resolves("QueryRoot.products")
def resolve_products(source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    del source
    c = ctx(info)
    if args.get("savedSearchId"):
        raise GraphQLError(
            "Argument 'savedSearchId' is not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    query = args.get("query")
    try:
        parsed = parse_query(query)
        if not parsed.has_field("status"):
            # Shopify's schema documents `active` as the default of the status filter.
            parsed.terms.append(parse_query("status:active").terms[0])
        sort_key = args.get("sortKey") or "ID"
        cache_key = (
            c.shop.domain,
            query,
            sort_key,
            c.store.version,
            c.now if "now" in (query or "").lower() else None,
        )
        with c.store.lock:
            ordered = c.store.query_cache.get(cache_key)
            if ordered is None:
                matches = compile_product_filter(parsed, c.shop, c.now)
                items = [p for p in c.shop.products.values() if matches(p)]
                ordered = sort_items(items, sort_value=PRODUCT_SORT[sort_key], item_id=lambda p: p.id)
                if len(c.store.query_cache) > 256:
                    c.store.query_cache.clear()
                c.store.query_cache[cache_key] = ordered
    except SearchError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc
    if parsed.warnings:
        c.search_warnings.append(
            {"path": [str(p) for p in info.path.as_list()], "query": query, "warnings": parsed.warnings}
        )
    return connection(ordered, sort_value=None, item_id=None, wrap=lambda p: Obj("Product", p), args=args)


@resolves("QueryRoot.productsCount")
def resolve_products_count(source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    del source
    c = ctx(info)
    try:
        parsed = parse_query(args.get("query"))
        if not parsed.has_field("status"):
            parsed.terms.append(parse_query("status:active").terms[0])
        matches = compile_product_filter(parsed, c.shop, c.now)
    except SearchError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc
    count = sum(1 for p in c.shop.products.values() if matches(p))
    limit = args.get("limit")
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


FILE_SORT: dict[str, Callable[[Media], Any]] = {
    "ID": lambda m: m.id,
    "RELEVANCE": lambda m: m.id,
    "CREATED_AT": lambda m: to_iso(m.created_at),
    "UPDATED_AT": lambda m: to_iso(m.updated_at or m.created_at),
    "FILENAME": lambda m: (m.filename or "").lower(),
    "ORIGINAL_UPLOAD_SIZE": lambda m: m.file_size,
}


@resolves("QueryRoot.files")
def resolve_files(source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    """The shop's Files (images and 3D models), with the media_type/status/filename/product_id/created_at/
    updated_at/id filters."""
    del source
    c = ctx(info)
    if args.get("savedSearchId"):
        raise GraphQLError(
            "Argument 'savedSearchId' is not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    try:
        parsed = parse_query(
            args.get("query"), known=SHOPIFY_FILE_FIELDS, implemented=IMPLEMENTED_FILE_FIELDS
        )
        checks: list[Callable[[Media], bool]] = []
        for term in parsed.terms:
            name, op, value = term.field, term.op, term.value
            wanted = frozenset(v.strip().upper() for v in value.split(","))
            if name is None:
                checks.append(lambda m, w=value.lower(): w in f"{m.filename} {m.alt}".lower())
            elif name == "media_type":
                checks.append(lambda m, w=wanted: m.content_type in w)
            elif name == "status":
                checks.append(lambda m, w=wanted: m.status(c.now) in w)
            elif name == "filename":
                checks.append(lambda m, w=value.lower(): w in (m.filename or "").lower())
            elif name == "product_id":
                checks.append(lambda m, v=value: int(v.rsplit("/", 1)[-1]) in m.product_ids)
            elif name == "id":
                compare_number(0, op, value)
                checks.append(lambda m, o=op, v=value: compare_number(m.id, o, v))
            elif name in ("created_at", "updated_at"):
                interval = time_interval(value, c.shop.zone, c.now)
                checks.append(
                    lambda m, f=name, o=op, i=interval: compare_interval(getattr(m, f) or m.created_at, o, i)
                )
        with c.store.lock:
            items = [m for m in c.shop.media.values() if all(check(m) for check in checks)]
    except (SearchError, ValueError) as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc
    return connection(
        items,
        sort_value=FILE_SORT[args.get("sortKey") or "ID"],
        item_id=lambda m: m.id,
        wrap=lambda m: Obj(media_typename(m), m),
        args=args,
    )


@resolves("QueryRoot.product")
def resolve_product(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    kind, ident = parse_gid(id)
    if kind != "Product":
        return None
    product = ctx(info).shop.products.get(ident)
    return Obj("Product", product) if product else None


@resolves("QueryRoot.collection")
def resolve_collection(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    kind, ident = parse_gid(id)
    if kind != "Collection":
        return None
    collection = ctx(info).shop.collections.get(ident)
    return Obj("Collection", collection) if collection else None


def resolve_collection_products(source: Obj, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    shop = ctx(info).shop
    if (args.get("sortKey") or "COLLECTION_DEFAULT") not in ("COLLECTION_DEFAULT", "MANUAL"):
        raise GraphQLError(
            "Collection.products sortKey other than COLLECTION_DEFAULT/MANUAL is not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    products = [shop.products[pid] for pid in source.value.product_ids if pid in shop.products]
    position = {pid: n for n, pid in enumerate(source.value.product_ids)}
    return connection(
        products,
        sort_value=lambda p: position[p.id],
        item_id=lambda p: p.id,
        wrap=lambda p: Obj("Product", p),
        args=args,
    )


RESOLVERS.update(
    {
        "Collection.id": lambda s, i: gid("Collection", s.value.id),
        "Collection.legacyResourceId": lambda s, i: str(s.value.id),
        "Collection.title": attr("title"),
        "Collection.handle": attr("handle"),
        "Collection.updatedAt": attr("updated_at", to_iso),
        "Collection.products": resolve_collection_products,
        "Collection.productsCount": lambda s, i: {"count": len(s.value.product_ids), "precision": "EXACT"},
    }
)


@resolves("QueryRoot.productVariant")
def resolve_product_variant(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    node = node_for(ctx(info), id)
    return node if node and node.typename == "ProductVariant" else None


@resolves("QueryRoot.nodes")
def resolve_nodes(source: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Obj | None]:
    del source
    if len(ids) > MAX_PAGE_SIZE:
        raise GraphQLError(f"The 'ids' argument may not contain more than {MAX_PAGE_SIZE} IDs.")
    return [node_for(ctx(info), i) for i in ids]


@resolves("QueryRoot.node")
def resolve_node(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    return node_for(ctx(info), id)


# ---- Shop ----------------------------------------------------------------------------------------


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


# ---- Media, Image, Model3d -----------------------------------------------------------------------


def cdn_url(c: Context, media: Media, *, width: int | None = None, height: int | None = None) -> str:
    return c.store.media_url(media, width=width, height=height)


def _image_url(source: Obj, info: GraphQLResolveInfo, transform: dict[str, Any] | None = None) -> str:
    transform = transform or {}
    unsupported = _given_fields("ImageTransformInput", transform) - {"maxWidth", "maxHeight"}
    if unsupported:
        raise GraphQLError(
            f"image transform option(s) {sorted(unsupported)} are not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    for key in ("maxWidth", "maxHeight"):
        if transform.get(key) is not None and not 1 <= transform[key] <= 5760:
            raise GraphQLError(f"Image transform {key} must be between 1 and 5760, got {transform[key]}")
    return cdn_url(
        ctx(info), source.value, width=transform.get("maxWidth"), height=transform.get("maxHeight")
    )


def _transformed_src(source: Obj, info: GraphQLResolveInfo, **args: Any) -> str:
    return _image_url(source, info, {k: v for k, v in args.items() if k in ("maxWidth", "maxHeight")})


def _media_status(source: Obj, info: GraphQLResolveInfo) -> str:
    return source.value.status(ctx(info).now)


def _media_errors(source: Obj, info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return source.value.current_errors(ctx(info).now)


def _preview(source: Obj, info: GraphQLResolveInfo) -> dict[str, Any]:
    media: Media = source.value
    status = media.status(ctx(info).now)
    if media.content_type == "IMAGE":
        return {"image": Obj("Image", media), "status": "READY"}
    # the thumbnail appears once processing has finished, as on Shopify
    if status == "READY":
        preview = media.preview_media()
        return {"image": Obj("Image", preview) if preview else None, "status": "READY"}
    return {"image": None, "status": "FAILED" if status == "FAILED" else "PROCESSING"}


def _model_sources(source: Obj, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    c = ctx(info)
    media: Media = source.value
    if media.status(c.now) != "READY":
        return []
    return [
        {
            "url": cdn_url(c, media),
            "format": "glb",
            "mimeType": "model/gltf-binary",
            "filesize": media.file_size,
        }
    ]


def _model_original(source: Obj, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    c = ctx(info)
    media: Media = source.value
    return {
        "url": cdn_url(c, media),
        "format": "glb",
        "mimeType": media.mime_type or "model/gltf-binary",
        "filesize": media.file_size,
    }


for _t in ("MediaImage", "Model3d"):
    RESOLVERS.update(
        {
            f"{_t}.id": (lambda t: lambda s, i: gid(t, s.value.id))(_t),
            f"{_t}.alt": attr("alt"),
            f"{_t}.mediaContentType": attr("content_type"),
            f"{_t}.status": _media_status,
            f"{_t}.fileStatus": _media_status,
            f"{_t}.mediaErrors": _media_errors,
            f"{_t}.fileErrors": _media_errors,
            f"{_t}.mediaWarnings": lambda s, i: [],
            f"{_t}.preview": _preview,
            f"{_t}.createdAt": attr("created_at", to_iso),
            f"{_t}.updatedAt": lambda s, i: to_iso(s.value.updated_at or s.value.created_at),
        }
    )

RESOLVERS.update(
    {
        "MediaImage.image": lambda s, i: Obj("Image", s.value) if s.value.blob_key else None,
        "MediaImage.mimeType": attr("mime_type"),
        "MediaImage.originalSource": lambda s, i: {
            "fileSize": s.value.file_size,
            "url": cdn_url(ctx(i), s.value),
        },
        "Model3d.filename": attr("filename"),
        "Model3d.sources": _model_sources,
        "Model3d.originalSource": _model_original,
        "Model3d.boundingBox": lambda s, i: None,
        "Image.id": lambda s, i: gid("ImageSource", s.value.image_id or s.value.id),
        "Image.url": _image_url,
        "Image.src": lambda s, i: _image_url(s, i),
        "Image.originalSrc": lambda s, i: _image_url(s, i),
        "Image.transformedSrc": _transformed_src,
        "Image.altText": lambda s, i: s.value.alt or None,
        "Image.width": attr("width"),
        "Image.height": attr("height"),
        "MediaError.code": lambda s, i: s["code"],
    }
)


# ---- mutations -------------------------------------------------------------------------------------


@functools.cache
def _input_defaults(type_name: str) -> dict[str, Any]:
    """Default values of an input type's fields, from the introspection data (coercion fills these in)."""
    from devstore.schema import admin_schema, load_introspection

    input_type = admin_schema().get_type(type_name)
    out: dict[str, Any] = {}
    for t in load_introspection()["data"]["__schema"]["types"]:
        if t["name"] == type_name:
            for f in t.get("inputFields") or []:
                if f.get("defaultValue") is not None:
                    out[f["name"]] = value_from_ast(
                        parse_value(f["defaultValue"]), input_type.fields[f["name"]].type
                    )
    return out


def _given_fields(type_name: str, value: dict[str, Any]) -> set[str]:
    """Input fields the client set (values equal to the schema default do not count)."""
    defaults = _input_defaults(type_name)
    return {
        name for name, v in value.items() if v is not None and (name not in defaults or v != defaults[name])
    }


def user_error(field_path: list[str] | None, message: str, code: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"field": field_path, "message": message}
    if code is not None:
        err["code"] = code
    return err


def staged_signature(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


STAGED_RESOURCES = {"IMAGE", "MODEL_3D", "FILE", "PRODUCT_IMAGE"}


@resolves("Mutation.stagedUploadsCreate")
def resolve_staged_uploads_create(source: Any, info: GraphQLResolveInfo, input: list[dict[str, Any]]) -> dict:  # noqa: A002
    del source
    c = ctx(info)
    targets: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(input):
        resource = item["resource"]
        path = ["input", str(index)]
        if resource not in STAGED_RESOURCES:
            errors.append(
                user_error(
                    [*path, "resource"],
                    f"Resource {resource} is not supported by the devstore's staged uploads",
                )
            )
            continue
        raw_size = item.get("fileSize")
        size: int | None = None
        if raw_size is not None:
            try:
                size = int(raw_size)
            except ValueError:
                errors.append(user_error([*path, "fileSize"], "File size must be an unsigned integer"))
                continue
        if resource in ("MODEL_3D", "VIDEO") and size is None:
            errors.append(user_error([*path, "fileSize"], f"File size is required for {resource} uploads."))
            continue
        limit = c.config.max_model3d_bytes if resource == "MODEL_3D" else c.config.max_image_bytes
        if size is not None and size > limit:
            errors.append(
                user_error(
                    [*path, "fileSize"],
                    f"File size {size} bytes exceeds the {resource} limit of {limit} bytes.",
                )
            )
            continue
        method = item.get("httpMethod") or "PUT"
        filename = item["filename"].strip()
        if not filename or "/" in filename or "\\" in filename:
            errors.append(user_error([*path, "filename"], "Filename must be a plain file name."))
            continue
        key = f"tmp/{c.shop.id}/{resource.lower()}/{secrets.token_hex(10)}/{re.sub(r'[^A-Za-z0-9._-]', '_', filename)}"
        now = c.now
        upload = StagedUpload(
            key=key,
            shop=c.shop.domain,
            resource=resource,
            filename=filename,
            mime_type=item["mimeType"],
            file_size=size,
            http_method=method,
            created_at=now,
            expires_at=now + timedelta(seconds=c.config.staged_upload_ttl_s),
        )
        with c.store.lock:
            c.store.staged[key] = upload
        signature = staged_signature(store_secret(c.store), key)
        resource_url = f"{c.base_url}/staged-uploads/{key}"
        if method == "POST":
            policy = base64.b64encode(
                json.dumps(
                    {
                        "conditions": [
                            {"key": key},
                            {"Content-Type": item["mimeType"]},
                            ["content-length-range", 0, size if size is not None else limit],
                        ],
                        "expiration": to_iso(upload.expires_at),
                    }
                ).encode()
            ).decode()
            params = [
                ("Content-Type", item["mimeType"]),
                ("success_action_status", "201"),
                ("acl", "private"),
                ("key", key),
                ("x-goog-date", now.strftime("%Y%m%dT%H%M%SZ")),
                (
                    "x-goog-credential",
                    "devstore-staged-uploads/" + now.strftime("%Y%m%d") + "/auto/storage/goog4_request",
                ),
                ("x-goog-algorithm", "GOOG4-RSA-SHA256"),
                ("x-goog-signature", signature),
                ("policy", policy),
            ]
            url = f"{c.base_url}/staged-uploads/"
        else:
            params = [("content_type", item["mimeType"]), ("acl", "private")]
            url = f"{resource_url}?X-Goog-Signature={signature}"
        targets.append(
            {
                "url": url,
                "resourceUrl": resource_url,
                "parameters": [{"name": n, "value": v} for n, v in params],
            }
        )
    return {"stagedTargets": targets, "userErrors": errors}


def store_secret(store: Store) -> bytes:
    """Per-process key that signs staged-upload targets (stands in for the GCS signing key)."""
    return store.staged_secret


def validate_glb(data: bytes, max_bytes: int) -> str | None:
    """Return why ``data`` is not an acceptable GLB 2.0 file, or None when it is."""
    if len(data) > max_bytes:
        return f"The file is {len(data)} bytes; 3D models must be smaller than {max_bytes + 1} bytes."
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        return "The file is not a binary glTF (GLB): the 'glTF' magic header is missing."
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        return f"Unsupported glTF version {version}; only glTF 2.0 is accepted."
    if length != len(data):
        return f"The GLB header declares {length} bytes but the file has {len(data)} bytes."
    chunk_len, chunk_type = struct.unpack_from("<II", data, 12)
    if chunk_type != 0x4E4F534A or 20 + chunk_len > len(data):
        return "The first GLB chunk must be a JSON chunk that fits in the file."
    try:
        doc = json.loads(data[20 : 20 + chunk_len].decode("utf-8").rstrip(" \x00"))
    except (UnicodeDecodeError, ValueError):
        return "The GLB JSON chunk is not valid JSON."
    if (
        not isinstance(doc, dict)
        or "asset" not in doc
        or not str(doc["asset"].get("version", "")).startswith("2")
    ):
        return "The GLB JSON chunk lacks asset.version 2.0."
    return None


def create_media_from_source(c: Context, item: dict[str, Any], product: Product | None) -> Media:
    """Create a media record for a ``CreateMediaInput`` (IMAGE or MODEL_3D) and attach it to ``product``.

    Problems with the file itself do not fail the mutation: the media is created and later reports FAILED
    with a media error, as on Shopify.
    """
    content_type = item["mediaContentType"]
    source = item["originalSource"]
    prefix = f"{c.base_url}/staged-uploads/"
    staged = c.store.staged.get(source[len(prefix) :]) if source.startswith(prefix) else None
    data: bytes | None = None
    filename = source.rsplit("/", 1)[-1].split("?", 1)[0] or "file"
    if staged is not None and staged.shop == c.shop.domain and staged.data is not None:
        data = staged.data
        filename = staged.filename
    elif source.startswith(f"{c.base_url}/cdn/shop/files/"):
        blob_key = source[len(f"{c.base_url}/cdn/shop/files/") :].split("/", 1)[0]
        blob = c.store.blobs.get(blob_key)
        data = blob.data if blob else None
    now = c.now
    media = Media(
        id=c.store.next_id(),
        content_type=content_type,
        created_at=now,
        alt=item.get("alt") or "",
        filename=filename,
        updated_at=now,
    )
    if content_type == "IMAGE":
        if data is None:
            media.final_status = "FAILED"
            media.errors = [
                {
                    "code": "IMAGE_DOWNLOAD_FAILURE",
                    "details": source,
                    "message": "Image could not be downloaded from the original source.",
                }
            ]
        else:
            from devstore.cdn import InvalidImage, image_info

            try:
                mime, width, height = image_info(data)
            except InvalidImage as exc:
                media.final_status = "FAILED"
                media.errors = [
                    {
                        "code": "UNSUPPORTED_IMAGE_FILE_TYPE",
                        "details": str(exc),
                        "message": "Image file type is not supported.",
                    }
                ]
            else:
                blob = c.store.put_blob(data, mime)
                media.blob_key, media.mime_type, media.width, media.height = blob.key, mime, width, height
                media.file_size, media.image_id = len(data), c.store.next_id()
    else:
        media.mime_type = "model/gltf-binary"
        media.processing_started_at = now + timedelta(seconds=c.config.media_processing_s / 2)
        media.processing_done_at = now + timedelta(seconds=c.config.media_processing_s)
        if data is None:
            media.final_status = "FAILED"
            media.errors = [
                {
                    "code": "GENERIC_FILE_DOWNLOAD_FAILURE",
                    "details": source,
                    "message": "The file could not be downloaded: stage it with stagedUploadsCreate "
                    "and upload it before attaching.",
                }
            ]
        else:
            problem = validate_glb(data, c.config.max_model3d_bytes)
            media.file_size = len(data)
            if problem:
                media.final_status = "FAILED"
                media.errors = [
                    {
                        "code": "MODEL3D_VALIDATION_ERROR",
                        "details": problem,
                        "message": "Model failed validation.",
                    }
                ]
            else:
                from devstore.preview import model_preview_png

                media.final_status = "READY"
                media.blob_key = c.store.put_blob(data, "model/gltf-binary").key
                media.preview_key = c.store.put_blob(model_preview_png(data), "image/png").key
    with c.store.lock:
        c.shop.media[media.id] = media
        if product is not None:
            c.store.attach_media(product, media)
    return media


PRODUCT_UPDATE_FIELDS = {
    "id": None,
    "title": "title",
    "descriptionHtml": "body_html",
    "vendor": "vendor",
    "productType": "product_type",
    "status": "status",
    "tags": "tags",
    "handle": "handle",
}


@resolves("Mutation.productUpdate")
def resolve_product_update(source: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    del source
    c = ctx(info)
    if args.get("input") is not None or args.get("identifier") is not None:
        raise GraphQLError(
            "productUpdate(input:) and productUpdate(identifier:) are not implemented by the "
            "devstore; use productUpdate(product:, media:)",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    product_input = args.get("product") or {}
    unsupported = _given_fields("ProductUpdateInput", product_input) - set(PRODUCT_UPDATE_FIELDS)
    if unsupported:
        raise GraphQLError(
            f"ProductUpdateInput field(s) {sorted(unsupported)} are not implemented by the devstore",
            extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
        )
    if not product_input.get("id"):
        return {"product": None, "userErrors": [user_error(["id"], "Product id is required.")]}
    kind, ident = parse_gid(product_input["id"])
    product = c.shop.products.get(ident) if kind == "Product" else None
    if product is None:
        return {"product": None, "userErrors": [user_error(["id"], "Product does not exist")]}
    changes = {
        PRODUCT_UPDATE_FIELDS[k]: v
        for k, v in product_input.items()
        if k in PRODUCT_UPDATE_FIELDS and k != "id" and v is not None
    }
    if "title" in changes and not str(changes["title"]).strip():
        return {"product": None, "userErrors": [user_error(["title"], "Title can't be blank")]}
    errors = []
    media_inputs = args.get("media") or []
    for index, item in enumerate(media_inputs):
        if item["mediaContentType"] not in ("IMAGE", "MODEL_3D"):
            errors.append(
                user_error(
                    ["media", str(index), "mediaContentType"],
                    f"Media content type {item['mediaContentType']} is not implemented by the devstore",
                )
            )
    if errors:
        return {"product": None, "userErrors": errors}
    if changes:
        c.store.update_product(c.shop, product.id, changes, emit=False)
    for item in media_inputs:
        create_media_from_source(c, item, product)
    if media_inputs:
        c.store.touch(product)
    c.changed_products.add(product.id)
    return {"product": Obj("Product", product), "userErrors": []}


def _file_node(media: Media) -> Obj:
    return Obj(media_typename(media), media)


@resolves("Mutation.fileUpdate")
def resolve_file_update(source: Any, info: GraphQLResolveInfo, files: list[dict[str, Any]]) -> dict[str, Any]:
    del source
    c = ctx(info)
    if len(files) > 250:
        return {
            "files": None,
            "userErrors": [
                user_error(["files"], "Cannot update more than 250 files at once.", "TOO_MANY_ARGUMENTS")
            ],
        }
    errors: list[dict[str, Any]] = []
    plan: list[tuple[Media, dict[str, Any]]] = []
    for index, item in enumerate(files):
        path = ["files", str(index)]
        unsupported = _given_fields("FileUpdateInput", item) - {
            "id",
            "alt",
            "referencesToAdd",
            "referencesToRemove",
        }
        if unsupported:
            raise GraphQLError(
                f"FileUpdateInput field(s) {sorted(unsupported)} are not implemented by the devstore",
                extensions={"code": "DEVSTORE_NOT_IMPLEMENTED"},
            )
        kind, ident = parse_gid(item["id"])
        media = c.shop.media.get(ident)
        if media is None or media_typename(media) != kind:
            errors.append(
                user_error([*path, "id"], f"File id {item['id']} does not exist.", "FILE_DOES_NOT_EXIST")
            )
            continue
        for ref in (item.get("referencesToAdd") or []) + (item.get("referencesToRemove") or []):
            rkind, rid = parse_gid(ref)
            if rkind != "Product":
                errors.append(
                    user_error(
                        [*path, "references"],
                        f"Reference {ref} is not a product.",
                        "UNSUPPORTED_FILE_REFERENCE",
                    )
                )
            elif rid not in c.shop.products:
                errors.append(
                    user_error(
                        [*path, "references"],
                        f"Reference target {ref} does not exist.",
                        "REFERENCE_TARGET_DOES_NOT_EXIST",
                    )
                )
        if item.get("referencesToAdd") and media.status(c.now) != "READY":
            errors.append(user_error([*path, "id"], "Non-ready files cannot be updated.", "NON_READY_STATE"))
        plan.append((media, item))
    if errors:
        return {"files": None, "userErrors": errors}
    for media, item in plan:
        if item.get("alt") is not None:
            media.alt = item["alt"]
        for ref in item.get("referencesToAdd") or []:
            product = c.shop.products[parse_gid(ref)[1]]
            c.store.attach_media(product, media)
            c.store.touch(product)
            c.changed_products.add(product.id)
        for ref in item.get("referencesToRemove") or []:
            pid = parse_gid(ref)[1]
            c.store.detach_media(c.shop, media, pid)
            c.changed_products.add(pid)
        media.updated_at = c.now
    return {"files": [_file_node(m) for m, _ in plan], "userErrors": []}


@resolves("Mutation.fileDelete")
def resolve_file_delete(source: Any, info: GraphQLResolveInfo, fileIds: list[str]) -> dict[str, Any]:  # noqa: N803
    del source
    c = ctx(info)
    errors = []
    found: list[Media] = []
    for index, value in enumerate(fileIds):
        kind, ident = parse_gid(value)
        media = c.shop.media.get(ident)
        if media is None or media_typename(media) != kind:
            errors.append(
                user_error(["fileIds", str(index)], f"File id {value} does not exist.", "FILE_DOES_NOT_EXIST")
            )
        else:
            found.append(media)
    if errors:
        return {"deletedFileIds": None, "userErrors": errors}
    for media in found:
        c.changed_products.update(media.product_ids)
        c.store.delete_media(c.shop, media.id)
    return {"deletedFileIds": list(fileIds), "userErrors": []}
