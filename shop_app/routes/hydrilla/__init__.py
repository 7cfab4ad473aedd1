"""Hydrilla's 3D generation platform APIs, as its frontend documentation describes them
(`../shared/seeds/002_09e9270de8f1f815.txt`): two API families over the one job core.

- `api3d`: the main API under /api/3d (bearer JWTs from the operator's identity provider).
- `backend`: the generation backend's form API (/image-to-3d, /text-to-3d, /text-to-image, /status, ...),
  at the root or under `NU3D_HYDRILLA_BACKEND_PREFIX`.

Both submit jobs as the `hydrilla` family, so a job made through either is visible through both.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from shop_app.routes.hydrilla import api3d, backend
from shop_app.routes.hydrilla.common import BACKEND_STATUS, FAMILY, NODE_STATUS, render_error
from shop_app.settings import Settings
from shop_app.web.family import ApiFamily, family_errors

_errors = family_errors(render_error)


def _backend_routes(settings: Settings) -> Sequence[BaseRoute]:
    return backend.routes_with(_errors, settings.hydrilla_backend_prefix)


api3d_family = ApiFamily(
    name=FAMILY,
    prefix=api3d.PREFIX + "/",
    routes=api3d.routes_with(_errors),
    render_error=render_error,
    statuses=NODE_STATUS,
)
backend_family = ApiFamily(
    name=FAMILY,
    prefix="/",
    routes_for=_backend_routes,
    render_error=render_error,
    statuses=BACKEND_STATUS,
)

__all__ = ["api3d_family", "backend_family"]
