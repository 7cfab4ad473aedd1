"""Media: the MediaImage, Model3d and Image field resolvers, and creating media from a CreateMediaInput."""

from __future__ import annotations

import json
import struct
from datetime import timedelta
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from devstore.records import Media, Product, to_iso
from devstore.resolvers.inputs import given_fields
from devstore.resolvers.registry import RESOLVERS, Context, Obj, attr, ctx, gid

GLB_MAGIC = b"glTF"


def cdn_url(c: Context, media: Media, *, width: int | None = None, height: int | None = None) -> str:
    return c.store.media_url(media, width=width, height=height)


def _image_url(source: Obj, info: GraphQLResolveInfo, transform: dict[str, Any] | None = None) -> str:
    transform = transform or {}
    unsupported = given_fields("ImageTransformInput", transform) - {"maxWidth", "maxHeight"}
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


def _fail(media: Media, code: str, details: str, message: str) -> None:
    """Mark ``media`` FAILED with one media error, as Shopify reports a file it could not use."""
    media.final_status = "FAILED"
    media.errors = [{"code": code, "details": details, "message": message}]


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
            _fail(
                media,
                "IMAGE_DOWNLOAD_FAILURE",
                source,
                "Image could not be downloaded from the original source.",
            )
        else:
            from devstore.cdn import InvalidImage, image_info

            try:
                mime, width, height = image_info(data)
            except InvalidImage as exc:
                _fail(media, "UNSUPPORTED_IMAGE_FILE_TYPE", str(exc), "Image file type is not supported.")
            else:
                blob = c.store.put_blob(data, mime)
                media.blob_key, media.mime_type, media.width, media.height = blob.key, mime, width, height
                media.file_size, media.image_id = len(data), c.store.next_id()
    else:
        media.mime_type = "model/gltf-binary"
        media.processing_started_at = now + timedelta(seconds=c.config.media_processing_s / 2)
        media.processing_done_at = now + timedelta(seconds=c.config.media_processing_s)
        if data is None:
            _fail(
                media,
                "GENERIC_FILE_DOWNLOAD_FAILURE",
                source,
                "The file could not be downloaded: stage it with stagedUploadsCreate "
                "and upload it before attaching.",
            )
        else:
            problem = validate_glb(data, c.config.max_model3d_bytes)
            media.file_size = len(data)
            if problem:
                _fail(media, "MODEL3D_VALIDATION_ERROR", problem, "Model failed validation.")
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
