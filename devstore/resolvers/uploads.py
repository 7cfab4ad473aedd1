"""stagedUploadsCreate: signed upload targets for images, 3D models and files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from typing import Any

from graphql import GraphQLResolveInfo

from devstore.records import StagedUpload, to_iso
from devstore.resolvers.inputs import user_error
from devstore.resolvers.registry import ctx, resolves
from devstore.state import Store


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
