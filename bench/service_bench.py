"""Service speed against minimal references, every row in the same run (issue 14's table), with ratios.

    python bench/service_bench.py                    # every row (~6 min on 2 cores)
    python bench/service_bench.py --only claims      # claims | get | webhooks, comma-separated
    python bench/service_bench.py --quick            # shorter runs, for a smoke test

- claims: PostgreSQL, 1k and 20k queued, 1 and 4 claimer processes, each timed over the same number of
  claim+complete cycles. Nu3D = `claim_job` + `complete_job` (fenced, lease, dedupe insert, run-time
  average); reference = the canonical `UPDATE … WHERE id = (SELECT … ORDER BY priority DESC, created_at, id
  FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id` + one completing UPDATE, psycopg 3 autocommit, on a table of
  the same backlog with an index matching its order. Every Nu3D job must end succeeded at attempt 1.
- get: `GET /api/v1/jobs/{id}` of queued jobs (API key, position, ETA) on `nu3d serve` vs a bare Starlette
  handler doing one single-row lookup (bench/reference_app.py), same uvicorn settings, 1/10/100 clients, with
  200 jobs queued and with 6,000.
- webhooks: signed `products/create` deliveries (a new product with one photo each) from 10 clients to
  `nu3d serve` with `nu3d scheduler` processing the inbox beside it, vs a bare record-and-ack handler
  (HMAC + one INSERT). Afterwards every accepted delivery must have been processed exactly once.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from typing import Any

import loopback
from loopback import Database, LoadResult, load, nu3d_env, running, seed_jobs, signed_delivery
from sqlalchemy import text

from shop_app.db import make_engine, session_scope
from shop_app.settings import DatabaseSettings

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
ROWS: list[tuple[str, str, str, str]] = []  # measure, nu3d, reference, ratio


def row(measure: str, ours: str, ref: str, ratio: float | str) -> None:
    ratio_text = f"{ratio:.2f}" if isinstance(ratio, float) else ratio
    ROWS.append((measure, ours, ref, ratio_text))
    print(f"  {measure}: Nu3D {ours} | reference {ref} | ratio {ratio_text}", flush=True)


# ---- claims ---------------------------------------------------------------------------------------------
def _nu3d_claimer(url: str, name: str, target: int, done: Any, ready: Any, go: Any) -> None:
    from shop_app.jobs.lease import ArtifactRecord, claim_job, complete_job

    engine = make_engine(DatabaseSettings(database_url=url))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    ready.release()
    go.wait()
    while True:
        with done.get_lock():
            if done.value >= target:
                break
            done.value += 1
        job = claim_job(engine, worker_id=name, lease_s=60)
        if job is None:
            break
        digest = uuid.uuid4().hex * 2
        complete_job(
            engine,
            job_id=job.id,
            worker_id=name,
            artifacts=ArtifactRecord(input_hash=digest, glb_key=f"sha256/00/00/{digest}.glb"),
        )
    engine.dispose()


def _reference_claimer(url: str, name: str, target: int, done: Any, ready: Any, go: Any) -> None:
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute("SELECT 1")
    ready.release()
    go.wait()
    claim = (
        "UPDATE ref_job SET status = 'running', lease_owner = %s WHERE id = (SELECT id FROM ref_job "
        "WHERE status = 'queued' ORDER BY priority DESC, created_at, id FOR UPDATE SKIP LOCKED LIMIT 1) "
        "RETURNING id"
    )
    complete = (
        "UPDATE ref_job SET status = 'succeeded', finished_at = now() WHERE id = %s AND lease_owner = %s"
    )
    while True:
        with done.get_lock():
            if done.value >= target:
                break
            done.value += 1
        found = conn.execute(claim, (name,)).fetchone()
        if found is None:
            break
        conn.execute(complete, (found[0], name))
    conn.close()


def _timed_claimers(target_fn: Any, url: str, claimers: int, cycles: int) -> float:
    ctx = mp.get_context("spawn")
    done, ready, go = ctx.Value("i", 0), ctx.Semaphore(0), ctx.Event()
    procs = [
        ctx.Process(target=target_fn, args=(url, f"bench-{i}", cycles, done, ready, go))
        for i in range(claimers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        if not ready.acquire(timeout=120):  # every claimer connected: start-up is not timed
            raise RuntimeError("a claimer process did not start")
    start = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
    return cycles / (time.perf_counter() - start)


def bench_claims(pg_url: str, backlogs: list[int], claimers: list[int], cycles: int) -> None:
    print(f"claim + complete, PostgreSQL, {cycles} cycles per figure:", flush=True)
    for backlog in backlogs:
        ours, refs = [], []
        for n in claimers:
            with Database("postgresql", pg_url) as url:
                seed_jobs(url, backlog)
                rate = _timed_claimers(_nu3d_claimer, url, n, cycles)
                engine = make_engine(DatabaseSettings(database_url=url))
                with engine.connect() as conn:
                    done = conn.execute(
                        text("SELECT count(*) FROM job WHERE status = 'succeeded'")
                    ).scalar_one()
                    twice = conn.execute(text("SELECT count(*) FROM job WHERE attempt > 1")).scalar_one()
                    conn.execute(
                        text(
                            "CREATE TABLE ref_job (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, priority "
                            "INT NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL, lease_owner TEXT, "
                            "finished_at TIMESTAMPTZ)"
                        )
                    )
                    conn.execute(
                        text(
                            "INSERT INTO ref_job (status, created_at) SELECT 'queued', now() + g * interval "
                            "'1 microsecond' FROM generate_series(1, :n) g"
                        ),
                        {"n": backlog},
                    )
                    conn.execute(
                        text(
                            "CREATE INDEX ref_job_claim ON ref_job (priority DESC, created_at, id) "
                            "WHERE status = 'queued'"
                        )
                    )
                    conn.execute(text("ANALYZE"))
                    conn.commit()
                engine.dispose()
                assert done == cycles and twice == 0, f"{done} succeeded of {cycles}, {twice} claimed twice"
                ref = _timed_claimers(_reference_claimer, url, n, cycles)
            ours.append(rate)
            refs.append(ref)
            print(
                f"    {backlog} queued, {n} claimer(s): Nu3D {rate:,.0f}/s, reference {ref:,.0f}/s",
                flush=True,
            )
        row(
            f"PostgreSQL claim+complete, {' / '.join(map(str, claimers))} claimers, {backlog:,} queued (jobs/s)",
            " / ".join(f"{r:,.0f}" for r in ours),
            " / ".join(f"{r:,.0f}" for r in refs),
            " / ".join(f"{a / b:.2f}" for a, b in zip(ours, refs, strict=True)),
        )


# ---- GET /api/v1/jobs/{id} ------------------------------------------------------------------------------
def _api_key(url: str) -> tuple[str, Any]:
    from shop_app.apikeys import create_api_key
    from shop_app.web.auth import key_owner

    engine = make_engine(DatabaseSettings(database_url=url))
    with session_scope(engine) as session:
        row_, key = create_api_key(session=session, name="bench", scopes=["jobs"])
        owner = key_owner(row_)
    engine.dispose()
    return key, owner


def bench_get(kind: str, pg_url: str, queued: int, clients: list[int], duration_s: float) -> None:
    with Database(kind, pg_url) as url, loopback.files_dir() as files:
        key, owner = _api_key(url)
        ids = seed_jobs(url, queued, owner=owner)
        polled = random.Random(1).sample(ids, min(len(ids), 200))
        results: dict[str, list[LoadResult]] = {"nu3d": [], "reference": []}
        for name, serve in (("nu3d", loopback.serve_nu3d), ("reference", None)):
            port = loopback.new_port()
            env = nu3d_env(url, files, port)
            ctx = serve(env, port) if serve else loopback.serve_reference(env, port, "get")
            with ctx:
                for c in clients:

                    def make(i: int, n: int) -> loopback.Request:
                        job_id = polled[(i * 7919 + n) % len(polled)]
                        return ("GET", f"/api/v1/jobs/{job_id}", {"X-API-Key": key}, b"")

                    result = load(port, c, make, duration_s=duration_s)
                    if result.errors:
                        raise RuntimeError(f"{name}: {result.errors} GETs did not answer 200")
                    results[name].append(result)
        ours = [r.rps for r in results["nu3d"]]
        refs = [r.rps for r in results["reference"]]
        label = "SQLite" if kind == "sqlite" else "PostgreSQL"
        row(
            f"`GET /api/v1/jobs/{{id}}`, {label}, {queued:,} queued, {' / '.join(map(str, clients))} clients (req/s)",
            " / ".join(f"{r:,.0f}" for r in ours)
            + " (p99 "
            + " / ".join(f"{r.p99 * 1000:.0f}" for r in results["nu3d"])
            + " ms)",
            " / ".join(f"{r:,.0f}" for r in refs),
            " / ".join(f"{a / b:.2f}" for a, b in zip(ours, refs, strict=True)),
        )


# ---- webhooks -------------------------------------------------------------------------------------------
def _wait_processed(url: str, timeout: float) -> tuple[int, int, float]:
    engine = make_engine(DatabaseSettings(database_url=url))
    start = time.perf_counter()
    try:
        while True:
            with engine.connect() as conn:
                counts = dict(
                    conn.execute(text("SELECT status, count(*) FROM webhook_event GROUP BY status")).all()
                )
            done, pending = counts.get("done", 0), counts.get("pending", 0)
            if pending == 0 or time.perf_counter() - start > timeout:
                return done, counts.get("failed", 0), time.perf_counter() - start
            time.sleep(0.2)
    finally:
        engine.dispose()


def bench_webhooks(kind: str, pg_url: str, clients: int, total: int) -> None:
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    out: dict[str, LoadResult] = {}
    with Database(kind, pg_url) as url, loopback.files_dir() as files:
        loopback.add_installed_shop(url)
        for name in ("nu3d", "reference"):
            port = loopback.new_port()
            env = nu3d_env(url, files, port)
            offset = 0 if name == "nu3d" else 10_000_000

            def make(i: int, n: int, offset: int = offset) -> loopback.Request:
                pid = offset + (i + 1) * 1_000_000 + n + 2  # n = -1 is the warm-up delivery
                return signed_delivery("products/create", loopback.product_payload(pid), f"evt-{pid}")

            if name == "nu3d":
                scheduler = running(
                    [sys.executable, "-m", "shop_app.cli", "scheduler", "--scan-every", "3600"], env, None
                )
                with loopback.serve_nu3d(env, port), scheduler:
                    out[name] = load(port, clients, make, total=total)
                    accepted = total + clients
                    done, failed, drain_s = _wait_processed(url, timeout=900)
            else:
                with loopback.serve_reference(env, port, "webhook"):
                    out[name] = load(port, clients, make, total=total)
        ours, ref = out["nu3d"], out["reference"]
        if ours.errors or ref.errors:
            raise RuntimeError(f"webhook answers not 200: Nu3D {ours.errors}, reference {ref.errors}")
        if done != accepted or failed:
            raise RuntimeError(f"{accepted} accepted, {done} processed, {failed} failed")
    row(
        f"webhook `products/create`, {clients} clients, {label}",
        f"{ours.rps:,.0f}/s, p50 {ours.p50 * 1000:.1f} ms, p99 {ours.p99 * 1000:.1f} ms, max "
        f"{ours.worst * 1000:.0f} ms, {ours.share_over(1.0):.1%} over 1 s; {done:,} processed exactly once "
        f"({drain_s:.1f} s after the last ack)",
        f"{ref.rps:,.0f}/s, p99 {ref.p99 * 1000:.1f} ms",
        ours.rps / ref.rps,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get("NU3D_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--only", default="claims,get,webhooks")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    only = set(args.only.split(","))
    quick = args.quick
    load1, load5, load15 = os.getloadavg()
    print(
        f"cpus={os.cpu_count()} python={sys.version.split()[0]} load average {load1:.1f} {load5:.1f} {load15:.1f}"
    )
    started = time.perf_counter()
    if "claims" in only:
        bench_claims(args.pg_url, [1000, 20000], [1, 4], cycles=200 if quick else 600)
    if "get" in only:
        duration = 1.5 if quick else 4.0
        print("GET /api/v1/jobs/{id}:", flush=True)
        bench_get("sqlite", args.pg_url, 200, [1, 10, 100], duration)
        bench_get("postgresql", args.pg_url, 200, [1, 10, 100], duration)
        bench_get("sqlite", args.pg_url, 6000, [10, 100], duration)
    if "webhooks" in only:
        print("webhooks:", flush=True)
        for kind in ("sqlite", "postgresql"):
            bench_webhooks(kind, args.pg_url, clients=10, total=300 if quick else 2000)
    load1, load5, load15 = os.getloadavg()
    print(
        f"\nload average at the end {load1:.1f} {load5:.1f} {load15:.1f}; {time.perf_counter() - started:.0f} s"
    )
    print("\n| measure | Nu3D | reference | ratio |\n|---|---|---|---|")
    for measure, ours, ref, ratio in ROWS:
        print(f"| {measure} | {ours} | {ref} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
