"""The queue in the job table: enqueue, claim, fencing, reaper, cancel, retry, position/ETA, dedupe."""

from __future__ import annotations

import random
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from shop_app.db import session_scope
from shop_app.jobs.commands import CancelOutcome
from shop_app.jobs.commands import cancel as cancel_job
from shop_app.jobs.commands import retry as retry_job
from shop_app.jobs.errors import LeaseLost
from shop_app.jobs.lease import (
    ArtifactRecord,
    claim_job,
    complete_job,
    fail_job,
    heartbeat,
    release_job,
)
from shop_app.jobs.owners import PrincipalOwner, ShopOwner
from shop_app.jobs.params import InvalidJobRequest
from shop_app.jobs.queries import get_job
from shop_app.jobs.results import job_result
from shop_app.jobs.retries import RetryPolicy, backoff_s, reap_expired_leases
from shop_app.jobs.stats import estimate
from shop_app.jobs.submit import Labels
from shop_app.jobs.workers import register_worker
from shop_app.models import Shop
from shop_app.models.base import utcnow
from tests.job_requests import enqueue_job

URLS = {"image_urls": ["https://cdn.example.com/a.png"]}
KEY_A = "sha256/aa/aa/" + "a" * 64 + ".png"


def enqueue(db: Engine, **kwargs):  # noqa: ANN003, ANN201
    kwargs.setdefault("inputs", URLS)
    with session_scope(db) as session:
        return enqueue_job(session=session, **kwargs)


def load(db: Engine, job_id: str):  # noqa: ANN201
    with session_scope(db) as session:
        return get_job(session, job_id)


def test_enqueue_joins_the_callers_transaction(db: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(db) as session:
        job = enqueue_job(session=session, inputs=URLS)
        raise RuntimeError("the caller's transaction fails after enqueueing")
    assert load(db, job.id) is None
    assert claim_job(db, worker_id="w", lease_s=30) is None


def test_enqueue_carries_shop_owner_and_image_and_cascades_on_shop_delete(db: Engine) -> None:
    with session_scope(db) as session:
        shop = Shop(domain="a.myshopify.com")
        session.add(shop)
        session.flush()
        job = enqueue_job(
            session=session,
            inputs=URLS,
            owner=ShopOwner(shop_id=shop.id),
            family="shop",
            labels=Labels(image_gid="gid://shopify/ProductImage/1"),
        )
    stored = load(db, job.id)
    assert (stored.shop_id, stored.family, stored.image_gid) == (
        shop.id,
        "shop",
        "gid://shopify/ProductImage/1",
    )
    with session_scope(db) as session:
        session.delete(session.get(Shop, shop.id))
    assert load(db, job.id) is None


@pytest.mark.parametrize(
    ("inputs", "params", "message"),
    [
        ({"image_urls": []}, None, "1 to 4 images"),
        ({"image_urls": ["ftp://x/a.png"]}, None, "not an http(s) URL"),
        ({"image_urls": ["https://x/a.png"] * 5}, None, "1 to 4 images"),
        ({"image_urls": ["https://x/a.png"], "image_keys": [KEY_A]}, None, "exactly one"),
        (URLS, {"steps": 0}, "steps must be between 1 and 200"),
        (URLS, {"colour": 1}, "unknown parameter 'colour'"),
        (URLS, {"resolution": 200}, "resolution must be one of 128, 256, 384"),
        (URLS, {"resolution": "big"}, "resolution must be an integer"),
    ],
)
def test_enqueue_refuses_bad_requests(db: Engine, inputs, params, message) -> None:  # noqa: ANN001
    with pytest.raises(InvalidJobRequest, match=re.escape(message)), session_scope(db) as session:
        enqueue_job(session=session, inputs=inputs, params=params)


def test_idempotency_key_returns_the_first_job_per_scope(db: Engine) -> None:
    first = enqueue(db, idempotency_key="abc")
    again = enqueue(db, idempotency_key="abc")
    other_scope = enqueue(db, idempotency_key="abc", owner=PrincipalOwner(family="store"))
    assert again.id == first.id
    assert other_scope.id != first.id


def test_claim_order_priority_then_age_and_run_after(db: Engine) -> None:
    old = enqueue(db)
    later = enqueue(db, run_after=utcnow() + timedelta(hours=1))
    urgent = enqueue(db, priority=5)
    young = enqueue(db)
    claimed = [claim_job(db, worker_id="w", lease_s=30) for _ in range(4)]
    assert [j.id if j else None for j in claimed] == [urgent.id, old.id, young.id, None]
    assert load(db, later.id).status == "queued"


def test_concurrent_claims_never_share_a_job(db: Engine) -> None:
    ids = {enqueue(db).id for _ in range(30)}
    taken: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (job := claim_job(db, worker_id=name, lease_s=30)) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)


