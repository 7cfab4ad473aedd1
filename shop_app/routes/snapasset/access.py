"""Who is calling SnapAsset (a JWT subject or an API key) and the small request helpers its endpoints share."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from shop_app.apikeys import KEY_PREFIX
from shop_app.auth_jwt import KeySetUnavailable, TokenRejected, bearer_token
from shop_app.errors import AppError
from shop_app.jobs.errors import JobNotFound
from shop_app.jobs.owners import Owner, PrincipalOwner
from shop_app.jobs.queries import get_owned
from shop_app.models.jobs import Job
from shop_app.web.auth import api_key_owner
from shop_app.web.db import in_db
from shop_app.web.json_body import strict_loads
from shop_app.web.state import app_state

from .wire import (
    FAMILY,
    SnapAssetError,
    invalid,
    not_found,
)


def unauthorized(message: str) -> SnapAssetError:
    return SnapAssetError(message, code="UNAUTHORIZED", status_code=401)


def owner_in(session: Session, request: Request, *, required: bool = True) -> Owner | None:
    """The caller (run in a worker thread, inside the endpoint's own transaction: one hop per request): an
    API key's owner, or a JWT subject in this family's space. None only when not `required`."""
    api_key = request.headers.get("x-api-key")
    token = bearer_token(request.headers.get("authorization"))
    if api_key or (token and token.startswith(KEY_PREFIX)):
        try:
            return api_key_owner(session, request)
        except AppError as err:
            raise unauthorized(f"Invalid API key: {err.message}") from None
    if token:
        verifier = app_state(request).jwt_verifier
        if verifier is None:
            raise unauthorized(
                "Bearer tokens cannot be checked: the operator has not configured NU3D_JWT_JWKS_URL or "
                "NU3D_JWT_HS256_SECRET; use an X-API-Key instead"
            )
        try:
            principal = verifier.verify(token)
        except TokenRejected as err:
            raise unauthorized(f"Invalid token: {err.message}") from None
        except KeySetUnavailable as err:
            raise SnapAssetError(
                f"Tokens cannot be verified right now: {err}", code="INTERNAL_ERROR", status_code=503
            ) from None
        return PrincipalOwner(family=FAMILY, subject=principal.subject)
    if not required:
        return None
    raise unauthorized("Authentication required: send Authorization: Bearer <JWT> or X-API-Key: <key>")


def must_own(session: Session, request: Request) -> Owner:
    owner = owner_in(session, request)
    assert owner is not None  # noqa: S101 - required=True raised otherwise
    return owner


async def caller(request: Request) -> Owner:
    """The caller, resolved before a write transaction (a JWK Set fetch must not hold the write lock)."""
    return await in_db(request, lambda session: must_own(session, request))


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return strict_loads(raw)
    except ValueError:
        raise invalid("The request body is not valid JSON") from None


def owned(session: Session, owner: Owner, job_id: str) -> Job:
    try:
        return get_owned(session, owner, job_id, family=FAMILY)
    except JobNotFound:
        raise not_found(job_id) from None
