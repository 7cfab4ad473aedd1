"""Generation jobs and results. The job table is the queue (see ARCHITECTURE.md, jobs-facts.md §2.3).

- `job`: one request to generate; status, lease, progress, cancel flag, idempotency key, version.
- `generation`: one per unique input (SHA-256 over the input image bytes and the normalised params); the
  dedupe unit: every job whose input hashes the same reads the same stored artifacts.
- `job_batch`: a group of jobs created by one batch upload.
- `kind_stats`: moving average of measured run times per job kind (for queue ETAs).
- `job_worker`: live worker slots (for ETAs and the queue stats), refreshed by each worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shop_app.models.base import UTCDateTime, created_at_field, optional_time_field, utcnow

# Statuses in the job table (each API maps them to its own vocabulary at the edge).
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})
ACTIVE = frozenset({QUEUED, RUNNING})


def _json_column(nullable: bool = False) -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=nullable))


# A group of jobs from one batch upload (seed 003's /upload/batch; ours is POST /api/v1/batches).
class JobBatch(SQLModel, table=True):
    __tablename__ = "job_batch"

    id: str = Field(primary_key=True, max_length=40)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="SET NULL", index=True)
    shop_id: int | None = Field(default=None, foreign_key="shop.id", ondelete="CASCADE", index=True)
    name: str | None = Field(default=None, max_length=255)
    session_id: str | None = Field(default=None, max_length=128)
    total: int = Field(default=0)
    created_at: datetime = created_at_field()


# One unique input's artifacts. Many jobs may point at one generation (the dedupe unit).
class Generation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    input_hash: str = Field(max_length=64, unique=True)
    params: dict[str, Any] = _json_column()
    glb_key: str = Field(max_length=255)
    splat_key: str | None = Field(default=None, max_length=255)
    preview_key: str | None = Field(default=None, max_length=255)
    image_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    meta: dict[str, Any] = _json_column()
    stats: dict[str, Any] = _json_column()
    duration_s: float | None = Field(default=None)
    created_at: datetime = created_at_field()


class Job(SQLModel, table=True):
    __table_args__ = (
        # Idempotency-Key is unique per scope (an API key, a shop, or the anonymous seed routes).
        UniqueConstraint("idempotency_scope", "idempotency_key", name="uq_job_idempotency"),
    )

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(default="generate", max_length=32)
    status: str = Field(default=QUEUED, max_length=16)  # looked up through ix_job_claim (leads with it)
    priority: int = Field(default=0)
    attempt: int = Field(default=0)
    max_attempts: int = Field(default=3)
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

    # Lease: only the owner may write progress or results (fencing).
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = optional_time_field(index=True)
    heartbeat_at: datetime | None = optional_time_field()

    progress: int = Field(default=0)
    stage: str | None = Field(default=None, max_length=64)
    logs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cancel_requested: bool = Field(default=False)
    cancel_requested_at: datetime | None = optional_time_field()

    idempotency_scope: str | None = Field(default=None, max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=255)

    inputs: dict[str, Any] = _json_column()
    params: dict[str, Any] = _json_column()
    input_hash: str | None = Field(default=None, max_length=64, index=True)
    generation_id: int | None = Field(
        default=None, foreign_key="generation.id", ondelete="SET NULL", index=True
    )
    cached: bool = Field(default=False)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=2000)
    error_retryable: bool | None = Field(default=None)

    # Ownership and labels.
    shop_id: int | None = Field(default=None, foreign_key="shop.id", ondelete="CASCADE", index=True)
    api_key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="SET NULL", index=True)
    batch_id: str | None = Field(default=None, foreign_key="job_batch.id", ondelete="CASCADE", index=True)
    # The API family that submitted the job ("v1", "store", "shop", ...; see shop_app.jobs.owners) and, for
    # families whose principals are not API keys, the principal (a JWT subject, a seed session).
    family: str | None = Field(default=None, max_length=32, index=True)
    principal: str | None = Field(default=None, max_length=255, index=True)
    image_gid: str | None = Field(default=None, max_length=255)  # the Shopify image a shop job is for
    user_id: str | None = Field(default=None, max_length=128, index=True)
    session_id: str | None = Field(default=None, max_length=128, index=True)
    username: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=255)
    meta: dict[str, Any] = _json_column()

    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = optional_time_field()
    finished_at: datetime | None = optional_time_field()
    duration_s: float | None = Field(default=None)


# Exponentially weighted moving average of successful run times, per kind (queue ETAs).
# The claim's order, restricted to the status it filters on: `status = 'queued' ORDER BY priority DESC,
# created_at, id` reads the first entry instead of sorting the queue (and the ranked queue snapshot reads it
# in order). Declared after the class: the DESC needs the column.
Index(
    "ix_job_claim",
    Job.__table__.c.status,  # type: ignore[attr-defined]
    Job.__table__.c.priority.desc(),  # type: ignore[attr-defined]
    Job.__table__.c.created_at,  # type: ignore[attr-defined]
    Job.__table__.c.id,  # type: ignore[attr-defined]
)


class KindStats(SQLModel, table=True):
    __tablename__ = "kind_stats"

    kind: str = Field(primary_key=True, max_length=32)
    ewma_duration_s: float = Field(default=0.0)
    samples: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# A worker slot that is alive (refreshed every few seconds); ETAs divide the queue by the live count.
class JobWorker(SQLModel, table=True):
    __tablename__ = "job_worker"

    id: str = Field(primary_key=True, max_length=128)
    hostname: str = Field(max_length=255)
    pid: int = Field(default=0)
    device: str = Field(default="cpu", max_length=32)
    current_job_id: str | None = Field(default=None, max_length=40)
    started_at: datetime = created_at_field()
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
