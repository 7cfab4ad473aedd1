"""Worker processes against the real database: results, dedupe, and the issue's fault tests
(kill -9 mid-job, two workers x 100 jobs exactly once, cancel within the grace period, SIGTERM release,
PostgreSQL restart mid-run). The fake engine keeps these about queue mechanics, not engine speed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from shop_app.db import session_scope, write_scope
from shop_app.jobs.commands import cancel as cancel_job
from shop_app.jobs.queries import get_job
from shop_app.jobs.results import job_result
from shop_app.models.jobs import Generation, Job
from shop_app.settings import Settings
from shop_app.storage import make_storage
from tests.job_requests import enqueue_job
from tests.jobs.conftest import WorkerProcs, png_bytes, wait_until


def enqueue_images(db: Engine, settings: Settings, seeds: list[int], **kwargs) -> list[str]:  # noqa: ANN003
    storage = make_storage(settings)
    ids = []
    with session_scope(db) as session:
        for seed in seeds:
            key = storage.put(png_bytes(seed), suffix=".png")
            ids.append(enqueue_job(session=session, inputs={"image_keys": [key]}, **kwargs).id)
    return ids


def statuses(db: Engine, ids: list[str]) -> dict[str, str]:
    with session_scope(db) as session:
        rows = session.exec(select(Job.id, Job.status).where(Job.id.in_(ids))).all()  # type: ignore[union-attr]
    return dict(rows)  # type: ignore[arg-type]


def load(db: Engine, job_id: str) -> Job:
    with session_scope(db) as session:
        job = get_job(session, job_id)
        assert job is not None
        return job


def all_done(db: Engine, ids: list[str]) -> bool:
    return all(s in {"succeeded", "failed", "canceled"} for s in statuses(db, ids).values())


def test_worker_generates_stores_and_dedupes(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    first, twin, other = enqueue_images(db, fast_settings, [1, 1, 2])
    workers.start(fake_stage_s=0.02)
    wait_until(lambda: all_done(db, [first, twin, other]), timeout=60, what="three jobs to finish")
    assert set(statuses(db, [first, twin, other]).values()) == {"succeeded"}, workers.logs()
    storage = make_storage(fast_settings)
    with session_scope(db) as session:
        a = job_result(session, get_job(session, first))
        b = job_result(session, get_job(session, twin))
        c = job_result(session, get_job(session, other))
        assert a and b and c
        assert a.glb_key == b.glb_key != c.glb_key
        assert sorted([a.cached, b.cached]) == [False, True]  # the same image ran once
        assert storage.get(a.glb_key)[:4] == b"glTF"
        assert storage.exists(a.preview_key) and storage.exists(a.splat_key)
        assert session.exec(select(func.count()).select_from(Generation)).one() == 2
    job = load(db, other)
    assert job.progress == 100 and job.stage == "done" and job.attempt == 1
    assert any("segment" in line for line in job.logs)


def test_bad_input_fails_at_once_with_a_code(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    storage = make_storage(fast_settings)
    key = storage.put(b"\x89PNG NU3D-FAKE-FAIL " + png_bytes(5), suffix=".png")
    with session_scope(db) as session:
        job_id = enqueue_job(session=session, inputs={"image_keys": [key]}).id
    workers.start()
    wait_until(lambda: all_done(db, [job_id]), timeout=60, what="the job to fail")
    job = load(db, job_id)
    assert (job.status, job.error_code, job.error_retryable, job.attempt) == (
        "failed",
        "invalid_image",
        False,
        1,
    )
    assert "no product" in (job.error_message or "")


def test_two_workers_hundred_jobs_exactly_once(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    ids = enqueue_images(db, fast_settings, list(range(1000, 1100)))
    workers.start(fake_stage_s=0.0)
    workers.start(fake_stage_s=0.0)
    wait_until(lambda: all_done(db, ids), timeout=150, interval=0.5, what="100 jobs to finish")
    with session_scope(db) as session:
        jobs = session.exec(select(Job).where(Job.id.in_(ids))).all()  # type: ignore[union-attr]
        assert {j.status for j in jobs} == {"succeeded"}
        assert all(j.attempt == 1 for j in jobs), "a job ran more than once"
        assert all(sum("started on" in line for line in j.logs) == 1 for j in jobs)
        assert session.exec(select(func.count()).select_from(Generation)).one() == 100
        owners = {line.rsplit(" on ", 1)[1] for j in jobs for line in j.logs if "started on" in line}
        assert session.exec(select(func.count()).select_from(Job).where(Job.status == "running")).one() == 0
    assert len(owners) == 2, "both workers should have taken jobs"


def test_kill_9_mid_job_completes_on_another_worker(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    (job_id,) = enqueue_images(db, fast_settings, [7])
    doomed = workers.start(fake_stage_s=1.0)
    wait_until(lambda: load(db, job_id).status == "running", timeout=60, what="the job to start")
    time.sleep(0.5)
    workers.kill_group(doomed)  # supervisor and slot die without a word
    assert load(db, job_id).status == "running"
    workers.start(fake_stage_s=0.05)
    wait_until(lambda: all_done(db, [job_id]), timeout=60, what="the job to finish on the second worker")
    job = load(db, job_id)
    assert job.status == "succeeded", workers.logs()
    assert job.attempt == 2
    assert any("worker_lost" in line for line in job.logs)
    with session_scope(db) as session:
        assert session.exec(select(func.count()).select_from(Generation)).one() == 1


def test_cancel_running_job_stops_cooperatively(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    (job_id,) = enqueue_images(db, fast_settings, [8])
    workers.start(fake_stage_s=0.5)
    wait_until(
        lambda: load(db, job_id).stage not in {None, "claimed", "fetching_inputs"}, timeout=60, what="a stage"
    )
    # A command is a read-modify-write: it runs in a write transaction (a deferred SQLite one could not
    # upgrade while the worker writes its heartbeats).
    with write_scope(db) as session:
        assert cancel_job(session, get_job(session, job_id)) == "cancellation_requested"
    asked = time.monotonic()
    wait_until(lambda: load(db, job_id).status == "canceled", timeout=10, what="the cancel")
    assert time.monotonic() - asked < float(fast_settings.job_cancel_grace_s) + 1.0
    assert any("canceled by the worker" in line for line in load(db, job_id).logs)


def test_cancel_is_forced_after_the_grace_period(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    # One stage takes 60 s and never checks the flag: the supervisor must kill the slot after the grace period.
    stuck, later = enqueue_images(db, fast_settings, [9, 10])
    workers.start(fake_stage_s=60.0)
    wait_until(lambda: load(db, stuck).stage == "segment", timeout=60, what="the stuck stage")
    with write_scope(db) as session:
        cancel_job(session, get_job(session, stuck))
    asked = time.monotonic()
    wait_until(lambda: load(db, stuck).status == "canceled", timeout=15, what="the forced cancel")
    elapsed = time.monotonic() - asked
    assert fast_settings.job_cancel_grace_s <= elapsed + 0.5 < fast_settings.job_cancel_grace_s + 3
    assert any("by force" in line for line in load(db, stuck).logs)
    # The slot was respawned and takes the next job.
    wait_until(lambda: load(db, later).status == "running", timeout=60, what="the respawned slot to claim")


def test_sigterm_releases_the_running_job(db: Engine, fast_settings: Settings, workers: WorkerProcs) -> None:
    (job_id,) = enqueue_images(db, fast_settings, [11])
    proc = workers.start(fake_stage_s=0.5)
    wait_until(lambda: load(db, job_id).status == "running", timeout=60, what="the job to start")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    job = load(db, job_id)
    assert (job.status, job.attempt, job.lease_owner) == ("queued", 0, None), workers.logs()
    assert any("released" in line for line in job.logs)


@pytest.mark.postgres
def test_postgres_restart_mid_run(
    db: Engine, fast_settings: Settings, workers: WorkerProcs, app_client
) -> None:  # noqa: ANN001
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL pass only (NU3D_TEST_DATABASE_URL)")
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("cannot restart the local PostgreSQL cluster here")
    ids = enqueue_images(db, fast_settings, list(range(2000, 2030)))
    workers.start(fake_stage_s=0.05)
    wait_until(
        lambda: list(statuses(db, ids).values()).count("succeeded") >= 3, timeout=60, what="some progress"
    )
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    db.dispose()  # the test's own pooled connections died with the server
    wait_until(lambda: all_done(db, ids), timeout=120, interval=0.5, what="all jobs after the restart")
    assert set(statuses(db, ids).values()) == {"succeeded"}, workers.logs()
    # The web app recovers too: its pool replaces dead connections (pre-ping).
    assert app_client.get("/health/ready").status_code == 200


@pytest.mark.timeout(120)
def test_sigterm_to_the_whole_process_group_stops_cleanly(
    db: Engine, fast_settings: Settings, workers: WorkerProcs
) -> None:
    # `kill -TERM -- -$PGID` (systemd, docker stop, Ctrl+C in a shell) signals the supervisor and every slot at
    # once. Two slots: one runs the job, the other idles in its poll wait, where a signal handler that touched
    # the shared stop primitive used to deadlock both slots and then the supervisor.
    (job_id,) = enqueue_images(db, fast_settings, [12])
    proc = workers.start(concurrency=2, fake_stage_s=0.5)
    wait_until(lambda: load(db, job_id).status == "running", timeout=60, what="the job to start")
    time.sleep(0.3)  # let the idle slot settle into its poll wait (not a timing assert)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=45)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not exit after SIGTERM to its process group:\n" + workers.logs())
    assert code == 0, workers.logs()
    assert "worker stopped" in workers.logs()
    job = load(db, job_id)
    assert (job.status, job.attempt, job.lease_owner) == ("queued", 0, None), workers.logs()


def test_worker_cli_refuses_bad_options() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    bad = subprocess.run(
        [sys.executable, "-m", "shop_app.cli", "worker", "--concurrency", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--concurrency must be between 1 and 64" in bad.stderr
    for device in ("gpu", "cuda:x", "cuda:0,1"):
        bad = subprocess.run(
            [sys.executable, "-m", "shop_app.cli", "worker", "--device", device],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.strip().splitlines() == [
            f"nu3d worker: error: --device must be auto, cpu, cuda or cuda:N (got {device!r})"
        ]
    help_ = subprocess.run(
        [sys.executable, "-m", "shop_app.cli", "worker", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert help_.returncode == 0 and "--device" in help_.stdout and "--concurrency" in help_.stdout


def test_a_database_error_during_a_run_is_retried_not_final() -> None:
    # SQLAlchemy errors carry a `code` (a docs link id such as "e3q8"); read as an engine error code, a
    # database restart mid-run once failed the job for good instead of sending it back to the queue.
    from sqlalchemy.exc import OperationalError

    from shop_app.worker.slot import _classify

    err = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    assert err.code
    assert _classify(err) == ("database_unavailable", True)
