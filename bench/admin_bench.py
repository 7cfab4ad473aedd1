"""Embedded admin benchmarks: how long a page of 250 products takes to render in the browser, how long the
index API takes to answer as the catalogue grows, and cursor paging through a large catalogue.

    python bench/admin_bench.py                       # 250-row render; API at 250 / 2,500 / 10,000 products
    python bench/admin_bench.py --products 250,1000 --runs 7
    python bench/admin_bench.py --source mirror       # write products straight into the app's mirror

A real app (uvicorn, throwaway SQLite) against a devstore on loopback, the shop installed by token exchange.
With --source devstore (the default) the products are created in the devstore (in process, one small photo
each) and reach the app the way an older catalogue does: a backfill of all active products, walked by the
scheduler's backfill job through the devstore's GraphQL API (its cost limits included), each photo queued for
a model. With --source mirror they are written straight into the mirror (as the webhook handler would).
Browser: Debian chromium via Playwright, 1400×900, inside the devstore admin page; "render 250" is the time
from choosing "250 per page" to the 250th row in the DOM (fetch of /app/api/index?limit=250 with a fresh
session token included), median of --runs. Paging, at the largest catalogue: the API walked page by page
(50 per page) by next_cursor to the last page, and in the browser "Next ›" clicked --clicks times.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from PIL import Image  # noqa: E402
from sqlmodel import select  # noqa: E402

from devstore.product_json import create_product_from_json  # noqa: E402
from devstore.testing import DevstoreServer  # noqa: E402
from scheduler import jobs as scheduler_jobs  # noqa: E402
from shop_app import migrate  # noqa: E402
from shop_app.app import create_app  # noqa: E402
from shop_app.db import make_engine, write_scope  # noqa: E402
from shop_app.models.core import Shop  # noqa: E402
from shop_app.models.product_models import Backfill  # noqa: E402
from shop_app.settings import load_settings  # noqa: E402
from shop_app.shopify import backfill  # noqa: E402
from shop_app.shopify.sync import ImageSnapshot, ProductSnapshot, upsert_product  # noqa: E402

SHOP = "bench.myshopify.com"
CLIENT_ID, CLIENT_SECRET = "bench-client", "shpss_bench-secret-0123456789abcdef0123"
OUT = ROOT / "bench" / "out"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (96, 96), (40, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


class Stack:
    def __init__(self, tmp: Path, devstore: DevstoreServer) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.settings = load_settings(
            {
                "NU3D_ENV": "test",
                "NU3D_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
                "NU3D_STORAGE_URL": str(tmp / "files"),
                "NU3D_SECRET_KEY": "bench-secret-key-0123456789abcdef",
                "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "SHOPIFY_API_KEY": CLIENT_ID,
                "SHOPIFY_API_SECRET": CLIENT_SECRET,
                "NU3D_APP_URL": self.url,
                "NU3D_SHOPIFY_ADMIN_BASE": devstore.admin_base,
                "NU3D_RATE_LIMIT_API": "",
                "NU3D_RATE_LIMIT_STORE": "",
            }
        )
        migrate.upgrade(self.settings)
        self.db = make_engine(self.settings)
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=port, log_level="warning")
        )
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        self.devstore = devstore
        devstore.create_shop(SHOP, iana_timezone="UTC")
        devstore.install_app(
            SHOP,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_url=self.url,
            scopes=["read_products", "write_products", "write_files"],
            subscriptions=[],
        )
        page = devstore.client.get(
            f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}", params={"path": "/app"}
        )
        src = html.unescape(re.search(r"<iframe src='([^']+)'", page.text).group(1))  # type: ignore[union-attr]
        assert httpx.get(src, timeout=30).status_code == 200  # token exchange: the shop is installed
        # a draft: its photo is the CDN source of the mirror path, and a backfill of active products skips it
        product = devstore.create_product(
            SHOP, title="Photo source", status="DRAFT", images=[_png()], notify=False
        )
        self.photo_url = product["images"][0]["src"]
        self.photo_b64 = base64.b64encode(_png()).decode()

    def add_devstore_products(self, count: int, start: int) -> float:
        """Create the products in the devstore, then backfill all active products; seconds of the backfill."""
        store = self.devstore.store
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with store.lock:
            shop = store.shops[SHOP]
            for i in range(start, start + count):
                body = {
                    "title": f"Bench product {i:05d}",
                    "vendor": "Bench",
                    "handle": f"bench-{i}",
                    "created_at": (base + timedelta(minutes=i)).isoformat(),
                    "images": [{"data_base64": self.photo_b64, "filename": f"bench-{i}.png"}],
                }
                create_product_from_json(store, shop, body, notify=False)
        with write_scope(self.db) as session:
            shop_row = session.exec(select(Shop).where(Shop.domain == SHOP)).one()
            backfill.start(session=session, shop=shop_row, collection_id=None, requested_by=None)
        t0 = time.perf_counter()
        while True:
            scheduler_jobs.backfill_products(self.settings, self.db)
            with write_scope(self.db) as session:
                latest = session.exec(select(Backfill).order_by(Backfill.started_at.desc())).first()  # type: ignore[attr-defined]
                assert latest is not None
                if latest.status != "running":
                    assert latest.status == "finished", latest.error
                    return time.perf_counter() - t0

    def add_products(self, count: int, start: int) -> None:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with write_scope(self.db) as session:
            shop = session.exec(select(Shop).where(Shop.domain == SHOP)).one()
            for i in range(start, start + count):
                snapshot = ProductSnapshot(
                    gid=f"gid://shopify/Product/{900000 + i}",
                    title=f"Bench product {i:05d}",
                    handle=f"bench-{i}",
                    status="ACTIVE",
                    vendor="Bench",
                    created_at=base + timedelta(minutes=i),
                    updated_at=base + timedelta(minutes=i),
                    images=(
                        ImageSnapshot(
                            gid=f"gid://shopify/ProductImage/{900000 + i}", url=f"{self.photo_url}&i={i}"
                        ),
                    ),
                )
                upsert_product(session=session, shop=shop, snapshot=snapshot, queue=True)

    def api_ms(self, params: dict[str, str], runs: int) -> float:
        times = []
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for _ in range(runs):
                token = self.devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
                t0 = time.perf_counter()
                r = client.get("/app/api/index", params=params, headers={"Authorization": f"Bearer {token}"})
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
        return statistics.median(times)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def browser_render_ms(stack: Stack, runs: int) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    first, full = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            t0 = time.perf_counter()
            page.goto(f"{stack.devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
            app = page.frame_locator("iframe")
            app.locator('#rows[data-rendered="50"]').wait_for(timeout=60_000)
            first.append((time.perf_counter() - t0) * 1000)
            frame = next(f for f in page.frames if f.url.startswith(stack.url))
            elapsed = frame.evaluate(
                """() => new Promise((resolve) => {
                    const rows = document.getElementById('rows');
                    const t0 = performance.now();
                    new MutationObserver(() => {
                        if (rows.dataset.rendered === '250') {
                            requestAnimationFrame(() => resolve(performance.now() - t0));
                        }
                    }).observe(rows, { attributes: true });
                    const select = document.getElementById('per-page');
                    select.value = '250';
                    select.dispatchEvent(new Event('change'));
                    setTimeout(() => resolve('timeout: ' + rows.dataset.rendered + ' rows, per-page '
                      + select.value), 60000);
                })"""
            )
            assert not str(elapsed).startswith("timeout"), elapsed
            assert frame.locator("s-table-row[data-product-id]").count() == 250
            full.append(float(elapsed))
            page.close()
        browser.close()
    return statistics.median(first), statistics.median(full)


def api_paging_ms(stack: Stack, *, limit: int = 50) -> list[float]:
    """Walk the whole index by next_cursor; the wall time of each page, in order."""
    times, cursor = [], None
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        while True:
            params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            token = stack.devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
            t0 = time.perf_counter()
            r = client.get("/app/api/index", params=params, headers={"Authorization": f"Bearer {token}"})
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text
            cursor = r.json()["next_cursor"]
            if not cursor:
                return times


def browser_paging_ms(stack: Stack, clicks: int) -> tuple[float, list[float]]:
    """Open the index (50 per page), then click "Next ›" `clicks` times; the first page's time after
    navigation and each click's time until the next page's rows are drawn."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t0 = time.perf_counter()
        page.goto(f"{stack.devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
        page.frame_locator("iframe").locator('#rows[data-rendered="50"]').wait_for(timeout=60_000)
        first = (time.perf_counter() - t0) * 1000
        frame = next(f for f in page.frames if f.url.startswith(stack.url))
        times = []
        for n in range(1, clicks + 1):
            elapsed = frame.evaluate(
                """(from) => new Promise((resolve) => {
                    const rows = document.getElementById('rows');
                    const t0 = performance.now();
                    const done = () => {
                        const range = document.querySelector('[data-role=range]');
                        if (range && range.textContent.startsWith(from + '–')) {
                            requestAnimationFrame(() => resolve(performance.now() - t0));
                            return true;
                        }
                        return false;
                    };
                    const watch = new MutationObserver(() => { if (done()) { watch.disconnect(); } });
                    watch.observe(document.querySelector('[data-role=range]'), { childList: true, characterData: true, subtree: true });
                    // the Polaris table's own Next button, in its shadow root
                    document.getElementById('table').shadowRoot.querySelector('[data-page=next]').click();
                })""",
                n * 50 + 1,
            )
            times.append(float(elapsed))
        browser.close()
    return first, times


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.machine()}"