def test_fencing_a_worker_that_lost_its_lease_cannot_write(db: Engine) -> None:
    job = enqueue(db)
    claim_job(db, worker_id="w1", lease_s=1)
    later = utcnow() + timedelta(seconds=5)
    report = reap_expired_leases(db, now=later, policy=RetryPolicy(0, 0))
    assert report.requeued == [job.id]
    assert claim_job(db, worker_id="w2", lease_s=30, now=later).id == job.id
    with pytest.raises(LeaseLost):
        heartbeat(db, job_id=job.id, worker_id="w1", lease_s=30, progress=50)
    record = ArtifactRecord(input_hash="f" * 64, glb_key=KEY_A)
    with pytest.raises(LeaseLost):
        complete_job(db, job_id=job.id, worker_id="w1", artifacts=record)
    with pytest.raises(LeaseLost):
        fail_job(db, job_id=job.id, worker_id="w1", code="x", message="y", retryable=False)
    done = complete_job(db, job_id=job.id, worker_id="w2", artifacts=record)
    assert done.status == "succeeded" and done.attempt == 2 and not done.cached


def test_heartbeat_records_progress_bumps_version_and_reports_cancel(db: Engine) -> None:
    job = enqueue(db)
    claimed = claim_job(db, worker_id="w", lease_s=30)
    reply = heartbeat(
        db, job_id=job.id, worker_id="w", lease_s=30, progress=40, stage="carving", log="carving"
    )
    assert reply.version > claimed.version and reply.cancel_requested is False
    row = load(db, job.id)
    assert (row.progress, row.stage) == (40, "carving") and row.logs[-1].endswith("carving")
    with session_scope(db) as session:
        assert cancel_job(session, session.get(type(row), job.id)) == CancelOutcome.REQUESTED
    assert heartbeat(db, job_id=job.id, worker_id="w", lease_s=30).cancel_requested is True


def test_reaper_backs_off_then_fails_as_worker_lost(db: Engine) -> None:
    job = enqueue(db, max_attempts=2)
    policy = RetryPolicy(base_s=5, cap_s=300)
    claim_job(db, worker_id="w1", lease_s=1)
    now = utcnow() + timedelta(seconds=5)
    assert reap_expired_leases(db, now=now, policy=policy, rng=random.Random(1)).requeued == [job.id]
    row = load(db, job.id)
    delay = (row.run_after - now).total_seconds()
    assert 5 <= delay <= 10  # min(300, 5 * 2**1) * U(0.5, 1)
    assert row.error_code == "worker_lost" and row.status == "queued"
    assert claim_job(db, worker_id="w2", lease_s=1, now=now) is None  # still backing off
    claim_job(db, worker_id="w2", lease_s=1, now=now + timedelta(seconds=11))
    report = reap_expired_leases(db, now=now + timedelta(seconds=30), policy=policy)
    assert report.failed == [job.id]
    row = load(db, job.id)
    assert (row.status, row.error_code, row.error_retryable) == ("failed", "worker_lost", True)


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    values = [backoff_s(10, base_s=5, cap_s=300, rng=rng) for _ in range(50)]
    assert all(150 <= v <= 300 for v in values)
    assert len({round(v, 3) for v in values}) > 40


