"""Submit: one typed request in, one queued (or replayed, or cached) job out, in the caller's transaction.

`submit` only flushes: the rows that caused a job and the job commit together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from shop_app.jobs.owners import (
    ApiKeyOwner,
    Owner,
    PrincipalOwner,
    idempotency_scope,
    owner_clause,
    owner_columns,
)
from shop_app.jobs.params import InvalidJobRequest, input_hash_for_keys, normalize_inputs, normalize_params
from shop_app.jobs.rows import appended_logs, log_line, new_id
from shop_app.models.base import utcnow
from shop_app.models.jobs import ACTIVE, QUEUED, SUCCEEDED, Generation, Job, JobBatch


@dataclass(frozen=True)
class Images:
    """A job's input images: fetched from http(s) URLs by the worker, already in storage (keys), or drawn
    from a text prompt by the image provider in the worker (`text_prompt`: text-to-3D)."""

    urls: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    text_prompt: str | None = None

    @classmethod
    def from_prompt(cls, text: str) -> Images:
        return cls(text_prompt=text)

    @classmethod
    def from_urls(cls, urls: list[str] | tuple[str, ...]) -> Images:
        return cls(urls=tuple(urls))

    @classmethod
    def from_keys(cls, keys: list[str] | tuple[str, ...]) -> Images:
        return cls(keys=tuple(keys))

    def inputs(self) -> dict[str, Any]:
        """The job's `inputs` column, validated (1 to 4 images, http(s) URLs)."""
        if self.urls and self.keys:
            raise InvalidJobRequest("give exactly one of image_urls or image_keys", field="inputs")
        if self.text_prompt is not None:
            if self.urls or self.keys:
                raise InvalidJobRequest("give images or a text prompt, not both", field="inputs")
            return normalize_inputs({"text_prompt": self.text_prompt})
        if self.keys:
            return normalize_inputs({"image_keys": list(self.keys)})
        return normalize_inputs({"image_urls": list(self.urls)})


