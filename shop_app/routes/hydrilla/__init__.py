"""Hydrilla's 3D generation platform APIs, as its frontend documentation describes them
(`../shared/seeds/002_09e9270de8f1f815.txt`): two API families over the one job core.

- `api3d`: the main API under /api/3d (bearer JWTs from the operator's identity provider).
- `backend`: the generation backend's form API (/image-to-3d, /text-to-3d, /text-to-image, /status, ...),
  at the root or under `NU3D_HYDRILLA_BACKEND_PREFIX`.

Both submit jobs as the `hydrilla` family, so a job made through either is visible through both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute

from shop_app.ratelimit import RateRule
from shop_app.routes.hydrilla import api3d, backend
from shop_app.routes.hydrilla.common import BACKEND_STATUS, FAMILY, NODE_STATUS, render_error
from shop_app.settings import Settings
from shop_app.web.family import ApiFamily, family_errors

_errors = family_errors(render_error)


def _backend_routes(settings: Settings) -> Sequence[BaseRoute]:
    return backend.routes_with(_errors, settings.hydrilla_backend_prefix)


def _rate_limit_body(message: str, retry_after: int) -> dict[str, Any]:
    return {"error": f"{message}; retry after {retry_after} s"}


def _text_rate_rules(settings: Settings) -> list[RateRule]:
    """Text routes are open and each call costs a paid image generation: a per-IP limit on both."""
    if not settings.rate_limit_text:
        return []
    prefix = settings.hydrilla_backend_prefix
    return [
        RateRule(
            f"hydrilla{path}", prefix + path, settings.rate_limit_text, per="ip", error_body=_rate_limit_body
        )
        for path in ("/text-to-image", "/text-to-3d")
    ]


# Hydrilla's one error body (both of its APIs), for the OpenAPI document.
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}

api3d_family = ApiFamily(
    name=FAMILY,
    prefix=api3d.PREFIX + "/",
    routes=api3d.routes_with(_errors),
    render_error=render_error,
    statuses=NODE_STATUS,
    error_schema=ERROR_SCHEMA,
)
backend_family = ApiFamily(
    name=FAMILY,
    prefix="/",
    routes_for=_backend_routes,
    render_error=render_error,
    statuses=BACKEND_STATUS,
    rate_rules=_text_rate_rules,
    error_schema=ERROR_SCHEMA,
)

__all__ = ["api3d_family", "backend_family"]
