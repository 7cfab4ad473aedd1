"""Text-to-3D in the worker: prompt → provider image (stand-in OpenAI-compatible API) → engine → stored result."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shop_app.db import session_scope
from shop_app.jobs.owners import PrincipalOwner
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models.jobs import FAILED, QUEUED, SUCCEEDED, Generation, Job
from shop_app.settings import Settings
from shop_app.storage import make_storage
from tests.images_api import ImagesApi, prompt_png
from tests.jobs.conftest import FAST, Drainer


@pytest.fixture
def images_api() -> Iterator[ImagesApi]:
    with ImagesApi() as api:
        yield api


def _enqueue(db: Any, prompt: str, user_id: str | None = None) -> str:
    with session_scope(db) as session:
        request = SubmitRequest(
            family="test",
            owner=PrincipalOwner(family="test", subject=user_id),
            images=Images.from_prompt(prompt),
            params={"prompt": prompt},
            labels=Labels(user_id=user_id),
        )
        return submit(session, request).id


def _job(db: Any, job_id: str) -> Job:
    with session_scope(db) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _provider_settings(make_settings: Callable[..., Settings], api: ImagesApi, **extra: str) -> Settings:
    return make_settings(
        **FAST,
        image_api_base_url=api.base_url,
        image_api_key="sk-test-images",
        image_api_max_attempts="1",
        **extra,
    )


def test_a_prompt_job_runs_prompt_to_image_to_engine(
    make_settings: Callable[..., Settings], db: Any, images_api: ImagesApi
) -> None:
    settings = _provider_settings(make_settings, images_api)
    job_id = _enqueue(db, "A red sports car", user_id="user_9")
    assert Drainer(settings, db)() == 1
    job = _job(db, job_id)
    assert job.status == SUCCEEDED, job.error_message
    assert images_api.requests[0]["prompt"] == "A red sports car"
    assert images_api.requests[0]["user"] == "user_9"
    with session_scope(db) as session:
        generation = session.get(Generation, job.generation_id)
        assert generation is not None
        image_key = generation.image_keys[0]
    # The provider's picture is kept as the job's input image (seed 002's processed/generated image).
    assert make_storage(settings).get(image_key) == prompt_png("A red sports car")
    assert "generating_image" in " ".join(job.logs)


def test_without_a_provider_a_prompt_job_fails_naming_the_setting(
    make_settings: Callable[..., Settings], db: Any
) -> None:
    job_id = _enqueue(db, "A teapot")
    Drainer(make_settings(**FAST), db)()
    job = _job(db, job_id)
    assert job.status == FAILED
    assert job.error_code == "image_provider_not_configured"
    assert "NU3D_IMAGE_API_BASE_URL" in (job.error_message or "")


def test_a_refused_prompt_fails_the_job_without_retrying(
    make_settings: Callable[..., Settings], db: Any, images_api: ImagesApi
) -> None:
    images_api.fail_next(400, "Your request was rejected as a result of our safety system.")
    job_id = _enqueue(db, "forbidden thing")
    Drainer(_provider_settings(make_settings, images_api), db)()
    job = _job(db, job_id)
    assert (job.status, job.error_code, job.error_retryable) == (FAILED, "image_provider_rejected", False)
    assert "safety system" in (job.error_message or "")


def test_a_provider_outage_puts_the_job_back_for_a_later_attempt(
    make_settings: Callable[..., Settings], db: Any, images_api: ImagesApi
) -> None:
    images_api.fail_next(503, "overloaded")
    job_id = _enqueue(db, "A stool")
    Drainer(_provider_settings(make_settings, images_api), db)(limit=1)
    job = _job(db, job_id)
    assert job.status == QUEUED and job.attempt == 1
    assert job.error_code == "image_provider_unavailable"


@pytest.mark.parametrize("bad", ["", "   ", "x" * 1001])
def test_bad_text_prompts_are_refused_at_submit(db: Any, bad: str) -> None:
    with session_scope(db) as session, pytest.raises(InvalidJobRequest, match="text_prompt"):
        submit(
            session,
            SubmitRequest(family="test", owner=PrincipalOwner(family="test"), images=Images.from_prompt(bad)),
        )


def test_images_and_a_prompt_together_are_refused(db: Any) -> None:
    images = Images(urls=("https://example.com/a.png",), text_prompt="A cup")
    with session_scope(db) as session, pytest.raises(InvalidJobRequest, match="not both"):
        submit(session, SubmitRequest(family="test", owner=PrincipalOwner(family="test"), images=images))
