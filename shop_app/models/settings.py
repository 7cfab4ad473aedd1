"""Per-shop preferences the merchant sets in the embedded app (one row per shop; no row = the defaults)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shop_app.models.base import UTCDateTime, utcnow


# Which products get models and how they are made and published. Read by the pipeline: `auto_generate`
# by product sync (webhooks and scans), `face_limit` by every generation queued for the shop, `auto_publish`
# by the scheduler's publishing step, `notify_failures` by the admin's summary.
class ShopSettings(SQLModel, table=True):
    __tablename__ = "shop_settings"

    shop_id: int = Field(foreign_key="shop.id", ondelete="CASCADE", primary_key=True)
    auto_generate: bool = Field(default=True)  # False: only products the merchant asks for (or backfills)
    face_limit: int | None = Field(default=None)  # None: the engine's default
    auto_publish: bool = Field(default=False)  # True: a finished model goes on the product without review
    notify_failures: bool = Field(default=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
