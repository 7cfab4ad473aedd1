"""One request of each API family, side by side: p50/p99 latency at 1 and 10 concurrent clients.

    python bench/families_bench.py                          # SQLite, 1 and 10 clients, 200 requests each
    python bench/families_bench.py --db postgresql --clients 1,10 --requests 300

A real `nu3d serve` (uvicorn, one process) on loopback with rate limits off, on a throwaway migrated
database. Each family's setup makes its data over HTTP with the family's own requests, then every client
repeats that family's read (a status poll, the request clients make most). To add a family: one entry in
FAMILIES (a setup that returns the path to poll and the headers).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jobs_bench import PG_DEFAULT, Database, serve  # noqa: E402
from shop_app.apikeys import create_api_key  # noqa: E402
from shop_app.db import make_engine, session_scope  # noqa: E402
from shop_app.settings import DatabaseSettings  # noqa: E402

Setup = Callable[[httpx.Client, str], tuple[str, dict[str, str]]]


def _png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (seed % 256, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def api_v1(http: httpx.Client, key: str) -> tuple[str, dict[str, str]]:
    headers = {"X-API-Key": key}
    job = http.post("/api/v1/jobs", json={"image_urls": ["https://cdn.example.com/a.png"]}, headers=headers)
    job.raise_for_status()
    return f"/api/v1/jobs/{job.json()['id']}", headers


def image2model(http: httpx.Client, key: str) -> tuple[str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}"}
    files = [("files", (f"image{i}.png", _png(i), "image/png")) for i in range(3)]
    batch = http.post("/api/v1/upload/batch", files=files, headers=headers)
    batch.raise_for_status()
    return f"/api/v1/status/{batch.json()['job_id']}", headers


def store_threed_jobs(http: httpx.Client, key: str) -> tuple[str, dict[str, str]]:  # noqa: ARG001 - open API
    files = [("files", (f"view{i}.png", _png(100 + i), "image/png")) for i in range(4)]
    job = http.post("/store/threed-jobs", files=files, data={"caption": "a mug"})
    job.raise_for_status()
    return f"/store/threed-jobs/{job.json()['job_id']}", {}


def snapasset(http: httpx.Client, key: str) -> tuple[str, dict[str, str]]:
    headers = {"X-API-Key": key}
    body = {"userId": "bench-user", "prompt": "A ceramic mug on a table", "platforms": ["instagram-post"]}
    job = http.post("/api/jobs", json=body, headers=headers)
    job.raise_for_status()
    return f"/api/jobs/{job.json()['jobId']}", headers


# Hydrilla's /api/3d takes bearer JWTs from an identity provider; here one HS256 secret signs them.
JWT_SECRET = "bench-jwt-secret-0123456789abcdef-0123"


def hydrilla(http: httpx.Client, key: str) -> tuple[str, dict[str, str]]:  # noqa: ARG001 - JWT, not keys
    from tests.idp import hs256_token

    headers = {"Authorization": f"Bearer {hs256_token(JWT_SECRET, sub='user_bench', ttl_s=3600)}"}
    job = http.post("/api/3d/generate", json={"imageUrl": "https://cdn.example.com/a.png"}, headers=headers)
    job.raise_for_status()
    return f"/api/3d/status/{job.json()['jobId']}", headers


FAMILIES: dict[str, tuple[str, Setup]] = {
    "api_v1": ("GET /api/v1/jobs/{id}", api_v1),
    "image2model": ("GET /api/v1/status/{job_id} (3 files)", image2model),
    "store_threed_jobs": ("GET /store/threed-jobs/{id}", store_threed_jobs),
    "snapasset": ("GET /api/jobs/{jobId}", snapasset),
    "hydrilla": ("GET /api/3d/status/{jobId} (JWT)", hydrilla),
}


def measure(
    base: str, path: str, headers: dict[str, str], clients: int, requests: int
) -> tuple[float, float]:
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(requests):
            t0 = time.perf_counter()
            resp = await http.get(f"{base}{path}", headers=headers)
            latencies.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise RuntimeError(f"GET {path} answered {resp.status_code}: {resp.text[:200]}")

    async def run() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            await http.get(f"{base}{path}", headers=headers)  # warm up
            await asyncio.gather(*(client(http) for _ in range(clients)))

    asyncio.run(run())
    latencies.sort()
    return statistics.median(latencies) * 1000, latencies[
        min(len(latencies) - 1, int(len(latencies) * 0.99))
    ] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NU3D_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--clients", default="1,10")
    parser.add_argument("--requests", type=int, default=200, help="requests per client")
    parser.add_argument("--families", default=",".join(FAMILIES))
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} db={args.db}")
    with Database(args.db, args.pg_url) as url, tempfile.TemporaryDirectory() as files:
        engine = make_engine(DatabaseSettings(database_url=url))
        with session_scope(engine) as session:
            _, key = create_api_key(session=session, name="bench", scopes=["jobs"])
        engine.dispose()
        with serve(
            url,
            files,
            NU3D_RATE_LIMIT_SNAPASSET="",
            NU3D_RATE_LIMIT_SNAPASSET_JOBS="",
            # SnapAsset accepts prompt-only jobs only with an image provider; no worker runs, so it is never called.
            NU3D_IMAGE_API_BASE_URL="http://127.0.0.1:9/v1",
            NU3D_JWT_HS256_SECRET=JWT_SECRET,
        ) as base:
            print("| family | request | clients | p50 ms | p99 ms |")
            print("| --- | --- | --- | --- | --- |")
            with httpx.Client(base_url=base, timeout=60) as http:
                for name in args.families.split(","):
                    label, setup = FAMILIES[name]
                    path, headers = setup(http, key)
                    for clients in (int(c) for c in args.clients.split(",")):
                        p50, p99 = measure(base, path, headers, clients, args.requests)
                        print(f"| {name} | {label} | {clients} | {p50:.1f} | {p99:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
