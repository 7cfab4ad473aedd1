"""Seed 000's /store/threed-jobs contract: 4-image upload, the 202 body, the job body with compression stats,
list filters, admin updates, its error format and limits."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.jobs.conftest import make_key

SEED_ERROR_KEYS = {"success", "error", "type", "details"}


def jpeg(seed: int, size: int = 96) -> bytes:
    # Noise-free but detailed enough that quality 95 → 85 re-encoding shrinks it.
    img = Image.new("RGB", (size, size))
    img.putdata(
        [((x * seed) % 256, (y * 7 + seed) % 256, (x * y) % 256) for y in range(size) for x in range(size)]
    )
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=98)
    return out.getvalue()


def four_views(seed: int = 1) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"image{i + 1}.jpg", jpeg(seed + i), "image/jpeg")) for i in range(4)]


FORM = {
    "caption": "A 3D model of a chair",
    "steps": "20",
    "guidance_scale": "7.5",
    "octree_resolution": "256",
    "user_id": "user_123",
    "session_id": "session_abc",
    "username": "johndoe",
}


def create(client: Any, seed: int = 1, **overrides: str) -> dict[str, Any]:
    resp = client.post("/store/threed-jobs", files=four_views(seed), data={**FORM, **overrides})
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_create_answers_202_in_the_documented_shape(client) -> None:  # noqa: ANN001
    body = create(client)
    assert set(body) == {
        "success",
        "message",
        "job_id",
        "status",
        "estimated_completion_time",
        "polling_endpoint",
    }
    assert body["success"] is True and body["status"] == "pending"
    assert body["message"] == "3D model generation job started"
    assert body["polling_endpoint"] == f"/store/threed-jobs/{body['job_id']}"
    assert body["estimated_completion_time"].endswith("minutes")


def test_job_body_while_pending_and_when_completed(client, drain) -> None:  # noqa: ANN001
    job_id = create(client)["job_id"]
    pending = client.get(f"/store/threed-jobs/{job_id}").json()
    assert pending["success"] is True
    job = pending["job"]
    assert job["status"] == "pending" and job["model_url"] is None and job["processing_time"] is None
    assert job["metadata"]["request_params"] == {
        "caption": "A 3D model of a chair",
        "steps": 20,
        "guidance_scale": 7.5,
        "octree_resolution": "256",
    }
    assert [u["filename"] for u in job["uploaded_images"]] == [
        f"compressed_{i}_image{i}.jpg" for i in range(1, 5)
    ]
    stats = job["compression_stats"][0]
    assert set(stats) == {"filename", "original_size_mb", "compressed_size_mb", "compression_ratio"}
    assert stats["compression_ratio"].endswith("%") and float(stats["compression_ratio"][:-1]) > 0
    assert float(stats["compressed_size_mb"]) <= float(stats["original_size_mb"])
    assert client.get(job["uploaded_images"][0]["url"]).status_code == 200
    assert job["created_at"].endswith("Z") and len(job["created_at"]) == len("2025-07-26T15:30:00.000Z")

    drain()
    done = client.get(f"/store/threed-jobs/{job_id}").json()["job"]
    assert done["status"] == "completed"
    assert done["model_url"] and done["original_model_url"] == done["model_url"]
    assert client.get(done["model_url"]).content[:4] == b"glTF"
    assert isinstance(done["processing_time"], int) and done["processing_time"] >= 0
    assert done["metadata"]["is_uploaded_to_storage"] is True
    assert done["metadata"]["upload_info"]["upload_successful"] is True
    assert done["error_message"] is None and done["prediction_id"].startswith("gen_")


def test_list_with_filters(client) -> None:  # noqa: ANN001
    a = create(client, 1)["job_id"]
    b = create(client, 10, user_id="someone_else", session_id="s2")["job_id"]
    everything = client.get("/store/threed-jobs").json()
    assert everything["success"] is True and [j["id"] for j in everything["jobs"]] == [b, a]
    assert [j["id"] for j in client.get("/store/threed-jobs?user_id=user_123").json()["jobs"]] == [a]
    assert [j["id"] for j in client.get("/store/threed-jobs?session_id=s2").json()["jobs"]] == [b]
    assert len(client.get("/store/threed-jobs?status=pending").json()["jobs"]) == 2
    assert client.get("/store/threed-jobs?status=completed").json()["jobs"] == []
    bad = client.get("/store/threed-jobs?status=whatever")
    assert bad.status_code == 400 and set(bad.json()) == SEED_ERROR_KEYS


def test_errors_use_the_seed_format(client) -> None:  # noqa: ANN001
    missing = client.get("/store/threed-jobs/job_nope")
    assert missing.status_code == 404
    assert missing.json()["type"] == "NOT_FOUND" and missing.json()["success"] is False
    five = client.post(
        "/store/threed-jobs", files=four_views() + [("files", ("5.jpg", jpeg(9), "image/jpeg"))]
    )
    assert five.status_code == 413 and set(five.json()) == SEED_ERROR_KEYS
    assert "at most 4" in five.json()["error"]
    text = client.post("/store/threed-jobs", files=[("files", ("a.jpg", b"hello", "image/jpeg"))])
    assert text.status_code == 400 and text.json()["type"] == "INVALID_DATA"
    big = client.post(
        "/store/threed-jobs",
        files=[("files", ("a.jpg", b"\xff\xd8" + b"0" * (10 * 1024 * 1024), "image/jpeg"))],
    )
    assert big.status_code == 413 and "10 MB" in big.json()["error"]
    octree = client.post("/store/threed-jobs", files=four_views(), data={"octree_resolution": "huge"})
    assert octree.status_code == 400 and octree.json()["type"] == "INVALID_DATA"


def test_admin_update_needs_an_admin_key(client, db) -> None:  # noqa: ANN001
    job_id = create(client)["job_id"]
    url = f"/store/threed-jobs/{job_id}"
    anonymous = client.post(url, json={"status": "cancelled"})
    assert anonymous.status_code == 401 and anonymous.json()["type"] == "UNAUTHORIZED"
    jobs_only = client.post(url, json={"status": "cancelled"}, headers={"X-API-Key": make_key(db, "jobs")})
    assert jobs_only.status_code == 403 and jobs_only.json()["type"] == "FORBIDDEN"
    admin = {"Authorization": f"Bearer {make_key(db, 'admin', name='admin')}"}
    resp = client.post(url, json={"status": "cancelled", "metadata": {"note": "duplicate"}}, headers=admin)
    assert resp.status_code == 200
    job = resp.json()["job"]
    assert job["status"] == "cancelled" and job["metadata"]["admin"] == {"note": "duplicate"}
    requeued = client.post(url, json={"status": "pending"}, headers=admin).json()["job"]
    assert requeued["status"] == "pending"
    failed = client.post(url, json={"status": "failed", "error_message": "bad photos"}, headers=admin).json()[
        "job"
    ]
    assert (failed["status"], failed["error_message"]) == ("failed", "bad photos")
    assert client.post(url, json={"status": "done"}, headers=admin).status_code == 400


def test_api_v1_jobs_are_not_visible_here(client, db) -> None:  # noqa: ANN001
    key = {"X-API-Key": make_key(db, "jobs")}
    other = client.post("/api/v1/jobs", files=four_views()[:1], headers=key).json()["id"]
    assert client.get(f"/store/threed-jobs/{other}").status_code == 404
    assert client.get("/store/threed-jobs").json()["jobs"] == []


# The seed's documented error types and its example job body (000_489d3685076eb06e.txt).
SEED_TYPES = {"INVALID_DATA", "NOT_FOUND", "UNAUTHORIZED", "FORBIDDEN", "INTERNAL_ERROR"}
SEED_JOB_KEYS = {
    "id",
    "status",
    "prediction_id",
    "model_url",
    "original_model_url",
    "uploaded_images",
    "compression_stats",
    "processing_time",
    "error_message",
    "created_at",
    "updated_at",
    "metadata",
}
SEED_METADATA_KEYS = {"request_params", "is_uploaded_to_storage", "synexa_processing_time", "upload_info"}
SEED_UPLOAD_INFO_KEYS = {
    "attempted_upload",
    "upload_successful",
    "fallback_used",
    "storage_url",
    "external_url",
}


def stored_files(settings: Any) -> list[Any]:
    from pathlib import Path

    root = Path(settings.storage_url)
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []


def test_job_bodies_have_exactly_the_seeds_keys(client, drain) -> None:  # noqa: ANN001
    job_id = create(client)["job_id"]
    drain()
    for job in (
        client.get(f"/store/threed-jobs/{job_id}").json()["job"],
        client.get("/store/threed-jobs").json()["jobs"][0],  # the open list: no username, user or session ids
    ):
        assert set(job) == SEED_JOB_KEYS
        assert set(job["metadata"]) == SEED_METADATA_KEYS
        assert set(job["metadata"]["upload_info"]) == SEED_UPLOAD_INFO_KEYS
        assert set(job["metadata"]["request_params"]) == {
            "caption",
            "steps",
            "guidance_scale",
            "octree_resolution",
        }
        assert set(job["uploaded_images"][0]) == {"url", "filename", "size_mb"}
        assert "johndoe" not in str(job)


def test_method_not_allowed_and_unknown_paths_answer_in_the_seed_shape(client) -> None:  # noqa: ANN001
    resp = client.delete("/store/threed-jobs/job_x")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert resp.json() == {
        "success": False,
        "error": "DELETE is not supported on /store/threed-jobs/job_x",
        "type": "INVALID_DATA",
        "details": "allowed methods: GET, HEAD, OPTIONS, POST",
    }
    put = client.put("/store/threed-jobs", json={})
    assert (
        put.status_code == 405 and put.json()["type"] == "INVALID_DATA" and set(put.json()) == SEED_ERROR_KEYS
    )
    unknown = client.get("/store/threed-jobs/job_x/extra")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "success": False,
        "error": "/store/threed-jobs/job_x/extra not found",
        "type": "NOT_FOUND",
        "details": "endpoints: /store/threed-jobs and /store/threed-jobs/:id",
    }


def test_unhandled_error_answers_500_in_the_seed_shape(make_settings, monkeypatch) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from shop_app.app import create_app
    from shop_app.storage import make_storage

    settings = make_settings()
    storage = make_storage(settings)

    def disk_on_fire(*_: Any, **__: Any) -> str:
        raise RuntimeError("disk on fire")  # an unexpected failure deep inside the route

    monkeypatch.setattr(storage, "put", disk_on_fire)
    with TestClient(create_app(settings, storage=storage), raise_server_exceptions=False) as c:
        resp = c.post("/store/threed-jobs", files=four_views(), data=FORM)
    assert resp.status_code == 500, resp.text
    body = resp.json()
    assert set(body) == SEED_ERROR_KEYS
    assert (body["success"], body["error"], body["type"]) == (
        False,
        "Internal server error",
        "INTERNAL_ERROR",
    )
    assert body["details"].startswith("quote request id ")


def test_every_error_type_is_one_the_seed_documents(client, db) -> None:  # noqa: ANN001
    answers = [
        client.get("/store/threed-jobs/job_nope"),
        client.get("/store/threed-jobs?status=whatever"),
        client.post("/store/threed-jobs/job_nope", json={"status": "cancelled"}),
        client.post(
            "/store/threed-jobs/job_nope",
            json={"status": "cancelled"},
            headers={"X-API-Key": make_key(db, "jobs")},
        ),
        client.patch("/store/threed-jobs/job_nope", json={}),
        client.post("/store/threed-jobs", files=four_views(), data={"steps": "0"}),
    ]
    assert [r.status_code for r in answers] == [404, 400, 401, 403, 405, 400]
    for resp in answers:
        assert set(resp.json()) == SEED_ERROR_KEYS and resp.json()["success"] is False
        assert resp.json()["type"] in SEED_TYPES


@pytest.mark.parametrize(
    ("field", "value"),
    [("octree_resolution", "0"), ("steps", "0"), ("steps", "1000"), ("guidance_scale", "99")],
)
def test_bad_numbers_are_refused_before_anything_is_stored(client, api_settings, field, value) -> None:  # noqa: ANN001
    resp = client.post("/store/threed-jobs", files=four_views(), data={**FORM, field: value})
    assert resp.status_code == 400 and resp.json()["type"] == "INVALID_DATA", resp.text
    assert field in resp.json()["error"] and resp.json()["details"] == f"field: {field}"
    assert stored_files(api_settings) == []


def test_exactly_four_images_and_the_oversize_message(client, api_settings) -> None:  # noqa: ANN001
    for count in (1, 3):
        resp = client.post("/store/threed-jobs", files=four_views()[:count], data=FORM)
        assert resp.status_code == 400 and resp.json()["type"] == "INVALID_DATA", resp.text
        assert resp.json()["error"].startswith(f"{count} image file(s) received; send exactly 4 image files")
    big = client.post(
        "/store/threed-jobs",
        files=[
            *four_views()[:3],
            ("files", ("big.jpg", b"\xff\xd8" + b"0" * (11 * 1024 * 1024), "image/jpeg")),
        ],
    )
    assert (
        big.status_code == 413 and big.json()["error"] == "big.jpg is over 10 MB; the limit is 10 MB per file"
    )
    assert stored_files(api_settings) == []
