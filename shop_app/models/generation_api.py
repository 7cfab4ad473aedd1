"""Tables of the seed-001 generation API (POST /login, POST /generate3d_webhook, GET /generate3d/status/{id}).

- `generation_account`: who may log in (email + scrypt password hash), created with `nu3d account create`.
- `generation_request`: one submitted image; its integer id is the API's `image_id`, pointing at the job.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shop_app.models.base import created_at_field, optional_time_field


class GenerationAccount(SQLModel, table=True):
    __tablename__ = "generation_account"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)  # stored lower-case
    password_hash: str = Field(max_length=255)  # scrypt$N$r$p$salt$hash (hashlib.scrypt)
    created_at: datetime = created_at_field()
    disabled_at: datetime | None = optional_time_field()


class GenerationRequest(SQLModel, table=True):
    __tablename__ = "generation_request"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="generation_account.id", ondelete="CASCADE", index=True)
    job_id: str | None = Field(default=None, max_length=40, foreign_key="job.id", ondelete="SET NULL")
    image_url: str = Field(max_length=2048)
    prompt: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
