"""The worker side of a `platform_render` job: load the finished model, render each platform, store, complete.

Progress (seed 004's bands): up to 30% drawing the photo when the model comes from a prompt, 30-48% the engine,
50-95% across the platforms, 96% while storing. Render errors carry the
renderer's code (`model_unreadable`, `empty_model`, `unknown_platform`: not retryable).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from shop_app.db import session_scope
from shop_app.jobs.lease import store_generation
from shop_app.jobs.lease_statements import ClaimedJob
from shop_app.jobs.renders import RenderedImage, complete_platform_render
from shop_app.models.jobs import Generation

if TYPE_CHECKING:
    from shop_app.worker.lease_keeper import LeaseKeeper
    from shop_app.worker.slot import SlotRunner

logger = logging.getLogger(__name__)


class SourceModelMissing(Exception):
    """The model the job was queued for has been deleted since."""

    code = "source_missing"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run_platform_render(runner: SlotRunner, job: ClaimedJob, keeper: LeaseKeeper) -> None:
    from generation.platform_render import RenderConfig, render_platforms  # torch loads in the worker only

    started = time.monotonic()
    if "generation_id" in job.inputs:
        generation_id = int(job.inputs["generation_id"])
    else:  # a model from a prompt first: provider image, then the engine (seed 004's generation step)
        digest, record = runner.make_model(job, keeper, band=(30, 48))
        generation_id = runner.retry_db(
            lambda: store_generation(runner.db, input_hash=digest, artifacts=record)
        )
    keeper.report("loading_model", 49)
    with session_scope(runner.db) as session:
        generation = session.get(Generation, generation_id)
        glb_key = generation.glb_key if generation is not None else None
    if glb_key is None:
        raise SourceModelMissing(
            f"model {generation_id} no longer exists; it was deleted after this job was queued"
        )
    glb = runner.storage.get(glb_key)
    keeper.report("rendering", 50)
    rendered = render_platforms(
        glb,
        list(job.inputs["platforms"]),
        device=runner.config.device,
        config=RenderConfig(supersample=runner.settings.platform_render_supersample),
        progress=lambda key, pct: keeper.report(f"rendering {key}", 50 + int(pct * 0.45)),
        should_cancel=keeper.should_stop,
    )
    runner.check_stop(keeper)
    keeper.report("storing", 96)
    images = [
        RenderedImage(
            platform=image.platform.key,
            storage_key=runner.storage.put(image.jpeg, suffix=".jpg", content_type="image/jpeg"),
            width=image.width,
            height=image.height,
            size_bytes=len(image.jpeg),
        )
        for image in rendered
    ]
    runner.check_stop(keeper)
    keeper.finish(flush=True)
    runner.check_stop(keeper)
    runner.retry_db(
        lambda: complete_platform_render(
            runner.db,
            job_id=job.id,
            worker_id=runner.config.worker_id,
            generation_id=generation_id,
            images=images,
        )
    )
    logger.info("job %s: %d platform image(s) in %.1f s", job.id, len(images), time.monotonic() - started)
