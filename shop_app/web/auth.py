"""API-key auth for the families that use our keys: the presented key, and the owner it stands for."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from shop_app.apikeys import authenticate, is_admin
from shop_app.errors import RateLimited
from shop_app.jobs.owners import ApiKeyOwner
from shop_app.jobs.submit import active_job_count
from shop_app.models import ApiKey


def check_active_cap(
    request: Request,
    session: Session,
    owner: ApiKeyOwner,
    *,
    adding: int = 1,
    code: str = "TOO_MANY_ACTIVE_JOBS",
) -> None:
    """429 (`code`) when the key would have more unfinished jobs than NU3D_JOB_MAX_ACTIVE_PER_KEY."""
    cap = request.state.settings.job_max_active_per_key
    active = active_job_count(session, owner=owner)
    if active + adding > cap:
        adds = f"; these {adding} new jobs would make {active + adding}" if adding > 1 else ""
        raise RateLimited(
            f"this API key has {active} unfinished jobs{adds}; the limit is {cap}. Wait for some to finish.",
            code=code,
            details={"active_jobs": active, "limit": cap},
            headers={"Retry-After": "10"},
        )


def presented_key(request: Request) -> str | None:
    """`X-API-Key: <key>` or `Authorization: Bearer <key>`."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def key_owner(key: ApiKey) -> ApiKeyOwner:
    assert key.id is not None  # noqa: S101 - a stored key
    return ApiKeyOwner(api_key_id=key.id, shop_id=key.shop_id, admin=is_admin(key))


def api_key_owner(session: Session, request: Request, *, scope: str = "jobs") -> ApiKeyOwner:
    """The owner behind the request's API key (raises AuthenticationRequired / Forbidden, see apikeys)."""
    return key_owner(authenticate(session, presented_key(request), scope=scope))
