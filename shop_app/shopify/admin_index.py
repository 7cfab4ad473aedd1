"""The embedded admin's product index and summary: filtered, searched, sorted, keyset-paged in SQL.

A product's state comes from its current photos' generations and the merchant's decisions, so the filters
are EXISTS subqueries over product_image/job/approval and a page costs the same at 50 or 50,000 products.
A group of photos generated together shares one job and keeps its decision on the lead photo; "decided"
therefore means: some photo sharing the job carries an approved/rejected decision.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from shop_app.errors import ValidationError
from shop_app.jobs import stats as job_stats
from shop_app.models.core import Shop
from shop_app.models.jobs import FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.shopify import catalog

FILTERS = ("all", "needs_review", "generating", "approved", "published", "failed", "rejected", "no_model")
SORTS = ("newest", "oldest", "title", "title_desc")
MAX_LIMIT = 250


def _current_image_of_product() -> ColumnElement[bool]:
    return and_(ProductImage.product_id == Product.id, ProductImage.removed_at.is_(None))  # type: ignore[union-attr,arg-type]


def _job_status(*statuses: str) -> ColumnElement[bool]:
    return exists().where(
        _current_image_of_product(),
        col(Job.id) == col(ProductImage.job_id),
        Job.status.in_(statuses),  # type: ignore[attr-defined]
    )


def _decided(image: Any) -> ColumnElement[bool]:
    """Some photo sharing `image`'s job carries a decision (the group's lead)."""
    other = aliased(ProductImage)
    return exists().where(
        col(Approval.product_image_id) == col(other.id),
        other.job_id == image.job_id,
        other.product_id == image.product_id,
        Approval.status.in_(("approved", "rejected")),  # type: ignore[attr-defined]
    )


def _needs_review() -> ColumnElement[bool]:
    return exists().where(
        _current_image_of_product(),
        col(Job.id) == col(ProductImage.job_id),
        col(Job.status) == SUCCEEDED,
        ~_decided(ProductImage),
    )


def _approval(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        _current_image_of_product(), col(Approval.product_image_id) == col(ProductImage.id), *conditions
    )


def _filter_clause(name: str) -> ColumnElement[bool] | None:
    if name == "needs_review":
        return _needs_review()
    if name == "generating":
        return _job_status(QUEUED, RUNNING)
    if name == "failed":
        return _job_status(FAILED)
    if name == "approved":  # approved, not yet on the product
        return _approval(
            col(Approval.status) == "approved",
            or_(col(Approval.publish_status).is_(None), col(Approval.publish_status) != "published"),
        )
    if name == "published":
        return _approval(col(Approval.publish_status) == "published")
    if name == "rejected":
        return _approval(col(Approval.status) == "rejected")
    if name == "no_model":
        return ~exists().where(_current_image_of_product(), ProductImage.job_id.is_not(None))  # type: ignore[union-attr]
    return None


# ------------------------------------------------------------------------------------------ cursor paging


def _sort_key(sort: str) -> Any:
    if sort in ("title", "title_desc"):
        return func.lower(Product.title)
    return func.coalesce(Product.shopify_created_at, Product.created_at)


def encode_cursor(sort: str, product: Product) -> str:
    value: Any = (
        (product.title or "").lower()
        if sort in ("title", "title_desc")
        else (product.shopify_created_at or product.created_at).isoformat()
    )
    raw = json.dumps([sort, value, product.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    bad = ValidationError(
        "cursor is not one this app handed out (or belongs to another sort order); start from the first page",
        details={"field": "cursor"},
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cur_sort, value, last_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise bad from None
    if cur_sort != sort or not isinstance(last_id, int) or not isinstance(value, str):
        raise bad
    if sort in ("newest", "oldest"):
        try:
            return datetime.fromisoformat(value), last_id
        except ValueError:
            raise bad from None
    return value, last_id


@dataclass
class IndexQuery:
    filter: str = "all"
    q: str = ""
    sort: str = "newest"
    cursor: str | None = None
    limit: int = 50

    @classmethod
    def parse(cls, params: dict[str, str]) -> IndexQuery:
        filter_ = params.get("filter") or "all"
        if filter_ not in FILTERS:
            raise ValidationError(f"filter must be one of {', '.join(FILTERS)}", details={"field": "filter"})
        sort = params.get("sort") or "newest"
        if sort not in SORTS:
            raise ValidationError(f"sort must be one of {', '.join(SORTS)}", details={"field": "sort"})
        raw_limit = params.get("limit") or "50"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationError(
                f"limit must be an integer from 1 to {MAX_LIMIT}", details={"field": "limit"}
            )
        q = (params.get("q") or "").strip()
        if len(q) > 255:
            raise ValidationError("search text is longer than 255 characters", details={"field": "q"})
        return cls(filter=filter_, q=q, sort=sort, cursor=params.get("cursor") or None, limit=int(raw_limit))


def _base_query(shop: Shop, query: IndexQuery) -> Any:
    stmt = select(Product).where(Product.shop_id == shop.id, Product.deleted_at.is_(None))  # type: ignore[union-attr]
    clause = _filter_clause(query.filter)
    if clause is not None:
        stmt = stmt.where(clause)
    if query.q:
        escaped = query.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(Product.title).like(f"%{escaped}%", escape="\\"))
    return stmt


def list_index(
    *, session: Session, shop: Shop, query: IndexQuery
) -> tuple[list[catalog.ProductView], str | None]:
    """One page of the index and the cursor of the next page (None on the last page)."""
    key = _sort_key(query.sort)
    descending = query.sort in ("newest", "title_desc")
    stmt = _base_query(shop, query)
    if query.cursor:
        value, last_id = decode_cursor(query.sort, query.cursor)
        if descending:
            stmt = stmt.where(or_(key < value, and_(key == value, col(Product.id) < last_id)))
        else:
            stmt = stmt.where(or_(key > value, and_(key == value, col(Product.id) > last_id)))
    order = (key.desc(), Product.id.desc()) if descending else (key.asc(), Product.id.asc())  # type: ignore[union-attr]
    rows = list(session.exec(stmt.order_by(*order).limit(query.limit + 1)).all())
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    views = catalog.views_of(session=session, shop=shop, products=rows)
    return views, (encode_cursor(query.sort, rows[-1]) if more and rows else None)


def count_index(*, session: Session, shop: Shop, query: IndexQuery) -> int:
    sub = _base_query(shop, query).subquery()
    return int(session.exec(select(func.count()).select_from(sub)).one())


# ------------------------------------------------------------------------------------------ summary


def _distinct_jobs(shop: Shop, *conditions: ColumnElement[bool]) -> Any:
    return (
        select(func.count(func.distinct(ProductImage.job_id)))
        .join(Job, Job.id == ProductImage.job_id)  # type: ignore[arg-type]
        .join(Product, Product.id == ProductImage.product_id)  # type: ignore[arg-type]
        .where(
            ProductImage.shop_id == shop.id,
            ProductImage.removed_at.is_(None),  # type: ignore[union-attr]
            Product.deleted_at.is_(None),  # type: ignore[union-attr]
            *conditions,
        )
    )


def summary(*, session: Session, shop: Shop) -> dict[str, Any]:
    """Counts of models by what the merchant can do about them, plus the shop's place in the queue."""

    def count(stmt: Any) -> int:
        return int(session.exec(stmt).one())

    ready = count(_distinct_jobs(shop, col(Job.status) == SUCCEEDED, ~_decided(ProductImage)))
    queued = count(_distinct_jobs(shop, col(Job.status) == QUEUED))
    running = count(_distinct_jobs(shop, col(Job.status) == RUNNING))
    failed = count(_distinct_jobs(shop, col(Job.status) == FAILED))
    approvals = dict(
        session.exec(
            select(func.coalesce(Approval.publish_status, Approval.status), func.count())
            .where(Approval.shop_id == shop.id)
            .group_by(func.coalesce(Approval.publish_status, Approval.status))
        ).all()
    )
    products = count(
        select(func.count())
        .select_from(Product)
        .where(Product.shop_id == shop.id, Product.deleted_at.is_(None))  # type: ignore[union-attr]
    )
    # the shop's last queued job: its position and ETA bound when everything of the shop is done
    last = session.exec(
        select(Job)
        .where(Job.shop_id == shop.id, Job.status.in_((QUEUED, RUNNING)))  # type: ignore[attr-defined]
        .order_by(Job.status.desc(), Job.priority.asc(), Job.created_at.desc(), Job.id.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    first_queued = session.exec(
        select(Job)
        .where(Job.shop_id == shop.id, Job.status == QUEUED)
        .order_by(Job.priority.desc(), Job.created_at.asc(), Job.id.asc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()
    eta = job_stats.estimate(session, last) if last is not None else None
    position = job_stats.queue_position(session, first_queued) if first_queued is not None else None
    return {
        "products": products,
        "ready_for_review": ready,
        "generating": queued + running,
        "queued": queued,
        "running": running,
        "published": int(approvals.get("published", 0)),
        "publishing": int(approvals.get("pending", 0)) + int(approvals.get("processing", 0)),
        "publish_failed": int(approvals.get("failed", 0)),
        "rejected": int(approvals.get("rejected", 0)),
        "failed": failed,
        "queue": {
            "next_position": position,  # jobs of any shop ahead of this shop's next one
            "eta_s": None if eta is None or eta.eta_s is None else round(eta.eta_s, 1),
            "live_workers": eta.live_workers if eta else None,
            "average_s": None if eta is None or eta.ewma_s is None else round(eta.ewma_s, 1),
        },
    }
