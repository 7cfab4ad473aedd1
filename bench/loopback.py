"""What the service benchmarks share: throwaway databases, Nu3D and reference servers on loopback, a light
keep-alive HTTP load generator, job backlogs seeded in bulk, signed webhook deliveries.

The load generator speaks HTTP/1.1 over raw asyncio streams (no client library): on a 2-core machine a heavy
client would cap the fast reference and flatter the ratios. Servers are started, then warmed up, before any
clock starts: no figure counts process start-up.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs_bench import Database  # noqa: E402

from tests.conftest import free_port, wait_for_port  # noqa: E402

WEBHOOK_SECRET = "bench-shopify-secret-0123456789abcdef"
SHOP = "bench.myshopify.com"

__all__ = ["Database", "LoadResult", "load", "nu3d_env", "running", "seed_jobs", "signed_delivery"]


def nu3d_env(url: str, files: str, port: int, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))},
        "NU3D_DATABASE_URL": url,
        "NU3D_STORAGE_URL": files,
        "NU3D_SECRET_KEY": "bench-secret-0123456789abcdef",
        "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": "bench",
        "SHOPIFY_API_SECRET": WEBHOOK_SECRET,
        "NU3D_RATE_LIMIT_API": "",
        "NU3D_RATE_LIMIT_STORE": "",
        "NU3D_LOG_LEVEL": "WARNING",
        "NU3D_PORT": str(port),
        **extra,
    }


@contextmanager
def running(command: list[str], env: dict[str, str], port: int | None) -> Iterator[subprocess.Popen[bytes]]:
    """A child process (a server when `port` is given: waits until it listens); stopped afterwards."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        if port is not None:
            try:
                wait_for_port(port, timeout=60)
            except TimeoutError:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"{command} did not start: {tail}") from None
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def serve_nu3d(env: dict[str, str], port: int) -> Any:
    return running([sys.executable, "-m", "shop_app.cli", "serve", "--port", str(port)], env, port)


def serve_reference(env: dict[str, str], port: int, kind: str) -> Any:
    """bench/reference_app.py under the same uvicorn settings as `nu3d serve`."""
    command = [sys.executable, str(ROOT / "bench" / "reference_app.py"), "--port", str(port), "--app", kind]
    return running(command, env, port)


# ---- load generator -------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies: list[float]
    elapsed: float
    errors: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.pct(0.99)

    @property
    def worst(self) -> float:
        return max(self.latencies) if self.latencies else float("nan")

    def share_over(self, seconds: float) -> float:
        return sum(1 for t in self.latencies if t > seconds) / max(1, len(self.latencies))


Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: Request
) -> tuple[int, bytes]:
    method, path, headers, body = req
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return int(status_line.split()[1]), body


def load(
    port: int,
    clients: int,
    make_request: Callable[[int, int], Request],
    *,
    duration_s: float | None = None,
    total: int | None = None,
    expect: tuple[int, ...] = (200,),
    warm_up: bool = True,
    on_answer: Callable[[int, bytes], None] | None = None,
) -> LoadResult:
    """`clients` keep-alive connections sending make_request(client, n) back to back, for `duration_s` or
    until `total` requests were sent; each connection first sends one untimed warm-up request (unless not
    `warm_up`); `on_answer(status, body)` sees every timed answer."""

    async def run() -> LoadResult:
        latencies: list[float] = []
        errors = 0
        sent = 0
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
        if warm_up:
            for i, (reader, writer) in enumerate(conns):
                await _exchange(reader, writer, make_request(i, -1))
        start = time.perf_counter()
        deadline = start + duration_s if duration_s else None

        async def client(i: int) -> None:
            nonlocal errors, sent
            reader, writer = conns[i]
            n = 0
            while True:
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                if total is not None:
                    if sent >= total:
                        return
                    sent += 1
                t0 = time.perf_counter()
                status, body = await _exchange(reader, writer, make_request(i, n))
                latencies.append(time.perf_counter() - t0)
                if on_answer is not None:
                    on_answer(status, body)
                if status not in expect:
                    errors += 1
                n += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - start
        for _, writer in conns:
            writer.close()
        return LoadResult(latencies=latencies, elapsed=elapsed, errors=errors)

    return asyncio.run(run())


# ---- data ---------------------------------------------------------------------------------------------
def seed_jobs(url: str, count: int, *, owner: Any = None) -> list[str]:
    """`count` queued jobs: one submitted through the core, the rest copies of its row inserted in bulk (with
    their own ids and creation times), so seeding 20k takes seconds."""
    from sqlalchemy import text
    from sqlmodel import select

    from shop_app.db import make_engine, session_scope
    from shop_app.models.jobs import Job
    from shop_app.settings import DatabaseSettings
    from tests.job_requests import ANYONE, enqueue_job

    engine = make_engine(DatabaseSettings(database_url=url))
    with session_scope(engine) as session:
        first = enqueue_job(
            session=session, inputs={"image_urls": ["https://cdn.example.com/0.png"]}, owner=owner or ANYONE
        )
        template = session.exec(select(Job).where(Job.id == first.id)).one()
        row = {c.name: getattr(template, c.name) for c in Job.__table__.columns}  # type: ignore[attr-defined]
    ids = [first.id]
    rows = []
    base = row["created_at"]
    for i in range(1, count):
        job_id = f"job_bench{uuid.uuid4().hex[:20]}"
        ids.append(job_id)
        rows.append(
            {
                **row,
                "id": job_id,
                "created_at": base + timedelta(microseconds=i),
                "inputs": {"image_urls": [f"https://cdn.example.com/{i}.png"]},
            }
        )
    with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(Job.__table__.insert(), rows[start : start + 2000])  # type: ignore[attr-defined]
    with engine.connect() as conn:  # fresh statistics, as autovacuum would have after a bulk insert
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return ids


def add_installed_shop(url: str) -> None:
    from shop_app.db import make_engine, session_scope
    from shop_app.models.base import utcnow
    from shop_app.models.core import Shop
    from shop_app.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(database_url=url))
    with session_scope(engine) as session:
        session.add(Shop(domain=SHOP, installed_at=utcnow() - timedelta(days=1)))
    engine.dispose()


def product_payload(pid: int, version: int = 1, *, image_version: int = 1) -> dict[str, Any]:
    updated = (datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=version)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return {
        "id": pid,
        "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
        "title": f"Product {pid} v{version}",
        "handle": f"product-{pid}",
        "status": "active",
        "created_at": updated if version == 1 else updated,
        "updated_at": updated,
        "images": [
            {
                "id": pid * 10,
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{pid * 10}",
                "position": 1,
                "src": f"https://cdn.example.com/p{pid}.png?v={image_version}",
                "width": 64,
                "height": 64,
            }
        ],
        "media": [],
    }


def signed_delivery(topic: str, payload: dict[str, Any], event_id: str, *, shop: str = SHOP) -> Request:
    body = json.dumps(payload, separators=(",", ":")).encode()
    digest = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-10",
        "X-Shopify-Webhook-Id": event_id,
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    return ("POST", f"/webhooks/{topic}", headers, body)


def new_port() -> int:
    return free_port()


def files_dir() -> Any:
    return tempfile.TemporaryDirectory()
