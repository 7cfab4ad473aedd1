"""The scheduler's unreferenced-blob sweep, on a local directory and on a real S3-compatible server (moto)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

from scheduler import jobs
from shop_app.blob_sweep import sweep_unreferenced_blobs
from shop_app.db import session_scope
from shop_app.settings import Settings
from shop_app.storage import LocalStorage, S3Storage, make_storage
from tests.job_requests import enqueue_job
from tests.jobs.conftest import files_for

HOUR = 3600.0


def _age(storage: LocalStorage, key: str, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(storage.path_for(key), (when, when))


def test_sweep_removes_old_unreferenced_files_and_keeps_the_rest(
    client: Any, api_settings: Settings, db: Any, auth: dict[str, str]
) -> None:
    created = client.post("/api/v1/jobs", files=files_for(7), headers=auth)
    assert created.status_code == 202, created.text
    storage = make_storage(api_settings)
    assert isinstance(storage, LocalStorage)
    [uploaded] = [b.key for b in storage.list_blobs()]
    orphan = storage.put(b"left behind by a refused batch", suffix=".png")
    in_flight = storage.put(b"an upload whose row is not committed yet", suffix=".png")
    # A temp file of a write that was interrupted (the process was killed mid-write).
    stale_tmp = storage.path_for(uploaded).parent / ".tmp-interrupted"
    stale_tmp.write_bytes(b"half")
    for key in (uploaded, orphan):
        _age(storage, key, 2 * HOUR)
    when = time.time() - 2 * HOUR
    os.utime(stale_tmp, (when, when))

    report = jobs.sweep_blobs(api_settings.model_copy(update={"blob_sweep_grace_s": HOUR}), db)

    assert sorted(report.deleted) == sorted([orphan, stale_tmp.relative_to(storage.root).as_posix()])
    assert (report.referenced, report.too_recent, report.errors) == (1, 1, [])
    assert storage.exists(uploaded) and storage.exists(in_flight) and not storage.exists(orphan)
    # The job still reads its input; the server is healthy.
    job = client.get(f"/api/v1/jobs/{created.json()['id']}", headers=auth)
    assert job.status_code == 200
    assert client.get("/health").status_code == 200


def test_a_re_put_of_old_bytes_refreshes_them_for_the_grace_period(api_settings: Settings, db: Any) -> None:
    storage = make_storage(api_settings)
    assert isinstance(storage, LocalStorage)
    key = storage.put(b"same bytes", suffix=".png")
    _age(storage, key, 2 * HOUR)
    assert storage.put(b"same bytes", suffix=".png") == key  # a new request about to reference it
    report = sweep_unreferenced_blobs(engine=db, storage=storage, grace_s=HOUR)
    assert report.deleted == [] and storage.exists(key)


def test_sweep_on_s3(s3_server: str, aws_credentials: None, db: Any) -> None:  # noqa: ARG001
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket="sweep")
    store = S3Storage(bucket="sweep", prefix="nu3d/", endpoint_url=s3_server, region="us-east-1")
    kept = store.put(b"an input image", suffix=".png")
    orphan = store.put(b"nobody's", suffix=".glb")
    with session_scope(db) as session:
        enqueue_job(session=session, inputs={"image_keys": [kept]})

    assert sweep_unreferenced_blobs(engine=db, storage=store, grace_s=HOUR).deleted == []  # all recent
    report = sweep_unreferenced_blobs(engine=db, storage=store, grace_s=0)
    assert report.deleted == [orphan] and report.referenced == 1 and report.errors == []
    assert store.exists(kept) and not store.exists(orphan)
    assert httpx.get(store.url(kept, ttl_s=60)).content == b"an input image"


def test_sweep_reports_an_unreachable_store(db: Any, aws_credentials: None) -> None:  # noqa: ARG001
    from tests.conftest import free_port

    store = S3Storage(
        bucket="x", prefix="", endpoint_url=f"http://127.0.0.1:{free_port()}", region="us-east-1"
    )
    report = sweep_unreferenced_blobs(engine=db, storage=store, grace_s=0)
    assert report.deleted == [] and report.errors and "S3 list failed" in report.errors[0]


def test_listing_ignores_files_outside_the_content_area(api_settings: Settings, tmp_path: Path) -> None:  # noqa: ARG001
    storage = make_storage(api_settings)
    assert isinstance(storage, LocalStorage)
    (storage.root / "README").write_text("operator notes")
    assert [b.key for b in storage.list_blobs()] == []
