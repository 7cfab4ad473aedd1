"""Tables behind GET /api/nu3d and catalogue backfills.

- `product_model_cache`: one finished product's answer (every image done, at least one model), keyed by
  shop + product; served as is (`cached: true`) until the product's images, models or approvals change.
- `backfill`: one merchant-requested pass over all active products (or one collection) of a shop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shop_app.models.base import created_at_field, optional_time_field


class ProductModelCache(SQLModel, table=True):
    __tablename__ = "product_model_cache"
    __table_args__ = (UniqueConstraint("shop_id", "product_id", name="uq_product_model_cache_shop_product"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", index=True)
    product_id: int = Field(foreign_key="product.id", ondelete="CASCADE", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = created_at_field()


# status: running → finished | failed. `mode` is "paging" (small shops) or "bulk" (bulkOperationRunQuery).
class Backfill(SQLModel, table=True):
    __tablename__ = "backfill"

    id: str = Field(primary_key=True, max_length=40)
    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", index=True)
    status: str = Field(default="running", max_length=16, index=True)
    mode: str = Field(default="paging", max_length=16)
    collection_id: str | None = Field(default=None, max_length=128)
    cursor: str | None = Field(default=None, max_length=1024)
    bulk_operation_id: str | None = Field(default=None, max_length=128)
    products_seen: int = Field(default=0)
    images_queued: int = Field(default=0)
    error: str | None = Field(default=None, max_length=1024)
    requested_by: str | None = Field(default=None, max_length=128)
    started_at: datetime = created_at_field()
    finished_at: datetime | None = optional_time_field()
