"""End to end with the real engine: a `nu3d worker` process turns four studio photos into a GLB."""

from __future__ import annotations

import io

import pytest
from sqlalchemy.engine import Engine

from shop_app.db import session_scope
from shop_app.jobs.queries import get_job
from shop_app.jobs.results import job_result
from shop_app.settings import Settings
from shop_app.storage import make_storage
from tests.job_requests import enqueue_job
from tests.jobs.conftest import WorkerProcs, wait_until


@pytest.mark.slow
def test_real_engine_generates_a_model(db: Engine, fast_settings: Settings, workers: WorkerProcs) -> None:
    try:
        from generation import Engine  # noqa: F401
    except ImportError as err:
        pytest.skip(f"the generation engine cannot be imported yet: {err}")
    from devstore.studio import make_product, render_views

    storage = make_storage(fast_settings)
    keys = []
    for image in render_views(make_product("can"), n_views=4, size=160, supersample=1):
        out = io.BytesIO()
        image.save(out, format="PNG")
        keys.append(storage.put(out.getvalue(), suffix=".png"))
    with session_scope(db) as session:
        job_id = enqueue_job(
            session=session,
            inputs={"image_keys": keys},
            params={"resolution": 128, "face_limit": 2000, "texture_size": 256, "prompt": "a soda can"},
        ).id
    proc = workers.start(engine="real", extra_env={"NU3D_JOB_LEASE_S": "60"})

    def finished() -> bool:
        assert proc.poll() is None, f"the worker exited with {proc.returncode}:\n{workers.logs()}"
        with session_scope(db) as session:
            return get_job(session, job_id).status in {"succeeded", "failed"}

    wait_until(finished, timeout=420, interval=1.0, what="the real engine to finish")
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert job.status == "succeeded", f"{job.error_code}: {job.error_message}\n{workers.logs()}"
        result = job_result(session, get_job(session, job_id))
    assert result is not None and result.metadata.get("engine") == "real"
    glb = storage.get(result.glb_key)
    assert glb[:4] == b"glTF" and len(glb) > 1000
    assert storage.get(result.splat_key)[:3] == b"ply"
    assert any("stage" in line for line in job.logs)
