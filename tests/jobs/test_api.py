"""The canonical /api/v1 job API over the real app (auth, create, list, get, cancel, retry, rename, delete,
model download, batches, queue stats) with jobs run by the worker's own code path and the fake engine."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.jobs.conftest import files_for, make_key, png_bytes


def create(client: Any, auth: dict[str, str], *seeds: int, **data: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/jobs", files=files_for(*(seeds or (1,))), data=data, headers=auth)
    assert resp.status_code == 202, resp.text
    return resp.json()


def test_auth_is_required_and_both_header_styles_work(client, key) -> None:  # noqa: ANN001
    resp = client.get("/api/v1/jobs")
    assert resp.status_code == 401
    assert resp.json()["detail"]["code"] == "AUTHENTICATION_REQUIRED"
    assert "X-API-Key" in resp.json()["detail"]["message"]
    bad = client.get("/api/v1/jobs", headers={"X-API-Key": "nu3d_not-a-real-key"})
    assert (bad.status_code, bad.json()["detail"]["code"]) == (401, "INVALID_API_KEY")
    assert client.get("/api/v1/jobs", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_create_poll_and_download(client, auth, drain) -> None:  # noqa: ANN001
    job = create(client, auth, 1, 2, name="Chair", user_id="u1", steps="12")
    assert job["status"] == "queued" and job["queue"]["position"] == 0
    assert job["params"] == {"steps": 12}
    assert job["inputs"]["image_count"] == 2
    assert job["urls"]["get"].endswith(f"/api/v1/jobs/{job['id']}")
    assert drain() == 1
    resp = client.get(f"/api/v1/jobs/{job['id']}", headers=auth)
    body = resp.json()
    assert body["status"] == "succeeded" and body["progress"] == 100 and body["terminal"] is True
    assert body["result"]["cached"] is False
    assert body["version"] > job["version"]
    glb = client.get(body["result"]["glb_url"])  # signed storage URL, no key needed
    assert glb.status_code == 200 and glb.content[:4] == b"glTF"
    model = client.get(f"/api/v1/jobs/{job['id']}/model", headers=auth)
    assert model.content == glb.content and model.headers["content-type"] == "model/gltf-binary"
    etag = resp.headers["etag"]
    assert client.get(f"/api/v1/jobs/{job['id']}", headers={**auth, "If-None-Match": etag}).status_code == 304


def test_same_images_again_complete_at_once_from_the_stored_result(client, auth, drain) -> None:  # noqa: ANN001
    create(client, auth, 5)
    drain()
    again = create(client, auth, 5)
    assert again["status"] == "succeeded" and again["result"]["cached"] is True
    other_params = create(client, auth, 5, steps="30")
    assert other_params["status"] == "queued"


def test_idempotency_key_returns_the_same_job(client, auth) -> None:  # noqa: ANN001
    headers = {**auth, "Idempotency-Key": "order-42"}
    a = client.post("/api/v1/jobs", files=files_for(1), headers=headers)
    b = client.post("/api/v1/jobs", files=files_for(1), headers=headers)
    assert a.json()["id"] == b.json()["id"]
    assert b.headers["idempotent-replayed"] == "true"
    assert len(client.get("/api/v1/jobs", headers=auth).json()["jobs"]) == 1


@pytest.mark.parametrize(
    ("files", "data", "status", "code", "needle"),
    [
        ([], {}, 400, "VALIDATION_ERROR", "no image"),
        (files_for(1, 2, 3, 4, 5), {}, 413, "FILE_TOO_LARGE", "at most 4"),
        (
            [("files", ("photo.png", b"just text, not a picture", "image/png"))],
            {},
            400,
            "VALIDATION_ERROR",
            "not an image",
        ),
        (
            [("files", ("big.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024), "image/png"))],
            {},
            413,
            "FILE_TOO_LARGE",
            "10 MB",
        ),
        (files_for(1), {"steps": "0"}, 400, "VALIDATION_ERROR", "steps must be between 1 and 200"),
        (files_for(1), {"resolution": "200"}, 400, "VALIDATION_ERROR", "resolution must be one of"),
    ],
)
def test_bad_uploads_get_clear_errors(client, auth, files, data, status, code, needle) -> None:  # noqa: ANN001
    if not files:
        resp = client.post(
            "/api/v1/jobs", data={"x": "1"}, files=[("other", ("a.txt", b"x", "text/plain"))], headers=auth
        )
    else:
        resp = client.post("/api/v1/jobs", files=files, data=data, headers=auth)
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert detail["code"] == code and needle in detail["message"]


def test_gif_renamed_to_png_is_refused_by_content(client, auth) -> None:  # noqa: ANN001
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="GIF")
    resp = client.post(
        "/api/v1/jobs", files=[("files", ("cat.png", out.getvalue(), "image/png"))], headers=auth
    )
    assert resp.status_code == 400
    assert resp.json()["detail"]["details"]["reason"] == "unsupported_type"


def test_json_image_urls(client, auth) -> None:  # noqa: ANN001
    resp = client.post(
        "/api/v1/jobs",
        json={"image_urls": ["https://cdn.example.com/a.png"], "params": {"steps": 4}},
        headers=auth,
    )
    assert resp.status_code == 202 and resp.json()["inputs"]["image_urls"] == [
        "https://cdn.example.com/a.png"
    ]
    bad = client.post("/api/v1/jobs", json={"image_urls": ["file:///etc/passwd"]}, headers=auth)
    assert bad.status_code == 400 and "http(s)" in bad.json()["detail"]["message"]


def test_list_filters_pagination_and_isolation(client, auth, db) -> None:  # noqa: ANN001
    ids = [create(client, auth, i, user_id="alice" if i % 2 else "bob")["id"] for i in range(1, 6)]
    listed = client.get("/api/v1/jobs?limit=2", headers=auth).json()
    assert [j["id"] for j in listed["jobs"]] == ids[::-1][:2]
    page2 = client.get(f"/api/v1/jobs?limit=2&cursor={listed['next_cursor']}", headers=auth).json()
    assert [j["id"] for j in page2["jobs"]] == ids[::-1][2:4]
    alice = client.get("/api/v1/jobs?user_id=alice", headers=auth).json()["jobs"]
    assert {j["user_id"] for j in alice} == {"alice"} and len(alice) == 3
    assert client.get("/api/v1/jobs?status=WAIT", headers=auth).json()["jobs"]  # seed 002's word for queued
    assert client.get("/api/v1/jobs?status=nonsense", headers=auth).status_code == 400
    other = {"X-API-Key": make_key(db, "jobs", name="other")}
    assert client.get("/api/v1/jobs", headers=other).json()["jobs"] == []
    assert client.get(f"/api/v1/jobs/{ids[0]}", headers=other).status_code == 404
    admin = {"X-API-Key": make_key(db, "admin", name="admin")}
    assert len(client.get("/api/v1/jobs", headers=admin).json()["jobs"]) == 5


def test_cancel_retry_rename_delete(client, auth, drain) -> None:  # noqa: ANN001
    job = create(client, auth, 1)
    url = f"/api/v1/jobs/{job['id']}"
    resp = client.post(f"{url}/cancel", headers=auth)
    assert (resp.status_code, resp.json()["status"]) == (200, "canceled")
    assert client.post(f"{url}/cancel", headers=auth).json()["status"] == "already_completed"
    retried = client.post(f"{url}/retry", headers=auth)
    assert retried.status_code == 202 and retried.json()["status"] == "queued"
    assert client.post(f"{url}/retry", headers=auth).status_code == 409
    renamed = client.patch(url, json={"name": "Blue chair"}, headers=auth)
    assert renamed.json()["name"] == "Blue chair"
    assert client.patch(url, json={"status": "done"}, headers=auth).status_code == 400
    drain()
    glb_url = client.get(url, headers=auth).json()["result"]["glb_url"]
    twin = create(client, auth, 1)  # shares the stored result
    gone = client.delete(url, headers=auth)
    assert gone.json() == {"id": job["id"], "deleted": True, "purged_files": 0}
    assert client.get(url, headers=auth).status_code == 404
    assert client.get(glb_url).status_code == 200  # still used by the twin
    purged = client.delete(f"/api/v1/jobs/{twin['id']}", headers=auth).json()["purged_files"]
    assert purged >= 3  # glb, splat, preview (and the input image)
    assert client.get(glb_url).status_code == 404


def test_a_poll_answers_the_same_resource_as_the_list(client, auth, drain, db, monkeypatch) -> None:  # noqa: ANN001
    # The single read renders from a Core row, the list from the ORM entity: a client must not be able to
    # tell them apart, in any state, byte for byte.
    import json

    from shop_app.jobs.lease import claim_job, fail_job

    done = create(client, auth, 1)["id"]
    assert drain() == 1
    failed, running = create(client, auth, 2)["id"], create(client, auth, 3)["id"]
    queued = create(client, auth, 4, name="Lamp", user_id="u7", steps="9")["id"]
    assert claim_job(db, worker_id="w", lease_s=30).id == failed
    fail_job(db, job_id=failed, worker_id="w", code="bad_image", message="not a photo", retryable=False)
    assert claim_job(db, worker_id="w", lease_s=30).id == running
    # the queue figures every job shares (live workers, the run-time average) come from a 1 s cache: filled
    # afresh here and kept for the whole comparison, so a slow machine cannot let it expire between the list
    # and a poll (the average exists only once the first job is done)
    from shop_app.jobs import stats

    stats.clear_caches()
    monkeypatch.setattr(stats, "_SHARED_TTL_S", 3600.0)
    # a finished job's signed URLs expire a fixed time after the clock reading that signs them: one reading
    # for the list and every poll (a second boundary between them changed `expires=` and the signature)
    import time
    import types

    import shop_app.storage

    signed_at = time.time()
    monkeypatch.setattr(shop_app.storage, "time", types.SimpleNamespace(time=lambda: signed_at))
    listed = {j["id"]: j for j in client.get("/api/v1/jobs", headers=auth).json()["jobs"]}
    for job_id, status in ((done, "succeeded"), (failed, "failed"), (running, "running"), (queued, "queued")):
        resp = client.get(f"/api/v1/jobs/{job_id}", headers=auth)
        assert resp.json()["status"] == status
        rendered = json.dumps(listed[job_id], ensure_ascii=False, separators=(",", ":")).encode()
        assert resp.content == rendered
    assert client.get(f"/api/v1/jobs/{done}", headers=auth).json()["result"]["glb_url"]


def test_cancel_of_a_running_job_is_requested(client, auth, db) -> None:  # noqa: ANN001
    from shop_app.jobs.lease import claim_job

    job = create(client, auth, 1)
    claim_job(db, worker_id="w", lease_s=30)
    resp = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=auth)
    assert (resp.status_code, resp.json()["status"]) == (202, "cancellation_requested")
    assert resp.json()["job"]["cancel_requested"] is True
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=auth).status_code == 409


def test_active_job_cap_per_key(make_settings, db) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from shop_app.app import create_app

    key = {"X-API-Key": make_key(db, "jobs")}
    with TestClient(create_app(make_settings(NU3D_JOB_MAX_ACTIVE_PER_KEY="2"))) as c:
        for seed in (1, 2):
            assert c.post("/api/v1/jobs", files=files_for(seed), headers=key).status_code == 202
        resp = c.post("/api/v1/jobs", files=files_for(3), headers=key)
    assert resp.status_code == 429
    assert resp.json()["detail"]["code"] == "TOO_MANY_ACTIVE_JOBS"
    assert resp.headers["retry-after"]


def test_batch_upload_progress_and_zip(client, auth, drain) -> None:  # noqa: ANN001
    resp = client.post(
        "/api/v1/batches", files=files_for(1, 2, 3, name="shoe"), data={"session_id": "s1"}, headers=auth
    )
    assert resp.status_code == 202
    batch = resp.json()
    assert batch["total_files"] == 3 and [f["filename"] for f in batch["files"]] == [
        "shoe0.png",
        "shoe1.png",
        "shoe2.png",
    ]
    before = client.get(f"/api/v1/batches/{batch['id']}", headers=auth).json()
    assert before["status"] == "processing" and before["progress"] == 0
    assert client.get(f"/api/v1/batches/{batch['id']}/download", headers=auth).status_code == 409
    drain()
    after = client.get(f"/api/v1/batches/{batch['id']}", headers=auth).json()
    assert (after["status"], after["progress"], after["processed_files"]) == ("completed", 100, 3)
    archive = client.get(f"/api/v1/batches/{batch['id']}/download", headers=auth)
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        assert sorted(zf.namelist()) == ["shoe0.glb", "shoe1.glb", "shoe2.glb"]
        assert all(zf.read(n)[:4] == b"glTF" for n in zf.namelist())
    too_many = client.post(
        "/api/v1/batches",
        files=[("files", (f"f{i}.png", png_bytes(i), "image/png")) for i in range(26)],
        headers=auth,
    )
    assert too_many.status_code == 413


def test_queue_stats_and_info(client, auth, drain, db) -> None:  # noqa: ANN001
    from shop_app.jobs.workers import register_worker

    create(client, auth, 1)
    create(client, auth, 2)
    drain(limit=1)
    stats = client.get("/api/v1/queue/stats", headers=auth).json()
    assert (stats["waiting"], stats["active"], stats["completed"], stats["total"]) == (1, 0, 1, 2)
    register_worker(db, worker_id="w1", device="cpu")
    info = client.get("/api/v1/queue/info").json()
    assert info["queue_length"] == 1 and info["live_workers"] == 1
    assert info["estimated_time_per_job_seconds"] is not None
    assert info["estimated_wait_for_new_job_seconds"] is not None


def test_seed002_status_view(client, auth) -> None:  # noqa: ANN001
    a = create(client, auth, 1)
    b = create(client, auth, 2)
    body = client.get(f"/api/v1/jobs/{b['id']}/status", headers=auth).json()
    assert body["job"]["status"] == "WAIT" and body["job"]["state"] == "waiting"
    assert (body["queue"]["position"], body["queue"]["jobs_ahead"]) == (2, 1)
    assert a["id"] != b["id"]


def test_key_use_is_recorded_on_reads_and_writes(client, db) -> None:  # noqa: ANN001
    from sqlmodel import select

    from shop_app.db import session_scope
    from shop_app.models import ApiKey

    def last_used(name: str):  # noqa: ANN202
        with session_scope(db) as session:
            return session.exec(select(ApiKey.last_used_at).where(ApiKey.name == name)).one()

    writer = {"X-API-Key": make_key(db, "jobs", name="writer")}
    assert client.post("/api/v1/jobs", files=files_for(1), headers=writer).status_code == 202
    assert last_used("writer") is not None
    reader = {"X-API-Key": make_key(db, "jobs", name="reader")}
    assert client.get("/api/v1/jobs", headers=reader).status_code == 200
    assert last_used("reader") is not None
