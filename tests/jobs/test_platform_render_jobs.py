"""`platform_render` jobs: a worker renders a finished model into platform-sized images and stores them."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy.engine import Engine

from generation.platform_render import PLATFORMS
from shop_app.db import session_scope
from shop_app.jobs.commands import delete as delete_job
from shop_app.jobs.lease import ArtifactRecord, claim_job, complete_job
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import get_job
from shop_app.jobs.renders import (
    PLATFORM_RENDER_KIND,
    PLATFORM_SIZES,
    SourceModelError,
    platform_images,
    render_inputs,
)
from shop_app.jobs.submit import SubmitRequest, submit
from shop_app.models.jobs import Generation
from shop_app.settings import Settings
from shop_app.storage import make_storage
from tests.generation.conftest import box_glb
from tests.images_api import ImagesApi, prompt_png
from tests.job_requests import ANYONE, TEST_FAMILY, enqueue_job
from tests.jobs.conftest import FAST, Drainer, WorkerProcs, png_bytes, wait_until


def finished_model(db: Engine, settings: Settings, glb: bytes, seed: int = 1) -> tuple[str, int]:
    """A succeeded generation job whose model is `glb` (queued, claimed and completed through the core)."""
    storage = make_storage(settings)
    image_key = storage.put(png_bytes(seed), suffix=".png")
    with session_scope(db) as session:
        job_id = enqueue_job(session=session, inputs={"image_keys": [image_key]}).id
    claimed = claim_job(db, worker_id="model-maker", lease_s=30, kinds=["generate"])
    assert claimed is not None and claimed.id == job_id
    record = ArtifactRecord(input_hash=f"{seed:064x}", glb_key=storage.put(glb, suffix=".glb"))
    job = complete_job(db, job_id=job_id, worker_id="model-maker", artifacts=record)
    assert job.generation_id is not None
    return job_id, job.generation_id


def enqueue_platform_render(*, session, **kwargs):  # noqa: ANN003, ANN202
    """What a family does: validated render inputs, submitted as a platform_render job."""
    inputs = render_inputs(session, **kwargs)
    return submit(
        session, SubmitRequest(family=TEST_FAMILY, owner=ANYONE, images=inputs, kind=PLATFORM_RENDER_KIND)
    )


def queue_render(db: Engine, **kwargs) -> str:  # noqa: ANN003
    with session_scope(db) as session:
        return enqueue_platform_render(session=session, **kwargs).id


def test_platform_tables_agree():
    assert {k: (p.label, p.width, p.height) for k, p in PLATFORM_SIZES.items()} == {
        k: (p.label, p.width, p.height) for k, p in PLATFORMS.items()
    }


def test_worker_renders_and_stores_each_platform(db: Engine, api_settings: Settings, drain: Drainer):
    source_id, generation_id = finished_model(db, api_settings, box_glb())
    job_id = queue_render(db, platforms=["twitter-post", "instagram-post"], source_job_id=source_id)
    assert drain() == 1
    storage = make_storage(api_settings)
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert job is not None and job.kind == PLATFORM_RENDER_KIND
        assert (job.status, job.progress, job.stage) == ("succeeded", 100, "done")
        assert any("rendering twitter-post" in line for line in job.logs)
        images = platform_images(session, job_id)
    assert [(i.platform, i.width, i.height) for i in images] == [
        ("twitter-post", 1200, 675),
        ("instagram-post", 1080, 1080),
    ]
    for image in images:
        data = storage.get(image.storage_key)
        assert len(data) == image.size_bytes
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "JPEG" and picture.size == (image.width, image.height)
        assert image.generation_id == generation_id
    # Deleting the render job hands back its images' keys for removal (and not the source model's).
    with session_scope(db) as session:
        job = get_job(session, job_id)
        orphaned = delete_job(session, job)
    assert sorted(orphaned) == sorted(i.storage_key for i in images)


def test_render_by_model_id(db: Engine, api_settings: Settings, drain: Drainer):
    _, generation_id = finished_model(db, api_settings, box_glb(), seed=2)
    job_id = queue_render(db, platforms=["facebook-post"], generation_id=generation_id)
    drain()
    with session_scope(db) as session:
        assert get_job(session, job_id).status == "succeeded"
        assert [(i.width, i.height) for i in platform_images(session, job_id)] == [(1200, 630)]


@pytest.mark.parametrize(
    ("platforms", "words"),
    [
        (["instagram-post", "tiktok-video"], "Invalid platform: tiktok-video"),
        ([], "At least one platform is required"),
        ("instagram-post", "At least one platform is required"),
    ],
)
def test_bad_platforms_are_refused_before_queueing(db: Engine, api_settings: Settings, platforms, words):
    source_id, _ = finished_model(db, api_settings, box_glb(), seed=3)
    with pytest.raises(InvalidJobRequest) as info, session_scope(db) as session:
        enqueue_platform_render(session=session, platforms=platforms, source_job_id=source_id)
    assert words in str(info.value) and info.value.field == "platforms"


def test_unknown_and_unfinished_sources_are_refused(db: Engine, api_settings: Settings):
    storage = make_storage(api_settings)
    with session_scope(db) as session:
        waiting = enqueue_job(
            session=session, inputs={"image_keys": [storage.put(png_bytes(9), suffix=".png")]}
        ).id
    cases = [
        ({"source_job_id": "job_nope"}, "source_not_found", "job_nope does not exist"),
        ({"source_job_id": waiting}, "source_not_finished", "it is queued"),
        ({"generation_id": 987654}, "source_not_found", "model 987654 does not exist"),
    ]
    for source, code, words in cases:
        with pytest.raises(SourceModelError) as info, session_scope(db) as session:
            enqueue_platform_render(session=session, platforms=["instagram-post"], **source)
        assert info.value.code == code and words in str(info.value)
    with pytest.raises(InvalidJobRequest, match="exactly one"), session_scope(db) as session:
        enqueue_platform_render(session=session, platforms=["instagram-post"])


def test_a_model_that_cannot_be_rendered_fails_without_retries(
    db: Engine, api_settings: Settings, drain: Drainer
):
    from tests.fake_engine import minimal_glb

    source_id, _ = finished_model(db, api_settings, minimal_glb("empty"), seed=4)
    job_id = queue_render(db, platforms=["instagram-post"], source_job_id=source_id)
    drain()
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert (job.status, job.error_code, job.attempt) == ("failed", "empty_model", 1)
        assert "no triangles" in job.error_message
        assert platform_images(session, job_id) == []


def test_a_model_deleted_after_queueing_fails_clearly(db: Engine, api_settings: Settings, drain: Drainer):
    source_id, generation_id = finished_model(db, api_settings, box_glb(), seed=5)
    job_id = queue_render(db, platforms=["instagram-post"], source_job_id=source_id)
    with session_scope(db) as session:
        session.delete(session.get(Generation, generation_id))
    drain()
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert (job.status, job.error_code) == ("failed", "source_missing")
        assert f"model {generation_id} no longer exists" in job.error_message


def test_worker_process_runs_render_jobs_by_default(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
):
    source_id, _ = finished_model(db, fast_settings, box_glb(), seed=6)
    job_id = queue_render(db, platforms=["instagram-post"], source_job_id=source_id)
    workers.start()

    def finished() -> bool:
        with session_scope(db) as session:
            return get_job(session, job_id).status in {"succeeded", "failed"}

    wait_until(finished, timeout=120, what="the render job to finish")
    with session_scope(db) as session:
        assert get_job(session, job_id).status == "succeeded", workers.logs()
        assert len(platform_images(session, job_id)) == 1


def test_a_prompt_becomes_a_model_then_platform_images(make_settings, db: Engine):
    prompt = "A red ceramic mug on a wooden table"
    with ImagesApi() as api:
        settings = make_settings(
            **FAST,
            image_api_base_url=api.base_url,
            image_api_key="sk-test-images",
            image_api_max_attempts="1",
        )
        job_id = queue_render(db, platforms=["instagram-story"], text_prompt=prompt)
        assert Drainer(settings, db)() == 1
        assert [r["prompt"] for r in api.requests] == [prompt]
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert job.status == "succeeded", job.error_message
        generation = session.get(Generation, job.generation_id)
        assert make_storage(settings).get(generation.image_keys[0]) == prompt_png(prompt)
        images = platform_images(session, job_id)
        assert [(i.width, i.height, i.generation_id) for i in images] == [(1080, 1920, generation.id)]
