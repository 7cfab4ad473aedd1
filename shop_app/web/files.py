"""Answering with a stored file: the bytes from local storage, or a redirect to a signed object-store URL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from shop_app.errors import NotFound
from shop_app.storage import LocalStorage


def stored_file_response(
    request: Request, key: str, *, filename: str, media_type: str = "model/gltf-binary"
) -> Response:
    storage = request.state.storage
    if isinstance(storage, LocalStorage):
        path = storage.path_for(key)
        if not path.is_file():
            raise NotFound("the model file is missing from storage", code="FILE_MISSING")
        return FileResponse(path, media_type=media_type, filename=filename)
    return RedirectResponse(storage.url(key), status_code=302)
