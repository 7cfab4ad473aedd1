"""`nu3d scheduler`: the job table it schedules and a one-shot run over a real devstore shop."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import cli, jobs
from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.jobs import QUEUED, RUNNING, Job
from tests.job_requests import enqueue_job
from tests.shopify.harness import RunningApp, install_shop, open_embedded, png

SHOP = "acme.myshopify.com"


def test_jobs_never_overlap_and_missed_runs_coalesce(settings, db) -> None:  # noqa: ANN001
    scheduler = cli.make_scheduler(settings, db, cli.build_parser().parse_args(["--scan-every", "300"]))
    found = {job.id: job for job in scheduler.get_jobs()}
    assert set(found) == {
        "scan_products",
        "refresh_tokens",
        "reap_leases",
        "publish_models",
        "backfill_products",
        "sweep_blobs",
    }
    for job in found.values():
        assert job.max_instances == 1 and job.coalesce is True
    assert found["scan_products"].trigger.interval == timedelta(seconds=300)


def test_reaper_requeues_expired_leases(settings, db) -> None:  # noqa: ANN001
    with session_scope(db) as session:
        job = enqueue_job(session=session, inputs={"image_urls": ["https://cdn.example/a.png"]})
        job.status, job.lease_owner, job.attempt = RUNNING, "dead-worker", 1
        job.lease_expires_at = utcnow() - timedelta(minutes=5)
        session.add(job)
        job_id = job.id
    report = jobs.reap_leases(settings, db)
    assert report.requeued == [job_id]
    with session_scope(db) as session:
        assert session.exec(select(Job)).one().status == QUEUED


def test_once_runs_every_job_and_prints_a_summary(
    devstore: DevstoreServer,
    running_app: RunningApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    shop = devstore.store.get_shop(SHOP)
    product = devstore.store.create_product(shop, title="Quiet mug", emit=False)
    devstore.store.add_image(shop, png(), product=product)

    s = running_app.settings
    env = {
        "NU3D_DATABASE_URL": s.database_url,
        "NU3D_SECRET_KEY": s.secret_key.get_secret_value(),
        "NU3D_TOKEN_ENCRYPTION_KEY": s.token_encryption_key.get_secret_value(),
        "SHOPIFY_API_KEY": s.shopify_api_key,
        "SHOPIFY_API_SECRET": s.shopify_api_secret.get_secret_value(),
        "NU3D_SHOPIFY_ADMIN_BASE": devstore.admin_base,
        "NU3D_STORAGE_URL": s.storage_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir("/")  # no stray .env is read
    from shop_app.cli import main as nu3d

    assert nu3d(["scheduler", "--once"]) == 0
    out = capsys.readouterr().out
    assert f"scan {SHOP}: 1 products, 1 queued (ok)" in out
    assert f"token {SHOP}: fresh" in out
    assert "reaper: 0 expired leases handled" in out
    assert "publish: 0 uploaded, 0 published, 0 failed" in out
    assert "blob sweep: " in out and "0 unreferenced removed" in out  # the fresh upload is within grace
    # apscheduler's per-run INFO lines ("Running job ...", every 10 s) are not logged by the scheduler process
    assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.WARNING
    assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)


def test_missing_settings_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shop_app.cli import main as nu3d

    for key in ("SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "NU3D_SECRET_KEY", "NU3D_TOKEN_ENCRYPTION_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir("/")
    assert nu3d(["scheduler", "--once"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "SHOPIFY_API_KEY" in err


def test_scheduler_process_runs_and_stops_on_sigterm(settings, tmp_path) -> None:  # noqa: ANN001
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {
        **os.environ,
        "NU3D_DATABASE_URL": settings.database_url,
        "NU3D_SECRET_KEY": settings.secret_key.get_secret_value(),
        "NU3D_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key.get_secret_value(),
        "SHOPIFY_API_KEY": settings.shopify_api_key,
        "SHOPIFY_API_SECRET": settings.shopify_api_secret.get_secret_value(),
        "NU3D_STORAGE_URL": str(tmp_path / "files"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--scan-every", "3600"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            lines.append(line)
            if "scheduler running" in line or not line:
                break
        assert any("scheduler running" in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