def load_average() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", default="250,2500,10000", help="catalogue sizes for the API timing")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", choices=["devstore", "mirror"], default="devstore")
    parser.add_argument("--clicks", type=int, default=100, help='"Next" clicks in the browser paging run')
    args = parser.parse_args()
    sizes = [int(s) for s in args.products.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [f"machine: {machine()}; load average (1/5/15 min) at start {load_average()}"]
    print(lines[-1], flush=True)
    with tempfile.TemporaryDirectory() as tmp, DevstoreServer() as devstore:
        stack = Stack(Path(tmp), devstore)
        try:
            have = 0
            for size in sizes:
                if args.source == "devstore":
                    seconds = stack.add_devstore_products(size - have, have)
                    lines.append(
                        f"backfill of {size - have} devstore products ({size} in all): {seconds:.1f} s"
                    )
                    print(lines[-1], flush=True)
                else:
                    stack.add_products(size - have, have)
                have = size
                if size == sizes[0]:
                    first, full = browser_render_ms(stack, args.runs)
                    lines.append(
                        f"browser, {size} products: first page (50 rows) {first:.0f} ms after navigation; "
                        f"250 rows {full:.0f} ms after choosing 250 per page"
                    )
                for label, params in (
                    ("first 250, newest", {"limit": "250"}),
                    ("needs review", {"limit": "50", "filter": "needs_review"}),
                    ("generating", {"limit": "50", "filter": "generating"}),
                    ("search 'product 0001'", {"limit": "50", "q": "product 0001"}),
                    ("title A-Z", {"limit": "50", "sort": "title"}),
                ):
                    ms = stack.api_ms(params, args.runs)
                    lines.append(f"api, {size} products, {label}: {ms:.1f} ms (median of {args.runs})")
                    print(lines[-1], flush=True)
            pages = api_paging_ms(stack)
            deep = len(pages) // 2
            lines.append(
                f"api paging, {have} products, 50 per page, {len(pages)} pages by cursor: page 1 {pages[0]:.1f} ms, "
                f"page {deep + 1} {pages[deep]:.1f} ms, last page {pages[-1]:.1f} ms, median {statistics.median(pages):.1f} ms"
            )
            print(lines[-1], flush=True)
            # a click past the last page would wait for a page that does not exist
            first, clicks = browser_paging_ms(stack, min(args.clicks, len(pages) - 1))
            lines.append(
                f"browser paging, {have} products: first page {first:.0f} ms after navigation; Next to page 2 "
                f"{clicks[0]:.0f} ms, to page {len(clicks) + 1} {clicks[-1]:.0f} ms, median {statistics.median(clicks):.0f} ms"
            )
            lines.append(f"load average (1/5/15 min) at the end {load_average()}")
        finally:
            stack.stop()
    (OUT / "admin_bench.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
