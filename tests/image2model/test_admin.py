"""Admin system info, cleanup, logs and health, over HTTP."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from shop_app.db import session_scope
from shop_app.jobs.workers import register_worker
from shop_app.models import Shop
from shop_app.models.base import utcnow
from shop_app.models.jobs import Generation, Job
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.storage import make_storage
from tests.image2model.conftest import API, images
from tests.live_server import LiveServer


def test_system_info(live: LiveServer, admin, bearer) -> None:  # noqa: ANN001
    httpx.post(f"{live.url}{API}/upload/batch", files=images(1, 2), headers=bearer)
    resp = httpx.get(f"{live.url}{API}/admin/system-info", headers=admin)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    system = body["system"]
    assert system["platform"] == sys.platform and system["cpu_count"] >= 1
    assert set(system["memory"]) == {"total", "available", "percent"} and system["memory"]["total"] > 0
    assert set(system["disk"]) == {"total", "used", "free", "percent"} and system["disk"]["total"] > 0
    assert system["gpu"] is None or all("name" in gpu for gpu in system["gpu"])
    assert body["jobs"]["active"] == 2 and body["jobs"]["completed"] == 0 and body["jobs"]["failed"] == 0


def _age(db, batch_id: str, hours: float) -> list[Job]:  # noqa: ANN001
    with session_scope(db) as session:
        jobs = session.exec(select(Job).where(Job.batch_id == batch_id)).all()
        for job in jobs:
            job.finished_at = utcnow() - timedelta(hours=hours)
            session.add(job)
        return list(jobs)


def _approve(db, job: Job) -> None:  # noqa: ANN001
    with session_scope(db) as session:
        shop = Shop(domain="cleanup.myshopify.com")
        session.add(shop)
        session.flush()
        product = Product(shop_id=shop.id, gid="gid://shopify/Product/1", title="Mug", handle="mug")
        session.add(product)
        session.flush()
        image = ProductImage(
            shop_id=shop.id,
            product_id=product.id,
            gid="gid://shopify/ProductImage/1",
            url="https://x/1.png",
            content_version="1",
        )
        session.add(image)
        session.flush()
        session.add(Approval(shop_id=shop.id, product_image_id=image.id, job_id=job.id, status="approved"))


def test_cleanup_keeps_live_and_approved_models(
    live: LiveServer, i2m_settings, drain, db, admin, bearer
) -> None:  # noqa: ANN001
    old = httpx.post(f"{live.url}{API}/upload/batch", files=images(1, 2, 3), headers=bearer).json()
    assert drain() == 3
    jobs = _age(db, old["job_id"], hours=48)
    approved, shared, plain = jobs
    _approve(db, approved)
    # A live job uses the same image as `shared`: its upload must survive.
    live_batch = httpx.post(
        f"{live.url}{API}/upload/batch", files=images(2), data={"face_limit": "5000"}, headers=bearer
    ).json()
    storage = make_storage(i2m_settings)
    with session_scope(db) as session:
        glb = {j.id: session.get(Generation, j.generation_id).glb_key for j in jobs}

    # Nothing is older than 72 hours.
    none = httpx.post(f"{live.url}{API}/admin/cleanup", json={"older_than_hours": 72}, headers=admin).json()
    assert (none["cleaned_files"], none["deleted_jobs"]) == (0, 0)

    resp = httpx.post(f"{live.url}{API}/admin/cleanup", json={"older_than_hours": 24}, headers=admin)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["deleted_jobs"] == 2 and body["kept_jobs"] == 1
    assert body["cleaned_files"] >= 2 and body["freed_space_mb"] >= 0
    assert storage.exists(glb[approved.id])  # approved model kept
    assert not storage.exists(glb[plain.id])
    with session_scope(db) as session:
        assert session.get(Job, approved.id) is not None and session.get(Job, plain.id) is None
        live_job = session.exec(select(Job).where(Job.batch_id == live_batch["job_id"])).one()
        assert live_job.status == "queued"
        assert all(storage.exists(k) for k in live_job.inputs["image_keys"])  # the live job's image kept

    bad = httpx.post(f"{live.url}{API}/admin/cleanup", json={"older_than_hours": "soon"}, headers=admin)
    assert bad.status_code == 400 and bad.json()["detail"]["code"] == "VALIDATION_ERROR"


def test_logs_with_filters_and_correlation_ids(
    live: LiveServer, admin, bearer, caplog: pytest.LogCaptureFixture
) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO)
    # A refused request logs one INFO line under its request id.
    httpx.get(f"{live.url}{API}/status/batch_nope", headers={**bearer, "X-Request-ID": "req_123"})
    resp = httpx.get(f"{live.url}{API}/logs", params={"lines": 100, "level": "INFO"}, headers=admin)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total_lines"] == len(body["logs"]) >= 1
    mine = [line for line in body["logs"] if line["correlation_id"] == "req_123"]
    assert mine and "404" in mine[0]["message"] and mine[0]["level"] == "INFO"
    assert set(mine[0]) == {"timestamp", "level", "message", "correlation_id", "logger"}
    assert mine[0]["timestamp"].endswith("Z")
    errors_only = httpx.get(f"{live.url}{API}/logs", params={"level": "ERROR"}, headers=admin).json()
    assert all(line["level"] in {"ERROR", "CRITICAL"} for line in errors_only["logs"])
    one = httpx.get(f"{live.url}{API}/logs", params={"lines": 1}, headers=admin).json()
    assert one["total_lines"] == 1
    future = httpx.get(
        f"{live.url}{API}/logs", params={"since": "2999-01-01T00:00:00Z"}, headers=admin
    ).json()
    assert future == {"logs": [], "total_lines": 0}
    for params in ({"level": "LOUD"}, {"lines": "0"}, {"lines": "many"}, {"since": "yesterday"}):
        bad = httpx.get(f"{live.url}{API}/logs", params=params, headers=admin)
        assert bad.status_code == 400 and bad.json()["detail"]["code"] == "VALIDATION_ERROR", params


def test_health_and_readiness(live: LiveServer, start_live, db) -> None:  # noqa: ANN001
    assert httpx.get(f"{live.url}{API}/health").json() == {"status": "healthy"}
    ready = httpx.get(f"{live.url}{API}/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {
            "database": "connected",
            "storage": "reachable",
            "queue": "ok",
            "redis": "not_configured",
            "fal_api": "unreachable: no live worker",
        },
    }
    register_worker(db, worker_id="i2m-probe", device="cpu")
    assert httpx.get(f"{live.url}{API}/health/ready").json()["checks"]["fal_api"] == "reachable"
    with_redis = start_live(NU3D_REDIS_URL="redis://127.0.0.1:6379/0")
    assert httpx.get(f"{with_redis.url}{API}/health/ready").json()["checks"]["redis"] == "connected"