def test_cancel_queued_running_and_finished(db: Engine) -> None:
    queued, running = enqueue(db), enqueue(db)
    with session_scope(db) as session:
        assert cancel_job(session, get_job(session, queued.id)) == CancelOutcome.CANCELED
    claim_job(db, worker_id="w", lease_s=30)
    with session_scope(db) as session:
        assert cancel_job(session, get_job(session, running.id)) == CancelOutcome.REQUESTED
        assert cancel_job(session, get_job(session, queued.id)) == CancelOutcome.ALREADY_FINISHED
    assert load(db, queued.id).status == "canceled"
    assert load(db, running.id).cancel_requested is True


def test_retry_requeues_failed_jobs_only(db: Engine) -> None:
    job = enqueue(db)
    claim_job(db, worker_id="w", lease_s=30)
    fail_job(db, job_id=job.id, worker_id="w", code="bad_image", message="not a photo", retryable=False)
    row = load(db, job.id)
    assert (row.status, row.error_code) == ("failed", "bad_image")
    with session_scope(db) as session:
        again = retry_job(session, get_job(session, job.id))
        assert again.status == "queued" and again.error_code is None
    assert claim_job(db, worker_id="w", lease_s=30).id == job.id


def test_release_on_shutdown_does_not_count_the_attempt(db: Engine) -> None:
    job = enqueue(db)
    claim_job(db, worker_id="w", lease_s=30)
    assert release_job(db, job_id=job.id, worker_id="w") is True
    row = load(db, job.id)
    assert (row.status, row.attempt) == ("queued", 0)
    assert release_job(db, job_id=job.id, worker_id="w") is False


def test_dedupe_completes_same_input_from_the_stored_result(db: Engine) -> None:
    first = enqueue(db, inputs={"image_keys": [KEY_A]}, params={"steps": 8})
    claimed = claim_job(db, worker_id="w", lease_s=30)
    assert claimed.input_hash is not None
    record = ArtifactRecord(input_hash=claimed.input_hash, glb_key="sha256/bb/bb/" + "b" * 64 + ".glb")
    complete_job(db, job_id=first.id, worker_id="w", artifacts=record)
    second = enqueue(db, inputs={"image_keys": [KEY_A]}, params={"steps": 8})
    assert (second.status, second.cached) == ("succeeded", True)
    different = enqueue(db, inputs={"image_keys": [KEY_A]}, params={"steps": 9})
    assert different.status == "queued"
    with session_scope(db) as session:
        a = job_result(session, get_job(session, first.id))
        b = job_result(session, get_job(session, second.id))
        assert a.glb_key == b.glb_key and a.generation_id == b.generation_id
        assert (a.cached, b.cached) == (False, True)
        assert job_result(session, get_job(session, different.id)) is None


def test_position_and_eta_follow_the_claim_order(db: Engine) -> None:
    jobs = [enqueue(db) for _ in range(3)]
    with session_scope(db) as session:
        est = estimate(session, get_job(session, jobs[2].id), fresh=True)
        assert est.position == 2 and est.eta_s is None  # no live worker, no measurement yet
    # One measured run of ~2 s and two live workers.
    first = claim_job(db, worker_id="w", lease_s=30)
    complete_job(
        db,
        job_id=first.id,
        worker_id="w",
        artifacts=ArtifactRecord(input_hash="1" * 64, glb_key=KEY_A),
        now=first.started_at + timedelta(seconds=2),
    )
    register_worker(db, worker_id="a", device="cpu")
    register_worker(db, worker_id="b", device="cpu")
    with session_scope(db) as session:
        est = estimate(session, get_job(session, jobs[2].id), fresh=True)
        assert est.position == 1 and est.live_workers == 2
        assert est.eta_s == pytest.approx(1 * 2.0 / 2 + 2.0, abs=0.5)
