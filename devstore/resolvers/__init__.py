"""Resolvers for the part of Shopify's Admin schema the devstore executes.

Importing this package fills :data:`RESOLVERS`: each module registers the ``"Type.field"`` keys it serves.
registry (the table, context, ids), paging (connections), queries (QueryRoot), objects (Shop, Product,
ProductVariant), media (MediaImage, Model3d, Image), uploads (stagedUploadsCreate), mutations (productUpdate,
fileUpdate, fileDelete).
"""

# the resolver modules register their keys as they are imported
from devstore.resolvers import media, mutations, objects, queries, uploads
from devstore.resolvers.paging import BULK_EXECUTION
from devstore.resolvers.registry import (
    RESOLVERS,
    Context,
    NotImplementedField,
    Obj,
    ctx,
    field_resolver,
    gid,
    resolves,
    type_resolver,
)
from devstore.resolvers.uploads import staged_signature

__all__ = [
    "BULK_EXECUTION",
    "RESOLVERS",
    "Context",
    "NotImplementedField",
    "Obj",
    "ctx",
    "field_resolver",
    "gid",
    "media",
    "mutations",
    "objects",
    "queries",
    "resolves",
    "staged_signature",
    "type_resolver",
    "uploads",
]
