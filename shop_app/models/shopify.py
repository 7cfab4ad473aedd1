"""Shopify mirror tables: products and their images as we last saw them, webhook deliveries, scan state.

Every row that belongs to a shop carries `shop_id` (cascade on delete), and every query filters by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shop_app.models.base import UTCDateTime, created_at_field, optional_time_field, utcnow


# A Shopify product of an installed shop. `shopify_updated_at` orders webhook deliveries that arrive late.
class Product(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("shop_id", "gid", name="uq_product_shop_gid"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", index=True)
    gid: str = Field(max_length=128)  # gid://shopify/Product/<id>
    title: str = Field(default="", max_length=512)
    handle: str = Field(default="", max_length=512)
    status: str = Field(default="ACTIVE", max_length=16)  # ACTIVE | DRAFT | ARCHIVED | UNLISTED
    vendor: str | None = Field(default=None, max_length=255)
    product_type: str | None = Field(default=None, max_length=255)
    # what GET /api/nu3d answers beyond the columns above: description (plain text), tags, variants
    # ([{gid, title, sku, price, available_for_sale, image_gids}]), as the last webhook or scan saw them
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    shopify_created_at: datetime | None = optional_time_field()
    shopify_updated_at: datetime | None = optional_time_field()
    deleted_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# One product photo. `content_version` changes when the photo's bytes change (Shopify's ?v= on the URL);
# `job_version` is the content_version a generation was queued for, so only new content is queued again.
class ProductImage(SQLModel, table=True):
    __tablename__ = "product_image"
    __table_args__ = (UniqueConstraint("shop_id", "gid", name="uq_product_image_shop_gid"),)

    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", index=True)
    product_id: int = Field(foreign_key="product.id", ondelete="CASCADE", index=True)
    gid: str = Field(max_length=128)  # gid://shopify/ProductImage/<id>
    media_gid: str | None = Field(default=None, max_length=128)  # gid://shopify/MediaImage/<id>
    url: str = Field(max_length=2048)  # as Shopify serves it, with its ?v= version
    content_version: str = Field(max_length=128)
    position: int = Field(default=0)
    alt: str | None = Field(default=None, max_length=512)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    removed_at: datetime | None = optional_time_field()
    job_id: str | None = Field(
        default=None, max_length=40, foreign_key="job.id", ondelete="SET NULL", index=True
    )
    job_version: str | None = Field(default=None, max_length=128)
    enqueued_at: datetime | None = optional_time_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# The webhook inbox: one row per accepted delivery, written by the web process (one INSERT, then the 200) and
# processed afterwards by the scheduler, exactly once (the effects and status="done" commit together), in
# receipt order per `order_key` (a product, or the shop for shop-level topics), retried with backoff on
# failure and left status="failed" with `last_error` after the last attempt.
# The unique (shop, event id) makes Shopify's retries no-ops; the unique (shop, topic, body hash) does the
# same for a signed body replayed with fresh ids. Keyed by the shop's domain, not shop_id: compliance
# webhooks may name a shop we hold no row for.
class WebhookEvent(SQLModel, table=True):
    __tablename__ = "webhook_event"
    __table_args__ = (
        UniqueConstraint("shop_domain", "event_id", name="uq_webhook_event_shop_event"),
        UniqueConstraint("shop_domain", "topic", "body_sha256", name="uq_webhook_event_shop_body"),
        Index("ix_webhook_event_status_id", "status", "id"),
        # The claim walks the pending rows in id order (webhooks.inbox_claim): only they are in this index, so the
        # walk never steps over processed rows, whatever the planner's statistics say.
        Index(
            "ix_webhook_event_pending",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    shop_domain: str = Field(max_length=255, index=True)
    event_id: str = Field(max_length=255)
    webhook_id: str = Field(max_length=255)
    topic: str = Field(max_length=64)
    api_version: str | None = Field(default=None, max_length=16)
    triggered_at: datetime | None = optional_time_field()
    outcome: str = Field(default="", max_length=64)
    received_at: datetime = created_at_field()
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    order_key: str = Field(default="", max_length=160)
    body: str | None = Field(default=None, sa_type=Text)  # the raw JSON body, as signed
    body_sha256: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = optional_time_field()
    last_error: str | None = Field(default=None, max_length=1024)
    processed_at: datetime | None = optional_time_field()


# Where the periodic product scan of a shop stands: products created at or after `watermark` are (re)read,
# and products updated at or after `updated_watermark` are reconciled (updates whose webhook was lost);
# `cursor` resumes a pass that stopped mid-way, valid only for the search string in `cursor_query`.
class ScanState(SQLModel, table=True):
    __tablename__ = "scan_state"

    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", primary_key=True)
    watermark: datetime | None = optional_time_field()
    updated_watermark: datetime | None = optional_time_field()
    cursor: str | None = Field(default=None, max_length=1024)
    cursor_query: str | None = Field(default=None, max_length=512)
    last_started_at: datetime | None = optional_time_field()
    last_finished_at: datetime | None = optional_time_field()
    last_error: str | None = Field(default=None, max_length=1024)
    products_seen: int = Field(default=0)


# The merchant's decision on one photo's 3D model, and where publishing it to Shopify stands.
# publish_status: pending (approved, not yet sent) → processing (attached, Shopify converting) → published |
# failed; unpublish_pending when an approval is withdrawn or rejected after publishing.
class Approval(SQLModel, table=True):
    __tablename__ = "approval"

    id: int | None = Field(default=None, primary_key=True)
    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", index=True)
    product_image_id: int = Field(foreign_key="product_image.id", ondelete="CASCADE", unique=True)
    job_id: str | None = Field(default=None, max_length=40, foreign_key="job.id", ondelete="SET NULL")
    status: str = Field(max_length=16)  # approved | rejected
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime = created_at_field()
    publish_status: str | None = Field(default=None, max_length=32, index=True)
    media_gid: str | None = Field(default=None, max_length=128)  # gid://shopify/Model3d/<id>
    model_url: str | None = Field(default=None, max_length=2048)  # Shopify's URL of the published GLB
    publish_error: str | None = Field(default=None, max_length=1024)
    publish_attempts: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