class JobInputs(Protocol):
    """What a job works on, as its `inputs` column: `Images` for generation, other kinds bring their own
    (e.g. `shop_app.jobs.renders.RenderInputs`)."""

    def inputs(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Labels:
    """Free labels a family attaches to a job (shown back, filterable); none of them grants access."""

    name: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    username: str | None = None
    image_gid: str | None = None  # the Shopify image the job was queued for

    def columns(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "username": self.username,
            "image_gid": self.image_gid,
        }


@dataclass(frozen=True)
class SubmitRequest:
    """Everything a family knows about a new job.

    family: the API family submitting it (a short name: "v1", "store", "image2model", "shop", ...).
    owner: who may see and change the job (`shop_app.jobs.owners`).
    idempotency_key: a repeat with the same key for the same owner returns the first job.
    meta: family-private data stored with the job (e.g. the seed-000 upload report).
    """

    family: str
    owner: Owner
    images: JobInputs
    params: dict[str, Any] = field(default_factory=dict)
    labels: Labels = Labels()
    priority: int = 0
    idempotency_key: str | None = None
    max_attempts: int = 3
    kind: str = "generate"
    batch_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    run_after: datetime | None = None


def submit(session: Session, request: SubmitRequest) -> Job:
    """Add a job to the queue in the caller's transaction (flushes, never commits).

    With an `idempotency_key`, a second call with the same key for the same owner returns the first job
    instead of creating another. If the inputs were already generated with the same params, the job is
    created as succeeded from the stored result (`cached=True`). Raises InvalidJobRequest for unusable input.
    """
    inputs = request.images.inputs()
    params = normalize_params(request.params)
    if not 1 <= request.max_attempts <= 20:
        raise InvalidJobRequest("max_attempts must be between 1 and 20", field="max_attempts")
    key = request.idempotency_key
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidJobRequest("Idempotency-Key must be 1 to 255 characters", field="idempotency_key")
    owner = request.owner
    if isinstance(owner, PrincipalOwner) and owner.family != request.family:
        raise ValueError(f"a {owner.family} principal cannot submit for the {request.family} family")
    scope = idempotency_scope(owner)
    if key is not None:
        existing = find_by_idempotency_key(session, scope=scope, key=key)
        if existing is not None:
            return existing
    now = utcnow()
    job = Job(
        id=new_id("job"),
        kind=request.kind,
        status=QUEUED,
        priority=request.priority,
        max_attempts=request.max_attempts,
        run_after=request.run_after or now,
        inputs=inputs,
        params=params,
        family=request.family,
        batch_id=request.batch_id,
        meta=dict(request.meta),
        idempotency_scope=scope if key is not None else None,
        idempotency_key=key,
        created_at=now,
        updated_at=now,
        logs=[log_line(now, "queued")],
        **owner_columns(owner),
        **request.labels.columns(),
    )
    if "image_keys" in inputs:
        job.input_hash = input_hash_for_keys(inputs["image_keys"], params)
        if job.input_hash is not None:
            done = session.exec(
                select(Generation).where(col(Generation.input_hash) == job.input_hash)
            ).first()
            if done is not None:
                _finish_cached(job, done, now)
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        # Another request with the same Idempotency-Key won the race; answer with its job.
        if key is None:
            raise
        existing = find_by_idempotency_key(session, scope=scope, key=key)
        if existing is None:
            raise
        return existing
    return job


def _finish_cached(job: Job, generation: Generation, now: datetime) -> None:
    job.status = SUCCEEDED
    job.generation_id = generation.id
    job.cached = True
    job.progress = 100
    job.stage = "done"
    job.started_at = job.started_at or now
    job.finished_at = now
    job.duration_s = 0.0
    job.logs = appended_logs(job, now, "completed from a stored result (same images and params)")


def find_by_idempotency_key(session: Session, *, scope: str, key: str) -> Job | None:
    return session.exec(
        select(Job).where(col(Job.idempotency_scope) == scope, col(Job.idempotency_key) == key)
    ).first()


def find_for_owner_by_key(session: Session, *, owner: Owner, key: str) -> Job | None:
    """The job `owner` already submitted with Idempotency-Key `key`, if any."""
    return find_by_idempotency_key(session, scope=idempotency_scope(owner), key=key)


def create_batch(
    session: Session,
    *,
    owner: Owner,
    total: int,
    name: str | None = None,
    session_id: str | None = None,
    batch_id: str | None = None,
) -> JobBatch:
    """A group for jobs submitted together (each job then names it in `SubmitRequest.batch_id`)."""
    columns = owner_columns(owner)
    batch = JobBatch(
        id=batch_id or new_id("batch"),
        api_key_id=columns.get("api_key_id"),
        shop_id=columns.get("shop_id"),
        name=name,
        session_id=session_id,
        total=total,
    )
    session.add(batch)
    session.flush()
    return batch


def active_job_count(session: Session, *, owner: Owner) -> int:
    """Unfinished jobs of `owner` (per-owner caps). An admin key counts its own jobs, not every job."""
    mine = col(Job.api_key_id) == owner.api_key_id if isinstance(owner, ApiKeyOwner) else owner_clause(owner)
    query = select(func.count()).select_from(Job).where(col(Job.status).in_(list(ACTIVE)), mine)
    return int(session.exec(query).one())


def record_finished(
    session: Session,
    *,
    family: str,
    owner: Owner,
    job_id: str | None = None,
    kind: str = "preview",
    params: dict[str, Any] | None = None,
    labels: Labels = Labels(),
    meta: dict[str, Any] | None = None,
) -> Job:
    """A job that is already done when it is recorded: work that happened elsewhere (e.g. a text-to-image
    preview drawn by the web process) entered into the owner's history. It never reaches a worker.

    With `job_id` (the id the client was handed for that work) a second call returns the first record.
    Raises InvalidJobRequest for an unusable id or params."""
    if job_id is not None:
        if not 1 <= len(job_id) <= 40 or not job_id.replace("-", "").replace("_", "").isalnum():
            raise InvalidJobRequest("job_id must be 1 to 40 letters, digits, '-' or '_'", field="job_id")
        existing = session.get(Job, job_id)
        if existing is not None:
            return existing
    if isinstance(owner, PrincipalOwner) and owner.family != family:
        raise ValueError(f"a {owner.family} principal cannot record for the {family} family")
    now = utcnow()
    job = Job(
        id=job_id or new_id("job"),
        kind=kind,
        status=SUCCEEDED,
        inputs={},
        params=normalize_params(params),
        family=family,
        meta=dict(meta or {}),
        progress=100,
        stage="done",
        created_at=now,
        updated_at=now,
        started_at=now,
        finished_at=now,
        duration_s=0.0,
        logs=[log_line(now, f"recorded as finished ({kind})")],
        **owner_columns(owner),
        **labels.columns(),
    )
    session.add(job)
    session.flush()
    return job
