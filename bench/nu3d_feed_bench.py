"""GET /api/nu3d benchmark: latency served from the product-level cache, and the first call with nothing cached.

    python bench/nu3d_feed_bench.py                         # SQLite, clients 1,10,100
    python bench/nu3d_feed_bench.py --db postgresql://postgres@127.0.0.1:5432/test --clients 1,10

A real `nu3d serve` (uvicorn, one process) on loopback over a throwaway migrated database holding one shop with
5 products created today, 2 photos each, every generation finished. The first request writes the cache; then
N concurrent keep-alive clients each make R requests and we report p50/p99 per request. "First call" measures a
second shop whose 5 products are all still generating (nothing cacheable) and a third whose models are done
but not cached yet (the call that builds and writes the cache): neither waits on generation.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import loopback  # noqa: E402

from shop_app import migrate  # noqa: E402
from shop_app.db import make_engine, session_scope  # noqa: E402
from shop_app.models.core import Shop  # noqa: E402
from shop_app.models.jobs import Generation, Job  # noqa: E402
from shop_app.models.shopify import Product, ProductImage  # noqa: E402
from shop_app.settings import DatabaseSettings  # noqa: E402

META = {"scale": [[1.0, 1.0, 1.0]], "rotation": [[1, 0, 0, 0]], "translation": [[0, 0, 2.9]], "camera_pose": None,
        "object_index": 0}  # fmt: skip


def seed_shop(engine: object, domain: str, fernet_key: str, *, done: bool) -> None:
    now = datetime.now(UTC)
    with session_scope(engine) as session:  # type: ignore[arg-type]
        shop = Shop(domain=domain, access_token_enc=Fernet(fernet_key.encode()).encrypt(b"x").decode(),
                    installed_at=now, iana_timezone="UTC")  # fmt: skip
        session.add(shop)
        session.flush()
        for n in range(5):
            product = Product(
                shop_id=shop.id, gid=f"gid://shopify/Product/{9000 + n}", title=f"Product {n}", handle=f"p-{n}",
                shopify_created_at=now, shopify_updated_at=now,
                details={"description": "A product", "tags": ["a", "b"], "variants": [
                    {"gid": f"gid://shopify/ProductVariant/{n}", "title": "Default", "sku": f"S{n}",
                     "price": "9.99", "available_for_sale": True, "image_gids": []}]},
            )  # fmt: skip
            session.add(product)
            session.flush()
            for k in range(2):
                gid = f"gid://shopify/ProductImage/{domain[:3]}{n}{k}"
                job = Job(id=f"job_{uuid.uuid4().hex[:24]}", status="succeeded" if done else "running",
                          shop_id=shop.id, image_gid=gid, inputs={"image_urls": ["https://x/y.png"]},
                          finished_at=now if done else None)  # fmt: skip
                if done:
                    generation = Generation(input_hash=uuid.uuid4().hex, glb_key=f"sha256/aa/bb/{'a' * 64}.glb",
                                            splat_key=f"sha256/aa/bb/{'b' * 64}.ply", meta=META,
                                            image_keys=[f"sha256/aa/bb/{'c' * 64}.png"])  # fmt: skip
                    session.add(generation)
                    session.flush()
                    job.generation_id = generation.id
                session.add(job)
                session.flush()
                session.add(ProductImage(shop_id=shop.id, product_id=product.id, gid=gid, url=f"https://x/{gid}.png",
                                         content_version="v:1", position=k + 1, job_id=job.id, job_version="v:1"))  # fmt: skip


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def served_from_cache(status: int, body: bytes) -> None:
    answer = json.loads(body)
    assert status == 200 and answer["data"]["products"][0]["variants"]["nodes"][0]["images"][0]["cached"], (
        body[:300]
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--db", default="sqlite", help="sqlite, or a PostgreSQL server URL (a database is created)"
    )
    parser.add_argument("--clients", default="1,10,100")
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per row")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    if args.db == "sqlite":
        url = f"sqlite:///{tmp.name}/bench.db"
    else:
        name = f"nu3d_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(DatabaseSettings(database_url=args.db), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = args.db.rsplit("/", 1)[0] + f"/{name}"
    fernet_key = Fernet.generate_key().decode()
    db_settings = DatabaseSettings(database_url=url)
    migrate.upgrade(db_settings)
    engine = make_engine(db_settings)
    seed_shop(engine, "cached.myshopify.com", fernet_key, done=True)
    seed_shop(engine, "busy.myshopify.com", fernet_key, done=False)
    seed_shop(engine, "fresh.myshopify.com", fernet_key, done=True)
    engine.dispose()

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    env.update({
        "NU3D_ENV": "development", "NU3D_DATABASE_URL": url, "NU3D_STORAGE_URL": f"{tmp.name}/files",
        "NU3D_SECRET_KEY": secrets.token_urlsafe(32), "NU3D_TOKEN_ENCRYPTION_KEY": fernet_key,
        "SHOPIFY_API_KEY": "bench", "SHOPIFY_API_SECRET": secrets.token_urlsafe(32), "NU3D_LOG_LEVEL": "WARNING",
        "NU3D_APP_URL": f"http://127.0.0.1:{port}",
    })  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "shop_app.cli", "serve", "--port", str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        first = {}
        for shop in ("busy", "fresh"):
            start = time.perf_counter()
            resp = httpx.get(f"{base}/api/nu3d", params={"shop": shop}, timeout=60)
            first[shop] = (
                time.perf_counter() - start,
                resp.json()["data"]["products"][0]["variants"]["nodes"][0]["images"][0]["status"],
            )
        feed = f"{base}/api/nu3d?shop=cached"
        httpx.get(feed, timeout=60)  # writes the cache
        print(f"database: {'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}")
        print(
            f"first call, 5 products all generating: {first['busy'][0] * 1000:.1f} ms (status {first['busy'][1]})"
        )
        print(
            f"first call, 5 finished products not cached yet (builds + writes the cache): {first['fresh'][0] * 1000:.1f} ms"
        )
        print("| clients | requests | p50 ms | p99 ms | req/s |")
        print("|---|---|---|---|---|")
        for clients in [int(c) for c in args.clients.split(",")]:
            # The raw-asyncio keep-alive load generator of the service bench: an HTTP client library in
            # the same process capped the rate first (httpx: ~180 req/s at 10 clients, the server idle).
            result = loopback.load(
                port,
                clients,
                lambda _i, _n: ("GET", "/api/nu3d?shop=cached", {}, b""),
                duration_s=args.seconds,
                on_answer=served_from_cache,
            )
            if result.errors:
                raise RuntimeError(f"{result.errors} answers were not 200")
            print(f"| {clients} | {len(result.latencies)} | {result.p50 * 1000:.1f} | "
                  f"{result.p99 * 1000:.1f} | {result.rps:.0f} |")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=20)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
