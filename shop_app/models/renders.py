"""Platform renders: the social-media images one `platform_render` job made of a finished model.

One row per (job, platform): the stored JPEG's key and what clients are told about it (seed 004's
`result.images`: platform, url, width, height, size). Rows go with their job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from shop_app.models.base import created_at_field


class PlatformRender(SQLModel, table=True):
    __tablename__ = "platform_render"
    __table_args__ = (UniqueConstraint("job_id", "platform", name="uq_platform_render_job_platform"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(foreign_key="job.id", ondelete="CASCADE", index=True, max_length=40)
    generation_id: int | None = Field(
        default=None, foreign_key="generation.id", ondelete="SET NULL", index=True
    )
    position: int = Field(default=0)  # the order the client asked for
    platform: str = Field(max_length=32)
    storage_key: str = Field(max_length=255)
    width: int
    height: int
    size_bytes: int
    created_at: datetime = created_at_field()
