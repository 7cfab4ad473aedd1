"""The generation-backend API (/image-to-3d, /text-to-3d, /text-to-image, /status, /stream, /queue/info,
/cancel, /health): the document's request and response bodies, at the root and under a prefix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shop_app.settings import ConfigError
from tests.hydrilla.conftest import Hydrilla, png_bytes
from tests.images_api import ImagesApi, prompt_png
from tests.jobs.conftest import wait_until

SUBMIT_KEYS = {"job_id", "status", "message", "status_url", "stream_url"}
STATUS_KEYS = {"job_id", "user_id", "status", "progress", "message", "created_at", "updated_at", "queue"}


def submitted(response: httpx.Response, prefix: str = "") -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == SUBMIT_KEYS and body["status"] == "pending"
    job_id = body["job_id"]
    assert body["message"] == f"Job created successfully. Use /status/{job_id} to check progress."
    assert (body["status_url"], body["stream_url"]) == (
        f"{prefix}/status/{job_id}",
        f"{prefix}/stream/{job_id}",
    )
    return job_id


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    return response.json()["error"]


def test_image_to_3d_by_url_and_by_file(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api)
    images_api.files["photo.png"] = png_bytes(11)
    by_url = submitted(
        app.http.post(
            "/image-to-3d",
            data={"image_url": f"http://127.0.0.1:{images_api.port}/v1/files/photo.png", "user_id": "user_x"},
        )
    )
    by_file = submitted(
        app.http.post("/image-to-3d", files={"image_file": ("p.png", png_bytes(12), "image/png")})
    )
    pending = app.http.get(f"/status/{by_url}").json()
    assert set(pending) == STATUS_KEYS and pending["status"] == "pending" and pending["user_id"] == "user_x"
    assert pending["progress"] == 0 and pending["message"] == "Waiting in queue"
    assert pending["queue"]["position"] == 1
    app.start_worker()
    for job_id, image in ((by_url, png_bytes(11)), (by_file, png_bytes(12))):
        done = app.wait_status(job_id, "completed")
        assert set(done) == STATUS_KEYS | {"result"} and done["progress"] == 100
        result = done["result"]
        assert set(result) == {"job_id", "mode", "mesh_url", "processed_image_url", "elapsed_seconds"}
        assert result["mode"] == "image-to-3d" and result["job_id"] == job_id
        assert httpx.get(result["mesh_url"]).content[:4] == b"glTF"
        assert httpx.get(result["processed_image_url"]).content == image
        assert isinstance(result["elapsed_seconds"], float)


def test_bad_submissions(start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi) -> None:
    app = start_hydrilla(images_api)
    assert (
        error(app.http.post("/image-to-3d", data={"user_id": "u"}), 400)
        == "image_url or image_file is required"
    )
    assert "form data" in error(
        app.http.post("/image-to-3d", json={"image_url": "https://example.com/a.png"}), 400
    )
    assert "image_url cannot be used" in error(
        app.http.post("/image-to-3d", data={"image_url": "http://10.0.0.1/a.png"}), 400
    )
    assert "not an image" in error(
        app.http.post("/image-to-3d", files={"image_file": ("a.png", b"nope", "image/png")}), 400
    )
    assert error(app.http.post("/text-to-3d", data={"user_id": "u"}), 400) == "prompt is required"
    assert error(app.http.post("/text-to-image", data={"prompt": ""}), 400) == "prompt is required"
    assert error(app.http.get("/status/job_missing"), 404) == "Job not found"
    assert error(app.http.post("/cancel/job_missing"), 404) == "Job not found"


def test_text_to_3d_runs_prompt_to_image_to_model(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api)
    job_id = submitted(app.http.post("/text-to-3d", data={"prompt": "A red sports car", "user_id": "user_t"}))
    app.start_worker()
    result = app.wait_status(job_id, "completed")["result"]
    assert result["mode"] == "text-to-3d" and result["prompt"] == "A red sports car"
    assert httpx.get(result["generated_image_url"]).content == prompt_png("A red sports car")
    assert images_api.requests[0]["user"] == "user_t"


def test_text_to_3d_fails_when_the_provider_refuses(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api)
    images_api.fail_next(400, "Your request was rejected as a result of our safety system.")
    job_id = submitted(app.http.post("/text-to-3d", data={"prompt": "something refused"}))
    app.start_worker()
    failed = app.wait_status(job_id, "failed")
    assert "safety system" in failed["error"] and failed["message"].startswith("Failed: ")
    assert "result" not in failed


def test_text_to_image_answers_the_documented_preview(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api)
    response = app.http.post(
        "/text-to-image",
        content="prompt=A+red+sports+car",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    body = response.json()
    assert set(body) == {"success", "preview_id", "image_url", "prompt", "message", "queue"}
    assert (body["success"], body["prompt"], body["message"]) == (
        True,
        "A red sports car",
        "Preview image generated successfully",
    )
    assert httpx.get(body["image_url"]).content == prompt_png("A red sports car")
    assert body["queue"] == {
        "position": 0,
        "previews_ahead": 0,
        "estimated_wait_seconds": None,
        "estimated_total_seconds": None,
        "queue_length": 0,
        "currently_generating": False,
    }
    # The second preview knows the first one's measured time.
    second = app.http.post("/text-to-image", data={"prompt": "A blue chair"}).json()["queue"]
    assert isinstance(second["estimated_total_seconds"], float) and second["estimated_wait_seconds"] == 0


def test_text_to_image_waits_in_the_preview_queue(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    import threading

    app = start_hydrilla(images_api, NU3D_IMAGE_API_CONCURRENCY="1")
    images_api.hold.clear()  # the provider is slow: previews pile up
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda p=p: answers.append(app.http.post("/text-to-image", data={"prompt": p}).json())
        )
        for p in ("one", "two")
    ]
    threads[0].start()
    wait_until(
        lambda: app.http.get("/queue/info").json()["currently_generating_preview"],
        timeout=20,
        what="generating",
    )
    threads[1].start()
    info = wait_until(
        lambda: (i := app.http.get("/queue/info").json())["preview_waiting"] == 1 and i,
        timeout=20,
        what="waiting",
    )
    assert info["preview_queue_length"] == 1 and info["currently_generating_preview"] is True
    images_api.hold.set()
    for thread in threads:
        thread.join(timeout=30)
    queued = next(a for a in answers if a["prompt"] == "two")["queue"]
    assert (queued["position"], queued["previews_ahead"], queued["currently_generating"]) == (1, 0, True)


def test_text_to_image_provider_failures(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api, NU3D_IMAGE_API_MAX_ATTEMPTS="2")
    images_api.fail_next(503, "overloaded", Retry_After="0")
    images_api.fail_next(503, "overloaded", Retry_After="0")
    assert error(app.http.post("/text-to-image", data={"prompt": "A mug"}), 503) == (
        "External service unavailable. Please try again later."
    )
    assert len(images_api.requests) == 2  # retried once, then gave up
    images_api.fail_next(400, "Your request was rejected as a result of our safety system.")
    assert "safety system" in error(app.http.post("/text-to-image", data={"prompt": "bad"}), 400)


def test_cancel_a_running_job_stops_at_the_next_checkpoint(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    job_id = submitted(
        app.http.post("/image-to-3d", files={"image_file": ("p.png", png_bytes(21), "image/png")})
    )
    app.start_worker(stage_s=1.0)
    running = app.wait_status(job_id, "processing")
    assert running["queue"]["currently_processing"] is True and running["queue"]["position"] == 0
    answer = app.http.post(f"/cancel/{job_id}")
    assert answer.json() == {
        "job_id": job_id,
        "status": "cancelled",
        "message": "Job cancellation requested. It will stop at the next checkpoint.",
    }
    cancelled = app.wait_status(job_id, "cancelled")
    assert cancelled["message"] == "Job cancelled" and cancelled["error"]
    assert "already finished" in error(app.http.post(f"/cancel/{job_id}"), 400)


def test_stream_sends_status_bodies_until_the_job_finishes(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    job_id = submitted(
        app.http.post("/image-to-3d", files={"image_file": ("p.png", png_bytes(31), "image/png")})
    )
    app.start_worker(stage_s=0.2)
    statuses = []
    with app.http.stream("GET", f"/stream/{job_id}", timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                statuses.append(json.loads(line[6:])["status"])
    assert statuses[0] in {"pending", "processing"} and statuses[-1] == "completed"
    assert error(app.http.get("/stream/job_missing"), 404) == "Job not found"


def test_health_and_queue_info_at_the_root(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    # At the root our liveness probe answers /health (seed 003 documents it there); 200 either way.
    assert app.http.get("/health").json() == {"status": "healthy"}
    info = app.http.get("/queue/info").json()
    assert info["queue_length"] == 0 and info["currently_processing"] is False


def test_the_backend_under_a_prefix(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla(NU3D_HYDRILLA_BACKEND_PREFIX="/hydrilla")
    assert app.http.get("/hydrilla/health").json() == {"status": "ok"}
    assert app.http.get("/health").json() == {"status": "healthy"}
    job_id = submitted(
        app.http.post("/hydrilla/image-to-3d", files={"image_file": ("p.png", png_bytes(41), "image/png")}),
        "/hydrilla",
    )
    assert app.http.get(f"/hydrilla/status/{job_id}").json()["status"] == "pending"
    assert app.http.post("/image-to-3d", data={"image_url": "https://example.com/a.png"}).status_code == 404
    # The same job through /api/3d (anonymous backend jobs have no owner: visible by id).
    assert app.http.get(f"/api/3d/status/{job_id}").json()["job"]["status"] == "WAIT"


@pytest.mark.parametrize(
    "prefix", ["hydrilla", "/api", "/health", "/a b", "/store/x", "/generate3d", "/login"]
)
def test_a_prefix_that_collides_or_is_not_a_path_is_refused(
    make_settings: Callable[..., Any], prefix: str
) -> None:
    with pytest.raises(ConfigError, match="NU3D_HYDRILLA_BACKEND_PREFIX"):
        make_settings(NU3D_HYDRILLA_BACKEND_PREFIX=prefix)


def test_text_routes_are_rate_limited_per_ip(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api, NU3D_RATE_LIMIT_TEXT="2/minute")
    for _ in range(2):
        assert app.http.post("/text-to-image", data={"prompt": "A lamp"}).status_code == 200
    limited = app.http.post("/text-to-image", data={"prompt": "A lamp"})
    assert "retry after" in error(limited, 429)
    assert len(images_api.requests) == 2  # the refused call never reached the paid provider
    assert app.http.get("/queue/info").status_code == 200  # other routes are not limited
