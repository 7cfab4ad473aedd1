"""Job queue benchmarks: claim throughput (trivial engine) and GET /api/v1/jobs/{id} latency under load.

    python bench/jobs_bench.py                      # SQLite and PostgreSQL (postgresql://postgres@127.0.0.1:5432/test)
    python bench/jobs_bench.py --db sqlite --jobs 2000 --workers 1,2,4
    python bench/jobs_bench.py --only http --clients 100 --requests 20

Each run uses a throwaway database (a temp SQLite file, or a fresh database on the PostgreSQL server).
Claim throughput: worker processes (spawned) loop claim -> complete with no engine work, so the number is the
queue's own cost per job (two write transactions). HTTP: a real uvicorn server on loopback, 100 concurrent
keep-alive clients polling jobs with their API key (rate limits off).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shop_app import migrate  # noqa: E402
from shop_app.db import make_engine, session_scope  # noqa: E402
from shop_app.settings import DatabaseSettings  # noqa: E402
from tests.conftest import free_port, wait_for_port  # noqa: E402

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


class Database:
    """A throwaway, migrated database."""

    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind = kind
        self._pg_url = pg_url
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.name = ""

    def __enter__(self) -> str:
        if self.kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory()
            self.url = f"sqlite:///{self._tmp.name}/bench.db"
        else:
            admin = make_engine(DatabaseSettings(database_url=self._pg_url), isolation_level="AUTOCOMMIT")
            self.name = f"nu3d_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            from sqlalchemy.engine import make_url

            url = make_url(DatabaseSettings(database_url=self._pg_url).database_url).set(database=self.name)
            self.url = url.render_as_string(hide_password=False)
        migrate.upgrade(DatabaseSettings(database_url=self.url))
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
        if self.name:
            admin = make_engine(DatabaseSettings(database_url=self._pg_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()


def enqueue_many(url: str, count: int) -> list[str]:
    from tests.job_requests import enqueue_job

    engine = make_engine(DatabaseSettings(database_url=url))
    ids = []
    with session_scope(engine) as session:
        for i in range(count):
            ids.append(
                enqueue_job(session=session, inputs={"image_urls": [f"https://cdn.example.com/{i}.png"]}).id
            )
    engine.dispose()
    return ids


def _claim_loop(url: str, name: str, counter: mp.Value) -> None:  # type: ignore[valid-type]
    from shop_app.jobs.lease import ArtifactRecord, claim_job, complete_job

    engine = make_engine(DatabaseSettings(database_url=url))
    while True:
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
        with counter.get_lock():
            counter.value += 1
    engine.dispose()


def bench_claims(kind: str, pg_url: str, jobs: int, workers: list[int]) -> list[tuple[int, float, int]]:
    results = []
    ctx = mp.get_context("spawn")
    for n in workers:
        with Database(kind, pg_url) as url:
            enqueue_many(url, jobs)
            counter = ctx.Value("i", 0)
            procs = [ctx.Process(target=_claim_loop, args=(url, f"bench-{i}", counter)) for i in range(n)]
            start = time.perf_counter()
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            elapsed = time.perf_counter() - start
            engine = make_engine(DatabaseSettings(database_url=url))
            with engine.connect() as conn:
                done = conn.execute(text("SELECT count(*) FROM job WHERE status = 'succeeded'")).scalar_one()
                twice = conn.execute(text("SELECT count(*) FROM job WHERE attempt <> 1")).scalar_one()
            engine.dispose()
            assert done == jobs and twice == 0, f"{done} done, {twice} claimed more than once"
            results.append((n, jobs / elapsed, counter.value))
            print(f"  {kind:8s} workers={n}: {jobs} jobs in {elapsed:.2f} s = {jobs / elapsed:,.0f} jobs/s")
    return results


@contextlib.contextmanager
def serve(url: str, files: str, **extra_env: str) -> Iterator[str]:
    """`nu3d serve` (one uvicorn process) on a free loopback port over `url` and `files`, rate limits off;
    yields its base URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))},
        "NU3D_DATABASE_URL": url,
        "NU3D_STORAGE_URL": files,
        "NU3D_SECRET_KEY": "bench-secret-0123456789abcdef",
        "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": "bench",
        "SHOPIFY_API_SECRET": "bench-secret-abcdef",
        "NU3D_RATE_LIMIT_API": "",
        "NU3D_RATE_LIMIT_STORE": "",
        "NU3D_RATE_LIMIT_IMAGE2MODEL": "",
        "NU3D_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "shop_app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=15)


def bench_http(kind: str, pg_url: str, clients: int, requests: int, jobs: int) -> tuple[float, float, float]:
    import httpx

    from shop_app.apikeys import create_api_key

    with Database(kind, pg_url) as url, tempfile.TemporaryDirectory() as files:
        ids = enqueue_many(url, jobs)
        engine = make_engine(DatabaseSettings(database_url=url))
        with session_scope(engine) as session:
            _, key = create_api_key(session=session, name="bench", scopes=["admin"])
        engine.dispose()
        with serve(url, files) as base:
            latencies: list[float] = []

            async def client(index: int, http: httpx.AsyncClient) -> None:
                for r in range(requests):
                    job_id = ids[(index * requests + r) % len(ids)]
                    t0 = time.perf_counter()
                    resp = await http.get(f"{base}/api/v1/jobs/{job_id}", headers={"X-API-Key": key})
                    latencies.append(time.perf_counter() - t0)
                    if resp.status_code != 200:
                        raise RuntimeError(f"GET answered {resp.status_code}: {resp.text[:200]}")

            async def run() -> float:
                limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
                async with httpx.AsyncClient(limits=limits, timeout=60) as http:
                    await http.get(f"{base}/api/v1/jobs/{ids[0]}", headers={"X-API-Key": key})  # warm up
                    start = time.perf_counter()
                    await asyncio.gather(*(client(i, http) for i in range(clients)))
                    return time.perf_counter() - start

            elapsed = asyncio.run(run())
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    rps = len(latencies) / elapsed
    print(
        f"  {kind:8s} {clients} clients x {requests} GETs: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rps:,.0f} req/s"
    )
    return p50, p99, rps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NU3D_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--only", choices=["claims", "http"], default=None)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")
    if args.only in (None, "claims"):
        print("claim + complete throughput (trivial engine):")
        for kind in kinds:
            bench_claims(kind, args.pg_url, args.jobs, [int(w) for w in args.workers.split(",")])
    if args.only in (None, "http"):
        print("GET /api/v1/jobs/{id} latency:")
        for kind in kinds:
            bench_http(kind, args.pg_url, args.clients, args.requests, jobs=200)
    return 0


if __name__ == "__main__":
    sys.exit(main())
