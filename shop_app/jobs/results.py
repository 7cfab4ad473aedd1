"""Results: the stored artifacts of a succeeded job (one `generation` row per unique input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from shop_app.models.jobs import SUCCEEDED, Generation, Job

if TYPE_CHECKING:
    from shop_app.jobs.views import JobView


@dataclass
class JobResult:
    job_id: str
    generation_id: int
    input_hash: str
    glb_key: str
    splat_key: str | None
    preview_key: str | None
    metadata: dict[str, Any]
    stats: dict[str, Any]
    cached: bool
    duration_s: float | None


def find_generation(session: Session, input_hash: str) -> Generation | None:
    return session.exec(select(Generation).where(col(Generation.input_hash) == input_hash)).first()


def generation_of(session: Session, job: Job | JobView) -> Generation | None:
    """The generation a succeeded job reads its files from, else None."""
    if job.status != SUCCEEDED or job.generation_id is None:
        return None
    return session.get(Generation, job.generation_id)


def job_result(session: Session, job: Job) -> JobResult | None:
    """The stored artifacts of a succeeded job (storage keys, engine metadata, cached flag), else None."""
    generation = generation_of(session, job)
    if generation is None:
        return None
    return JobResult(
        job_id=job.id,
        generation_id=generation.id or 0,
        input_hash=generation.input_hash,
        glb_key=generation.glb_key,
        splat_key=generation.splat_key,
        preview_key=generation.preview_key,
        metadata=generation.meta,
        stats=generation.stats,
        cached=job.cached,
        duration_s=generation.duration_s,
    )
