"""Product and file mutations: productUpdate (fields and media), fileUpdate, fileDelete."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from devstore.records import Media
from devstore.resolvers.inputs import given_fields, user_error
from devstore.resolvers.media import create_media_from_source
from devstore.resolvers.registry import Obj, ctx, media_typename, parse_gid, resolves

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
    unsupported = given_fields("ProductUpdateInput", product_input) - set(PRODUCT_UPDATE_FIELDS)
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
        unsupported = given_fields("FileUpdateInput", item) - {
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
