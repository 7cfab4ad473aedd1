"""Answering with a stored file: the bytes from local storage, or a redirect to a signed object-store URL."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from shop_app.errors import NotFound
from shop_app.storage import LocalStorage, Storage

logger = logging.getLogger(__name__)


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


def purge_files(storage: Storage, keys: list[str]) -> int:
    """Delete files a deleted job left without users (after the commit); a failure only wastes space."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception as err:  # the row is gone; a leftover file is only wasted space
            logger.warning("could not delete %s: %s", key, err)
    return len(keys)
