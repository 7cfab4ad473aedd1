"""Files over HTTP: the CDN (with width/height transforms) and the staged-upload targets (POST and PUT)."""

from __future__ import annotations

import hashlib
import html

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from devstore.cdn import InvalidImage, parse_dimension, transform_image
from devstore.http_common import base_url, store_of
from devstore.resolvers import staged_signature


async def cdn_file(request: Request) -> Response:
    store = store_of(request)
    blob = store.blobs.get(request.path_params["key"])
    if blob is None:
        return JSONResponse({"error": "file not found"}, status_code=404)
    try:
        width = parse_dimension("width", request.query_params.get("width"))
        height = parse_dimension("height", request.query_params.get("height"))
    except InvalidImage as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    data = blob.data
    if (width or height) and blob.content_type.startswith("image/"):
        data = await run_in_threadpool(transform_image, blob.data, blob.content_type, width, height)
    etag = hashlib.sha256(data).hexdigest()[:32]
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304)
    return Response(
        data,
        media_type=blob.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable"
            if request.query_params.get("v")
            else "public, max-age=300",
            "ETag": f'"{etag}"',
        },
    )


def _gcs_error(code: str, message: str, status: int) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{html.escape(message)}</Message></Error>"
    return Response(body, status_code=status, media_type="application/xml")


def _accept_upload(request: Request, key: str, data: bytes, content_type: str | None) -> Response | None:
    store = store_of(request)
    staged = store.staged.get(key)
    if staged is None:
        return _gcs_error("NoSuchUpload", f"No staged upload target for key {key}", 404)
    if staged.expires_at <= store.now():
        return _gcs_error("ExpiredToken", "The staged upload target has expired.", 400)
    limit = (
        staged.file_size
        if staged.file_size is not None
        else (
            request.app.state.config.max_model3d_bytes
            if staged.resource == "MODEL_3D"
            else request.app.state.config.max_image_bytes
        )
    )
    if len(data) > limit:
        return _gcs_error(
            "EntityTooLarge",
            f"Your proposed upload is larger than the maximum object size "
            f"specified in your Policy Document ({len(data)} > {limit} bytes).",
            400,
        )
    if content_type is not None and content_type != staged.mime_type:
        return _gcs_error(
            "InvalidPolicyDocument",
            f"Content-Type {content_type!r} does not match the policy ({staged.mime_type!r}).",
            400,
        )
    with store.lock:
        staged.data = data
    return None


async def staged_upload_post(request: Request) -> Response:
    store = store_of(request)
    if store.take_fault("staged_upload"):
        # what Google Cloud Storage answers when it is briefly unavailable
        return _gcs_error("ServiceUnavailable", "We encountered an internal error. Please try again.", 503)
    form = await request.form(max_part_size=request.app.state.config.max_model3d_bytes + 1)
    try:
        items = list(form.multi_items())
        if not items or items[-1][0] != "file" or not isinstance(items[-1][1], UploadFile):
            return _gcs_error(
                "InvalidArgument", "The file must be the last field of the form, named 'file'.", 400
            )
        fields = {k: v for k, v in items[:-1] if isinstance(v, str)}
        key = fields.get("key", "")
        staged = store.staged.get(key)
        if staged is None:
            return _gcs_error("NoSuchUpload", f"No staged upload target for key {key!r}", 404)
        expected = staged_signature(store.staged_secret, key)
        if (
            not fields.get("x-goog-signature")
            or fields["x-goog-signature"] != expected
            or not fields.get("policy")
        ):
            return _gcs_error("AccessDenied", "Invalid signature or missing policy for this key.", 403)
        upload: UploadFile = items[-1][1]  # type: ignore[assignment]
        data = await upload.read()
        problem = _accept_upload(request, key, data, fields.get("Content-Type"))
        if problem is not None:
            return problem
    finally:
        await form.close()
    location = f"{base_url(request)}/staged-uploads/{key}"
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><PostResponse><Location>{html.escape(location)}</Location>"
        f"<Bucket>devstore-staged-uploads</Bucket><Key>{html.escape(key)}</Key>"
        f'<ETag>"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"</ETag></PostResponse>'
    )
    status = 201 if fields.get("success_action_status") == "201" else 204
    return Response(body if status == 201 else b"", status_code=status, media_type="application/xml")


async def staged_upload_put(request: Request) -> Response:
    store = store_of(request)
    key = request.path_params["key"]
    if request.query_params.get("X-Goog-Signature") != staged_signature(store.staged_secret, key):
        return _gcs_error("AccessDenied", "Invalid signature for this key.", 403)
    data = await request.body()
    problem = _accept_upload(request, key, data, request.headers.get("content-type"))
    return problem or Response(status_code=200)


# CDN files and staged-upload targets
routes: list[BaseRoute] = [
    Route("/cdn/shop/files/{key}/{filename:path}", cdn_file, methods=["GET", "HEAD"]),
    Route("/staged-uploads/", staged_upload_post, methods=["POST"]),
    Route("/staged-uploads/{key:path}", staged_upload_put, methods=["PUT"]),
]
