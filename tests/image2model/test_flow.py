"""The document's flow, replayed over HTTP: upload a batch, follow its SSE stream, read its status,
download one model and all of them, regenerate one with another face_limit."""

from __future__ import annotations

import io
import zipfile

import httpx

from tests.image2model.conftest import API, images
from tests.jobs.conftest import FAST, Drainer, make_key, wait_until
from tests.live_server import LiveServer, read_events


def upload(live: LiveServer, headers: dict[str, str], files: list, **data: str) -> dict:
    resp = httpx.post(f"{live.url}{API}/upload/batch", files=files, data=data, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def status(live: LiveServer, headers: dict[str, str], batch_id: str) -> dict:
    resp = httpx.get(f"{live.url}{API}/status/{batch_id}", headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_upload_stream_status_download_like_the_document(live: LiveServer, workers, bearer) -> None:  # noqa: ANN001
    batch = upload(live, bearer, images(1, 2), face_limit="10000")
    # The document's response: {"job_id": "batch_2024..._abc123", "session_id": "sess_...", "files": [...]}
    assert batch["job_id"].startswith("batch_") and batch["session_id"].startswith("sess_")
    assert batch["files"] == [
        {"file_id": "file_001", "filename": "image1.png", "status": "pending"},
        {"file_id": "file_002", "filename": "image2.png", "status": "pending"},
    ]
    assert (batch["total_files"], batch["status"]) == (2, "processing")

    workers.start(fake_stage_s=0.1)
    with httpx.stream(
        "GET", f"{live.url}{API}/status/stream/{batch['job_id']}", headers=bearer, timeout=60
    ) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = [e["data"] for e in read_events(resp, max_s=60) if "data" in e]
    kinds = {e["type"] for e in events}
    assert {"progress", "log", "completed"} <= kinds, events
    for event in events:
        shape = {"progress": "progress", "log": "message", "completed": "model_url"}[event["type"]]
        assert set(event) == {"type", "job_id", "file_id", shape}, event
        assert event["job_id"] == batch["job_id"]
    completed = [e for e in events if e["type"] == "completed"]
    assert sorted(e["file_id"] for e in completed) == ["file_001", "file_002"]
    assert all(e["model_url"].startswith("http") for e in completed)

    body = status(live, bearer, batch["job_id"])
    assert (body["status"], body["total_files"], body["processed_files"], body["failed_files"]) == (
        "completed",
        2,
        2,
        0,
    )
    assert body["progress"] == 100.0
    first = body["files"][0]
    assert (first["file_id"], first["filename"], first["status"]) == ("file_001", "image1.png", "completed")
    assert first["model_url"] and first["model_task_id"]

    # Download one model (local storage: the GLB itself), with and without the batch's session.
    url = f"{live.url}{API}/download/{batch['job_id']}/file_001/model"
    for params in ({}, {"session_id": batch["session_id"]}):
        model = httpx.get(url, params=params, headers=bearer, timeout=10)
        assert model.status_code == 200 and model.content[:4] == b"glTF"
    assert httpx.get(url, params={"session_id": "sess_other"}, headers=bearer).status_code == 404

    archive = httpx.get(f"{live.url}{API}/download/{batch['job_id']}/all", headers=bearer, timeout=10)
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        assert sorted(z.namelist()) == ["image1.glb", "image2.glb"]
        assert z.read("image1.glb")[:4] == b"glTF"

    # generate-single: the same face_limit keeps the finished model; another one queues a new model task.
    same = httpx.post(
        f"{live.url}{API}/models/generate-single",
        json={"job_id": batch["job_id"], "file_id": "file_001", "face_limit": 10000},
        headers=bearer,
    ).json()
    assert same == {
        "job_id": batch["job_id"],
        "file_id": "file_001",
        "model_task_id": first["model_task_id"],
        "status": "completed",
    }
    other = httpx.post(
        f"{live.url}{API}/models/generate-single",
        json={"job_id": batch["job_id"], "file_id": "file_001", "face_limit": 20000},
        headers=bearer,
    ).json()
    assert other["model_task_id"] != first["model_task_id"] and other["status"] == "processing"

    def regenerated() -> dict | None:
        entry = status(live, bearer, batch["job_id"])["files"][0]
        return (
            entry
            if entry["model_task_id"] == other["model_task_id"] and entry["status"] == "completed"
            else None
        )

    assert wait_until(regenerated, timeout=60, what="the new model task to complete")
    assert status(live, bearer, batch["job_id"])["total_files"] == 2  # still two files, not three


def test_zip_entry_names_are_sanitised(live: LiveServer, drain, bearer) -> None:  # noqa: ANN001
    names = ["../../evil.png", "C:\\temp\\win.png", "a\\b\\c.png", "..png"]
    batch = upload(live, bearer, images(11, 12, 13, 14, names=names))
    assert drain() == 4
    archive = httpx.get(f"{live.url}{API}/download/{batch['job_id']}/all", headers=bearer, timeout=10)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        entries = z.namelist()
    assert len(entries) == 4
    for entry in entries:
        assert ".." not in entry and "\\" not in entry and "/" not in entry and ":" not in entry, entries
        assert entry.endswith(".glb")
    assert {"evil.glb", "win.glb", "c.glb"} <= set(entries)


def test_remote_store_download_redirects(make_settings, s3_server: str, aws_credentials, db) -> None:  # noqa: ANN001
    import boto3

    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket="i2m-models")
    settings = make_settings(
        **FAST, NU3D_STORAGE_URL="s3://i2m-models/models", NU3D_S3_ENDPOINT_URL=s3_server
    )
    headers = {"Authorization": f"Bearer {make_key(db, 'jobs')}"}
    with LiveServer(settings) as live:
        batch = upload(live, headers, images(21))
        assert Drainer(settings, db)() == 1
        resp = httpx.get(f"{live.url}{API}/download/{batch['job_id']}/file_001/model", headers=headers)
    assert resp.status_code == 302
    assert resp.headers["location"].startswith(s3_server) and "Signature" in resp.headers["location"]


def test_status_of_someone_elses_batch_is_not_found(live: LiveServer, bearer, db) -> None:  # noqa: ANN001
    batch = upload(live, bearer, images(31))
    stranger = {"Authorization": f"Bearer {make_key(db, 'jobs', name='stranger')}"}
    for path in (
        f"status/{batch['job_id']}",
        f"download/{batch['job_id']}/all",
        f"download/{batch['job_id']}/file_001/model",
    ):
        resp = httpx.get(f"{live.url}{API}/{path}", headers=stranger)
        assert resp.status_code == 404 and resp.json()["detail"]["code"] == "NOT_FOUND", path
    missing = httpx.get(f"{live.url}{API}/download/{batch['job_id']}/file_009/model", headers=bearer)
    assert missing.status_code == 404


def test_lives_next_to_our_own_api_v1(live: LiveServer, bearer) -> None:  # noqa: ANN001
    ours = httpx.post(f"{live.url}{API}/jobs", files=images(41), headers=bearer)
    assert ours.status_code == 202 and ours.json()["object"] == "job"
    # Our job ids are not Image2Model batches, and our routes keep our rate limit.
    assert httpx.get(f"{live.url}{API}/status/{ours.json()['id']}", headers=bearer).status_code == 404
    assert ours.headers["x-ratelimit-limit"] == "600"
    theirs = httpx.get(f"{live.url}{API}/status/batch_x", headers=bearer)
    assert theirs.headers["x-ratelimit-limit"] == "60"
