"""Hydrilla family latency: GET /api/3d/status/{id} with a bearer JWT (RS256, JWKS on loopback), C clients.

    python bench/hydrilla_bench.py                       # SQLite and PostgreSQL, 1 and 10 clients
    python bench/hydrilla_bench.py --db sqlite --clients 1,10 --requests 200

A real `nu3d serve` (uvicorn, one process, rate limits off) on loopback, a stand-in identity provider serving
its JWK Set (tests/idp.py), and 200 queued jobs owned by one user. Every request verifies the token's RS256
signature (the key set is cached after the first fetch) and answers the job with its queue object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs_bench import PG_DEFAULT, Database  # noqa: E402
from shop_app.db import make_engine, session_scope  # noqa: E402
from shop_app.settings import DatabaseSettings  # noqa: E402


def owned_jobs(url: str, count: int, subject: str) -> list[str]:
    from shop_app.jobs.owners import PrincipalOwner
    from shop_app.jobs.submit import Images, SubmitRequest, submit

    engine = make_engine(DatabaseSettings(database_url=url))
    ids = []
    with session_scope(engine) as session:
        for i in range(count):
            request = SubmitRequest(
                family="hydrilla",
                owner=PrincipalOwner(family="hydrilla", subject=subject),
                images=Images.from_urls([f"https://cdn.example.com/{i}.png"]),
            )
            ids.append(submit(session, request).id)
    engine.dispose()
    return ids


def bench(kind: str, pg_url: str, clients: int, requests: int) -> tuple[float, float, float]:
    import httpx

    from tests.conftest import free_port, wait_for_port
    from tests.idp import IdentityProvider

    with Database(kind, pg_url) as url, tempfile.TemporaryDirectory() as files, IdentityProvider() as idp:
        key = idp.add_key("RS256")
        token = idp.token(key, sub="user_bench", ttl_s=3600)
        ids = owned_jobs(url, 200, "user_bench")
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
            "NU3D_LOG_LEVEL": "WARNING",
            "NU3D_JWT_JWKS_URL": idp.jwks_url,
            "NU3D_JWT_ISSUER": idp.issuer,
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
            base = f"http://127.0.0.1:{port}"
            headers = {"Authorization": f"Bearer {token}"}
            latencies: list[float] = []

            async def client(index: int, http: httpx.AsyncClient) -> None:
                for r in range(requests):
                    job_id = ids[(index * requests + r) % len(ids)]
                    t0 = time.perf_counter()
                    resp = await http.get(f"{base}/api/3d/status/{job_id}", headers=headers)
                    latencies.append(time.perf_counter() - t0)
                    if resp.status_code != 200 or resp.json()["job"]["status"] != "WAIT":
                        raise RuntimeError(f"GET answered {resp.status_code}: {resp.text[:200]}")

            async def run() -> float:
                limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
                async with httpx.AsyncClient(limits=limits, timeout=60) as http:
                    await http.get(
                        f"{base}/api/3d/status/{ids[0]}", headers=headers
                    )  # warm up (fetches the JWKS)
                    start = time.perf_counter()
                    await asyncio.gather(*(client(i, http) for i in range(clients)))
                    return time.perf_counter() - start

            elapsed = asyncio.run(run())
        finally:
            server.terminate()
            server.wait(timeout=15)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    rps = len(latencies) / elapsed
    print(
        f"  {kind:10s} {clients:3d} clients x {requests} GETs: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {rps:,.0f} req/s"
    )
    return p50, p99, rps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NU3D_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--clients", default="1,10")
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")
    print("GET /api/3d/status/{id} (RS256 bearer JWT) latency:")
    for kind in kinds:
        for clients in (int(c) for c in args.clients.split(",")):
            bench(
                kind,
                args.pg_url,
                clients,
                args.requests if clients == 1 else max(20, args.requests // clients),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
