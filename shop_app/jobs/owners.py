"""Who owns a job, as a type, and the one ownership check.

- `ApiKeyOwner`: a job API key (an admin key sees every job).
- `PrincipalOwner`: a principal of one API family that is not an API key: a JWT subject, a seed-000 session.
  `subject=None` is the family's shared space (seed 000's storefront API: anyone on it sees its jobs).
- `ShopOwner`: a Shopify shop (the embedded app's own jobs).

Families build an owner from their auth and pass it to the core; the core stamps new jobs with it, filters
lists by it, and answers `JobNotFound` for a job the owner may not see.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, false, true
from sqlmodel import col

from shop_app.models.jobs import Job

if TYPE_CHECKING:
    from shop_app.jobs.views import JobView


@dataclass(frozen=True)
class ApiKeyOwner:
    api_key_id: int
    shop_id: int | None = None
    admin: bool = False


@dataclass(frozen=True)
class PrincipalOwner:
    family: str
    subject: str | None = None


@dataclass(frozen=True)
class ShopOwner:
    shop_id: int


Owner = ApiKeyOwner | PrincipalOwner | ShopOwner


def owns(owner: Owner, job: Job | JobView) -> bool:
    """May `owner` see and change `job`? The only ownership rule; `owner_clause` is the same rule in SQL."""
    match owner:
        case ApiKeyOwner(admin=True):
            return True
        case ApiKeyOwner(api_key_id=key_id):
            return job.api_key_id == key_id
        case PrincipalOwner(family=family, subject=None):
            return job.family == family
        case PrincipalOwner(family=family, subject=subject):
            return job.family == family and job.principal == subject
        case ShopOwner(shop_id=shop_id):
            return job.shop_id == shop_id
    return False


def owner_clause(owner: Owner) -> ColumnElement[bool]:
    match owner:
        case ApiKeyOwner(admin=True):
            return true()
        case ApiKeyOwner(api_key_id=key_id):
            return col(Job.api_key_id) == key_id
        case PrincipalOwner(family=family, subject=None):
            return col(Job.family) == family
        case PrincipalOwner(family=family, subject=subject):
            return and_(col(Job.family) == family, col(Job.principal) == subject)
        case ShopOwner(shop_id=shop_id):
            return col(Job.shop_id) == shop_id
    return false()


def owner_columns(owner: Owner) -> dict[str, Any]:
    """The job columns that record `owner` on a new job (the family column comes from the request)."""
    match owner:
        case ApiKeyOwner(api_key_id=key_id, shop_id=shop_id):
            return {"api_key_id": key_id, "shop_id": shop_id}
        case PrincipalOwner(subject=subject):
            return {"principal": subject}
        case ShopOwner(shop_id=shop_id):
            return {"shop_id": shop_id}
    raise TypeError(f"not an owner: {owner!r}")


def idempotency_scope(owner: Owner) -> str:
    """The namespace an Idempotency-Key is unique in (at most 64 characters, the column's width)."""
    match owner:
        case ApiKeyOwner(api_key_id=key_id):
            return f"api_key:{key_id}"
        case ShopOwner(shop_id=shop_id):
            return f"shop:{shop_id}"
        case PrincipalOwner(family=family, subject=None):
            return f"anon:{family}"[:64]
        case PrincipalOwner(family=family, subject=subject):
            digest = hashlib.sha256(f"{family}\n{subject}".encode()).hexdigest()[:40]
            return f"principal:{digest}"
    raise TypeError(f"not an owner: {owner!r}")
