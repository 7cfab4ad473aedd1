"""The minimal references the service benchmarks measure Nu3D against, served like `nu3d serve` is (uvicorn,
one process, `log_config=None`, `proxy_headers=True`):

- `--app get`: `GET /api/v1/jobs/{id}` is one single-row lookup of the job table (no auth, no ETA);
- `--app webhook`: `POST /webhooks/{topic}` checks the HMAC and inserts the body into `ref_webhook` (unique
  event id; ON CONFLICT DO NOTHING) — record-and-ack and nothing else.

Database: NU3D_DATABASE_URL (sqlite:///path or postgresql://...), one DB-API connection per thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import sqlite3
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

URL = os.environ.get("NU3D_DATABASE_URL", "").replace("postgresql+psycopg://", "postgresql://")
SECRET = os.environ.get("SHOPIFY_API_SECRET", "").encode()
_local = threading.local()
SQLITE = URL.startswith("sqlite")
MARK = "?" if SQLITE else "%s"


def _conn() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if SQLITE:
            conn = sqlite3.connect(URL.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            conn = psycopg.connect(URL, autocommit=True)
        _local.conn = conn
    return conn


def _lookup(job_id: str) -> tuple[Any, ...] | None:
    sql = f"SELECT id, status, progress, stage, priority, created_at FROM job WHERE id = {MARK}"
    return _conn().execute(sql, (job_id,)).fetchone()


async def get_job(request: Request) -> Response:
    row = await asyncio.to_thread(_lookup, request.path_params["job_id"])
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    keys = ("id", "status", "progress", "stage", "priority", "created_at")
    return JSONResponse({k: (str(v) if k == "created_at" else v) for k, v in zip(keys, row, strict=True)})


def _record(shop: str, event_id: str, body: bytes) -> None:
    sql = f"INSERT INTO ref_webhook (shop, event_id, body) VALUES ({MARK}, {MARK}, {MARK}) ON CONFLICT DO NOTHING"
    _conn().execute(sql, (shop, event_id, body.decode()))


async def webhook(request: Request) -> Response:
    body = await request.body()
    given = request.headers.get("x-shopify-hmac-sha256", "")
    digest = base64.b64encode(hmac.new(SECRET, body, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(digest.encode(), given.encode()):
        return JSONResponse({"detail": "bad hmac"}, status_code=401)
    shop = request.headers.get("x-shopify-shop-domain", "")
    await asyncio.to_thread(_record, shop, request.headers.get("x-shopify-event-id", ""), body)
    return JSONResponse({"ok": True})


def create_tables() -> None:
    kind = "INTEGER PRIMARY KEY AUTOINCREMENT" if SQLITE else "BIGSERIAL PRIMARY KEY"
    _conn().execute(
        f"CREATE TABLE IF NOT EXISTS ref_webhook (id {kind}, shop TEXT NOT NULL, event_id TEXT NOT NULL, "
        "body TEXT NOT NULL, UNIQUE (shop, event_id))"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", choices=["get", "webhook"], required=True)
    args = parser.parse_args()
    if args.app == "get":
        routes = [Route("/api/v1/jobs/{job_id}", get_job)]
    else:
        create_tables()
        routes = [Route("/webhooks/{topic:path}", webhook, methods=["POST"])]
    uvicorn.run(
        Starlette(routes=routes), host="127.0.0.1", port=args.port, log_config=None, proxy_headers=True
    )


if __name__ == "__main__":
    main()
