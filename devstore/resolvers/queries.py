"""QueryRoot resolvers: shop, products (search and sort), productsCount, files, product, collection, nodes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from devstore.records import Media, Product, Shop, to_iso
from devstore.resolvers.paging import MAX_PAGE_SIZE, connection
from devstore.resolvers.registry import (
    RESOLVERS,
    Obj,
    attr,
    ctx,
    gid,
    media_typename,
    node_for,
    parse_gid,
    resolves,
)
from devstore.search import (
    IMPLEMENTED_FILE_FIELDS,
    SHOPIFY_FILE_FIELDS,
    TIME_FIELDS,
    ParsedQuery,
    SearchError,
    compare_interval,
    compare_number,
    parse_query,
    sort_items,
    time_interval,
)


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


def _record_of_kind(id: str, kind: str, records: dict[int, Any]) -> Obj | None:  # noqa: A002
    """The record behind a global id of ``kind``; None for another kind or an unknown id."""
    found_kind, ident = parse_gid(id)
    record = records.get(ident) if found_kind == kind else None
    return Obj(kind, record) if record else None


@resolves("QueryRoot.product")
def resolve_product(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    return _record_of_kind(id, "Product", ctx(info).shop.products)


@resolves("QueryRoot.collection")
def resolve_collection(source: Any, info: GraphQLResolveInfo, id: str) -> Obj | None:  # noqa: A002
    del source
    return _record_of_kind(id, "Collection", ctx(info).shop.collections)


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
