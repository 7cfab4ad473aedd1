"""The resolver table and what every resolver shares: the request context, wrapped records, global ids.

Resolvers are keyed by ``"Type.field"``. A field that is valid in Shopify's schema but has no resolver here
raises :class:`NotImplementedField`, which the client sees as an error naming the field (never a silent null).
Value objects (connections, page info, user errors) are plain dicts and resolve by key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from devstore.config import DevstoreConfig
from devstore.records import AccessToken, Media, Shop
from devstore.state import Store

GID_RE = re.compile(r"^gid://shopify/(?P<type>[A-Za-z0-9]+)/(?P<id>\d+)(?:\?.*)?$")


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
