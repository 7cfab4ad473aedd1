"""What the HTTP benchmarks share: `nu3d serve` on a loopback port for a throwaway database, and the
p50/p99/throughput summary of measured latencies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def serve(url: str, files: str, **extra_env: str) -> Iterator[str]:
    """Run `nu3d serve` (one uvicorn process, rate limits off) on `url`/`files`; yields its base URL."""
    from tests.conftest import free_port, wait_for_port

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
        "NU3D_PORT": str(port),
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


def summarize(latencies: list[float], elapsed: float) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests per second)."""
    latencies = sorted(latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return p50, p99, len(latencies) / elapsed


def measure(
    urls: list[str], headers: dict[str, str], *, clients: int, requests: int, ok: Callable[[Any], bool]
) -> tuple[list[float], float]:
    """`clients` concurrent keep-alive clients each GETting `requests` of `urls` in turn (after one warm-up
    request); each answer must pass `ok`. Returns (latencies in seconds, elapsed seconds)."""
    import httpx

    latencies: list[float] = []

    async def client(index: int, http: httpx.AsyncClient) -> None:
        for r in range(requests):
            t0 = time.perf_counter()
            resp = await http.get(urls[(index * requests + r) % len(urls)], headers=headers)
            latencies.append(time.perf_counter() - t0)
            if not ok(resp):
                raise RuntimeError(f"GET answered {resp.status_code}: {resp.text[:200]}")

    async def run() -> float:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            await http.get(urls[0], headers=headers)  # warm up
            start = time.perf_counter()
            await asyncio.gather(*(client(i, http) for i in range(clients)))
            return time.perf_counter() - start

    return latencies, asyncio.run(run())
