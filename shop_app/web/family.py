"""An API family: one client-facing API over the job core (our /api/v1, seed 000's /store/threed-jobs, ...).

How to add an API family
------------------------
1. One new module (or package) under `shop_app/routes/`, named by what it serves (`image2model`, not a
   seed number). It parses requests into core calls (`shop_app.jobs.submit/queries/commands/stats/results`)
   and renders the family's own bodies; it never sets job columns itself. At its end it builds
   `family = ApiFamily(...)`: its name (stored on every job it submits, `SubmitRequest.family`), its path
   prefix, its routes, its error renderer, its status vocabulary, its rate rules (a function of settings),
   and any readiness checks.
2. One list entry in `shop_app/app.py` (`FAMILIES`). Order matters only where prefixes nest: a family whose
   paths sit under another's prefix comes first, so its routes and rate rules match first.
3. Its tests under `tests/<family>/`, replaying the family's documented examples over HTTP against a running
   app and worker (see `tests/jobs/conftest.py`), reaching every documented status and error code.

Auth: families on our API keys call `shop_app.web.auth.api_key_owner`; others build a
`shop_app.jobs.owners.PrincipalOwner` from their own credentials (a JWT subject, a session).
Errors: raise `shop_app.errors.AppError` subclasses; `ApiFamily.endpoint` renders every error raised inside
the family's endpoints (including Starlette's HTTP errors and unhandled exceptions) with `render_error`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.errors import AppError
from shop_app.ratelimit import RateRule
from shop_app.request_context import current_request_id
from shop_app.settings import Settings
from shop_app.web.body_limit import BodyRule
from shop_app.web.errors import http_error_code, log_app_error
from shop_app.web.state import ReadinessCheck

logger = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorRenderer = Callable[[AppError], Response]


def default_error_response(err: AppError) -> Response:
    """`{"detail": {"code", "message", "details"}}` (our /api/v1 shape, also seed 003's)."""
    return JSONResponse(err.body(), status_code=err.status_code, headers=err.headers)


def no_rate_rules(_settings: Settings) -> list[RateRule]:
    return []


@dataclass(frozen=True)
class ApiFamily:
    """name: short, stored on the family's jobs (`job.family`); prefix: where its paths start (docs, 404s);
    routes: its Starlette routes; render_error: its error body; statuses: core status -> its word;
    rate_rules: its limits from settings; readiness: extra checks for /health/ready; body_limits: its upload
    endpoints' body sizes (every other request body is held to 1 MB, multipart to 4 images' worth);
    error_schema: the JSON schema of its error bodies, for the OpenAPI document;
    routes_for: instead of fixed `routes`, a function of settings (a family whose mount point is a setting)."""

    name: str
    prefix: str
    routes: Sequence[BaseRoute] = ()
    render_error: ErrorRenderer = default_error_response
    statuses: Mapping[str, str] = field(default_factory=dict)
    rate_rules: Callable[[Settings], list[RateRule]] = no_rate_rules
    readiness: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    routes_for: Callable[[Settings], Sequence[BaseRoute]] | None = None
    body_limits: Sequence[BodyRule] = ()
    # The JSON schema of render_error's bodies when they are not the default `{"detail": ...}` shape
    # (the OpenAPI document declares it as this family's error answers).
    error_schema: Mapping[str, Any] | None = None

    def status(self, core_status: str) -> str:
        return self.statuses.get(core_status, core_status)

    def mounted_routes(self, settings: Settings) -> Sequence[BaseRoute]:
        return self.routes_for(settings) if self.routes_for is not None else self.routes


def family_errors(render: ErrorRenderer) -> Callable[[Endpoint], Endpoint]:
    """Wrap an endpoint so every error it raises answers in the family's shape (`render`), including the
    ones the shared handlers would answer in the default shape: a stray HTTPException and an unhandled
    exception (500, with the request id)."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapped(request: Request) -> Response:
            try:
                return await endpoint(request)
            except AppError as err:
                log_app_error(request, err)
                return render(err)
            except HTTPException as err:
                return render(
                    AppError(
                        str(err.detail),
                        code=http_error_code(err.status_code),
                        status_code=err.status_code,
                        headers=dict(err.headers or {}),
                    )
                )
            except Exception:
                logger.exception("unhandled error on %s %s", request.method, request.url.path)
                return render(
                    AppError(
                        "Internal server error; quote this request id when reporting it.",
                        code="INTERNAL_ERROR",
                        status_code=500,
                        details={"request_id": current_request_id()},
                    )
                )

        return wrapped

    return decorate


def path_owner(families: Sequence[ApiFamily], settings: Settings) -> Callable[[str], ApiFamily | None]:
    """The family a path belongs to: the first whose routes match it, else the first whose prefix (other than
    the root) it is under, else None. For what the app answers outside the routes (a 413, the OpenAPI
    document's error shapes). Prefixes nest (/api/ holds /api/v1 and /api/nu3d), so routes decide first."""
    routes = [
        (family, [r for r in family.mounted_routes(settings) if isinstance(r, Route)]) for family in families
    ]

    def owner(path: str) -> ApiFamily | None:
        for family, family_routes in routes:
            if any(route.path_regex.match(path) for route in family_routes):
                return family
        for family in families:
            if family.prefix.strip("/") and path.startswith(family.prefix):
                return family
        return None

    return owner
