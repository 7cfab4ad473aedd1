"""Hydrilla family latency: GET /api/3d/status/{id} with a bearer JWT (RS256, JWKS on loopback), C clients.

    python bench/hydrilla_bench.py                       # SQLite and PostgreSQL, 1 and 10 clients
    python bench/hydrilla_bench.py --db sqlite --clients 1,10 --requests 200

A real `nu3d serve` (uvicorn, one process, rate limits off) on loopback, a stand-in identity provider serving
its JWK Set (tests/idp.py), and 200 queued jobs owned by one user. Every request verifies the token's RS256
signature (the key set is cached after the first fetch) and answers the job with its queue object.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import measure, serve, summarize  # noqa: E402
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
    from tests.idp import IdentityProvider

    with Database(kind, pg_url) as url, tempfile.TemporaryDirectory() as files, IdentityProvider() as idp:
        key = idp.add_key("RS256")
        token = idp.token(key, sub="user_bench", ttl_s=3600)
        ids = owned_jobs(url, 200, "user_bench")
        with serve(url, files, NU3D_JWT_JWKS_URL=idp.jwks_url, NU3D_JWT_ISSUER=idp.issuer) as base:
            headers = {"Authorization": f"Bearer {token}"}
            urls = [f"{base}/api/3d/status/{job_id}" for job_id in ids]
            latencies, elapsed = measure(
                urls,
                headers,
                clients=clients,
                requests=requests,
                ok=lambda resp: resp.status_code == 200 and resp.json()["job"]["status"] == "WAIT",
            )
    p50, p99, rps = summarize(latencies, elapsed)
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
