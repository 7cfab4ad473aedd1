"""Platform-render jobs: social-media images of a finished 3D model (seed 004's "platforms" step).

A `platform_render` job names the model to render (a finished job, a generation id, or a text prompt the
worker first turns into a model) and the platforms; a worker renders one JPEG per platform (generation/platform_render.py), stores them and completes the job with
`complete_platform_render`, which records one `platform_render` row per image. The web process reads them with
`platform_images`. Platform sizes are mirrored here because the web process never imports the engine (a test
checks that both tables agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from shop_app.db import write_scope
from shop_app.jobs.lease import mark_succeeded, owned_lease
from shop_app.jobs.owners import Owner, owner_clause
from shop_app.jobs.params import InvalidJobRequest, normalize_inputs
from shop_app.jobs.run_times import record_run_time
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.renders import PlatformRender

PLATFORM_RENDER_KIND = "platform_render"


@dataclass(frozen=True)
class PlatformSize:
    key: str
    label: str
    width: int
    height: int


# The same table as generation.platform_render.PLATFORMS (torch-free copy for the web process).
PLATFORM_SIZES: dict[str, PlatformSize] = {
    p.key: p
    for p in (
        PlatformSize("instagram-post", "Instagram Post", 1080, 1080),
        PlatformSize("instagram-story", "Instagram Story", 1080, 1920),
        PlatformSize("twitter-post", "Twitter Post", 1200, 675),
        PlatformSize("facebook-post", "Facebook Post", 1200, 630),
    )
}


class SourceModelError(InvalidJobRequest):
    """The model to render is unknown or not finished; `code` says which."""

    def __init__(self, message: str, *, code: str, field: str) -> None:
        super().__init__(message, field=field)
        self.code = code


def validate_platforms(platforms: Any) -> list[str]:
    """The requested platform keys in order, each once. Raises InvalidJobRequest naming a bad one."""
    if not isinstance(platforms, list) or not platforms:
        raise InvalidJobRequest("At least one platform is required", field="platforms")
    out: list[str] = []
    for key in platforms:
        if not isinstance(key, str) or key not in PLATFORM_SIZES:
            raise InvalidJobRequest(
                f"Invalid platform: {key}; use one of {', '.join(PLATFORM_SIZES)}", field="platforms"
            )
        if key not in out:
            out.append(key)
    return out


def resolve_source(
    session: Session, *, source_job_id: str | None = None, generation_id: int | None = None
) -> Generation:
    """The finished model a render starts from: a succeeded job's, or a generation by id."""
    if (source_job_id is None) == (generation_id is None):
        raise InvalidJobRequest("give exactly one of a source job id or a model id", field="source")
    if source_job_id is not None:
        job = session.get(Job, source_job_id)
        if job is None:
            raise SourceModelError(
                f"source job {source_job_id} does not exist", code="source_not_found", field="source_job_id"
            )
        if job.status != SUCCEEDED or job.generation_id is None:
            raise SourceModelError(
                f"source job {source_job_id} has no finished model yet (it is {job.status}); "
                "wait until it has succeeded",
                code="source_not_finished",
                field="source_job_id",
            )
        generation_id = job.generation_id
    generation = session.get(Generation, generation_id)
    if generation is None:
        raise SourceModelError(
            f"model {generation_id} does not exist", code="source_not_found", field="model_id"
        )
    return generation


def owns_model(session: Session, owner: Owner, generation_id: int) -> bool:
    """Whether `owner` has a job whose model is `generation_id` (models are shared by every job with the
    same input, so a model id is usable only by someone who made or was shown it)."""
    query = select(Job.id).where(col(Job.generation_id) == generation_id, owner_clause(owner)).limit(1)
    return session.exec(query).first() is not None


@dataclass(frozen=True)
class RenderInputs:
    """A render job's inputs (`SubmitRequest.images` for kind `platform_render`): the platforms, and the
    model: a generation (found from a source job or by id) or a text prompt the worker turns into one."""

    platforms: tuple[str, ...]
    generation_id: int | None = None
    source_job_id: str | None = None
    text_prompt: str | None = None

    def inputs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platforms": list(self.platforms)}
        if self.generation_id is not None:
            return {**out, "generation_id": self.generation_id, "source_job_id": self.source_job_id}
        return {**out, **normalize_inputs({"text_prompt": self.text_prompt})}


def render_inputs(
    session: Session,
    *,
    platforms: Any,
    source_job_id: str | None = None,
    generation_id: int | None = None,
    text_prompt: str | None = None,
) -> RenderInputs:
    """Validated render inputs (checked now, so a bad request never reaches a worker): the model of a
    finished source job or a generation by id; without either, a model the worker makes from `text_prompt`
    (image provider, then the engine)."""
    keys = tuple(validate_platforms(platforms))
    if text_prompt is not None and source_job_id is None and generation_id is None:
        inputs = RenderInputs(platforms=keys, text_prompt=text_prompt)
        inputs.inputs()  # validates the prompt
        return inputs
    generation = resolve_source(session, source_job_id=source_job_id, generation_id=generation_id)
    return RenderInputs(platforms=keys, generation_id=generation.id, source_job_id=source_job_id)


@dataclass
class RenderedImage:
    platform: str
    storage_key: str
    width: int
    height: int
    size_bytes: int


def complete_platform_render(
    engine: Engine,
    *,
    job_id: str,
    worker_id: str,
    generation_id: int,
    images: Sequence[RenderedImage],
    now: datetime | None = None,
) -> Job:
    """Record the stored images and mark the job succeeded (fenced: only the lease owner may)."""
    with write_scope(engine) as session:
        job = owned_lease(session, job_id, worker_id)
        now = now or utcnow()
        for position, image in enumerate(images):
            session.add(
                PlatformRender(
                    job_id=job.id,
                    generation_id=generation_id,
                    position=position,
                    platform=image.platform,
                    storage_key=image.storage_key,
                    width=image.width,
                    height=image.height,
                    size_bytes=image.size_bytes,
                    created_at=now,
                )
            )
        job.generation_id = generation_id  # the model this job shows (kept while the job exists)
        elapsed = mark_succeeded(job, now, f"completed: {len(images)} platform image(s)")
        session.add(job)
    record_run_time(engine, job, elapsed, now)
    return job


def platform_images(session: Session, job_id: str) -> list[PlatformRender]:
    """A job's stored images, in the order the client asked for them."""
    query = (
        select(PlatformRender)
        .where(col(PlatformRender.job_id) == job_id)
        .order_by(col(PlatformRender.position))
    )
    return list(session.exec(query).all())
