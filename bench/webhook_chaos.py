"""Webhook chaos run: 10,000 deliveries, half of them replays, in shuffled order → exactly-once effects.

    python bench/webhook_chaos.py                    # SQLite and PostgreSQL, 1,000 products x 5 events
    python bench/webhook_chaos.py --db sqlite --products 200

Loopback only, bounded: `nu3d serve` and `nu3d scheduler` (which processes the inbox) on a throwaway database,
one installed shop. Each product gets products/create then 4 products/update events (newer `updated_at`, new
title, same photo): 5 events per product, each delivered once, plus one replay of every event — half of the
replays with the same ids (Shopify's retry), half re-sent with fresh event and webhook ids (a captured body
replayed). All 10 clients send the shuffled list at once, so a replay may arrive before its original and an
update before its create.

Checked afterwards (the run fails otherwise):
- every delivery answered 200; exactly one "accepted" per event, every other copy "duplicate";
- the inbox holds one row per event, all processed ("done"), none failed;
- per product: one product row whose title is its newest version's (late updates were stale), one photo
  row and exactly one generation job (never two for the same photo).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any

import loopback
from loopback import Database, load, nu3d_env, running, signed_delivery
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from shop_app.db import make_engine
from shop_app.settings import DatabaseSettings

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
VERSIONS = 5


def deliveries(products: int, seed: int) -> tuple[list[loopback.Request], int]:
    rng = random.Random(seed)
    out: list[loopback.Request] = []
    events = 0
    for pid in range(1, products + 1):
        for version in range(1, VERSIONS + 1):
            topic = "products/create" if version == 1 else "products/update"
            payload = loopback.product_payload(pid, version)
            event = f"evt-{pid}-{version}"
            original = signed_delivery(topic, payload, event)
            out.append(original)
            events += 1
            if rng.random() < 0.5:
                out.append(original)  # Shopify's retry: same ids, same body
            else:
                out.append(signed_delivery(topic, payload, f"{event}-replayed"))  # fresh ids, same body
    rng.shuffle(out)
    return out, events


def _retrying(engine: Engine, sql: str, restarts: list[str], *, rows: bool = False) -> Any:
    """Run a check query, waiting out a database restart (the shared test server is restarted by other
    suites' fault tests; each outage is counted in the report)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql))
                return result.all() if rows else result.scalar_one()
        except OperationalError as err:
            if time.monotonic() > deadline:
                raise
            restarts.append(str(err).splitlines()[0][:120])
            time.sleep(1.0)


def chaos(kind: str, pg_url: str, products: int, clients: int, seed: int) -> dict[str, object]:
    requests, events = deliveries(products, seed)
    restarts: list[str] = []
    answers: Counter[str] = Counter()

    def on_answer(status: int, body: bytes) -> None:
        answers[
            json.loads(body).get("outcome", f"status {status}") if status == 200 else f"status {status}"
        ] += 1

    cursor = iter(requests)

    def make(_i: int, _n: int) -> loopback.Request:
        return next(cursor)

    with Database(kind, pg_url) as url, loopback.files_dir() as files:
        loopback.add_installed_shop(url)
        port = loopback.new_port()
        env = nu3d_env(url, files, port)
        scheduler = running(
            [sys.executable, "-m", "shop_app.cli", "scheduler", "--scan-every", "3600"], env, None
        )
        with loopback.serve_nu3d(env, port), scheduler:
            sent = load(port, clients, make, total=len(requests), warm_up=False, on_answer=on_answer)
            acked = time.perf_counter()
            engine = make_engine(DatabaseSettings(database_url=url))
            while True:
                pending = _retrying(
                    engine, "SELECT count(*) FROM webhook_event WHERE status = 'pending'", restarts
                )
                if pending == 0 or time.perf_counter() - acked > 900:
                    break
                time.sleep(0.5)
            drain_s = time.perf_counter() - acked
        statuses = dict(
            _retrying(
                engine, "SELECT status, count(*) FROM webhook_event GROUP BY status", restarts, rows=True
            )
        )
        product_rows = _retrying(engine, "SELECT count(*) FROM product", restarts)
        stale_titles = _retrying(
            engine, f"SELECT count(*) FROM product WHERE title NOT LIKE '% v{VERSIONS}'", restarts
        )
        images = _retrying(engine, "SELECT count(*) FROM product_image", restarts)
        jobs = _retrying(engine, "SELECT count(*) FROM job", restarts)
        doubled = _retrying(
            engine,
            "SELECT count(*) FROM (SELECT image_gid FROM job GROUP BY image_gid HAVING count(*) > 1) d",
            restarts,
        )
        engine.dispose()
    checks = {
        "every answer 200": sent.errors == 0 and sum(answers.values()) == len(requests),
        "one accepted per event": answers.get("accepted") == events,
        "every other copy a duplicate": answers.get("duplicate") == len(requests) - events,
        "inbox: one row per event, all done": statuses == {"done": events},
        "one product row each": product_rows == products,
        "newest title kept": stale_titles == 0,
        "one photo row each": images == products,
        "exactly one job per photo": jobs == products and doubled == 0,
    }
    result = {
        "db": kind,
        "deliveries": len(requests),
        "events": events,
        "answers": dict(answers),
        "ack_rps": sent.rps,
        "ack_p50_ms": sent.p50 * 1000,
        "ack_p99_ms": sent.p99 * 1000,
        "ack_max_ms": sent.worst * 1000,
        "processed_s_after_last_ack": drain_s,
        "statuses": statuses,
        "products": product_rows,
        "jobs": jobs,
        "database_outages_seen": len(restarts),
        "checks": checks,
    }
    print(json.dumps(result, indent=2), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NU3D_BENCH_PG_URL", PG_DEFAULT))
    parser.add_argument("--products", type=int, default=1000)  # x 5 events x 2 copies = 10,000 deliveries
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    load1, load5, load15 = os.getloadavg()
    print(f"cpus={os.cpu_count()} load average {load1:.1f} {load5:.1f} {load15:.1f}", flush=True)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    failed = False
    for kind in kinds:
        result = chaos(kind, args.pg_url, args.products, args.clients, args.seed)
        bad = [name for name, ok in result["checks"].items() if not ok]  # type: ignore[union-attr]
        print(f"{kind}: {'all checks passed' if not bad else 'FAILED: ' + ', '.join(bad)}", flush=True)
        failed |= bool(bad)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
