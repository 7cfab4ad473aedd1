"""Serves local-storage files behind expiring HMAC-signed URLs (S3 deployments use presigned URLs instead)."""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.errors import Forbidden, NotFound
from shop_app.storage import LocalStorage, ObjectNotFound, validate_key


async def serve_file(request: Request) -> Response:
    """A stored file, if the URL's signature is valid and not expired.
    ---
    parameters:
      - {name: key, in: path, required: true, schema: {type: string}}
      - {name: expires, in: query, required: true, schema: {type: integer}}
      - {name: sig, in: query, required: true, schema: {type: string}}
    responses:
      200: {description: the file}
      403: {description: missing, invalid or expired signature}
      404: {description: no such file}
    """
    storage = request.state.storage
    key = request.path_params["key"]
    if not isinstance(storage, LocalStorage):
        raise NotFound("files are served from object storage in this deployment")
    try:
        validate_key(key)
    except ObjectNotFound:
        raise NotFound("no such file") from None
    if not storage.verify(key, request.query_params.get("expires"), request.query_params.get("sig")):
        raise Forbidden(
            "this file link is invalid or has expired; ask for a fresh link", code="INVALID_SIGNATURE"
        )
    path = storage.path_for(key)
    if not path.is_file():
        raise NotFound("no such file")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".glb":
        media_type = "model/gltf-binary"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


routes: list[BaseRoute] = [Route("/files/{key:path}", serve_file, methods=["GET", "HEAD"])]
