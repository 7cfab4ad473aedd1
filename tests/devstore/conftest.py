"""Fixtures for the devstore tests: a running devstore, a fake clock, and a real webhook receiver."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstore.config import DevstoreConfig
from devstore.state import Store
from devstore.testing import FAST_RETRIES, DevstoreServer

SHOP = "acme.myshopify.com"
CLIENT_ID = "nu3d-test-client"
CLIENT_SECRET = "shpss_0123456789abcdef0123456789abcdef"
SCOPES = ["read_products", "write_products", "write_files"]


class FakeClock:
    """A clock the test moves by hand; the devstore reads it for timestamps, token expiry and 3D processing."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def png_bytes(width: int = 40, height: int = 30, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def shared_server() -> Iterator[DevstoreServer]:
    config = DevstoreConfig(
        webhook_retry_delays=FAST_RETRIES,
        media_processing_s=0.2,
        bucket_size=1e9,
        restore_rate=1e9,
        webhook_timeout_s=2.0,
    )
    with DevstoreServer(config) as ds:
        yield ds


@pytest.fixture
def ds(shared_server: DevstoreServer) -> DevstoreServer:
    """The session's devstore, reset, with shop SHOP and the test app installed (no webhook receiver)."""
    shared_server.reset()
    shared_server.create_shop(SHOP, iana_timezone="America/New_York")
    shared_server.install_app(
        SHOP,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_url="http://127.0.0.1:9",
        scopes=SCOPES,
        subscriptions=[],
    )
    return shared_server


@pytest.fixture
def token(ds: DevstoreServer) -> str:
    return ds.exchange_token(SHOP, CLIENT_ID, CLIENT_SECRET)["access_token"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked(clock: FakeClock) -> Iterator[DevstoreServer]:
    """A devstore of its own whose state runs on ``clock``."""
    config = DevstoreConfig(
        webhook_retry_delays=FAST_RETRIES, media_processing_s=10.0, bucket_size=1e9, restore_rate=1e9
    )
    with DevstoreServer(config, store=Store(clock=clock)) as server:
        server.create_shop(SHOP, iana_timezone="America/New_York")
        server.install_app(
            SHOP,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_url="http://127.0.0.1:9",
            scopes=SCOPES,
            subscriptions=[],
        )
        yield server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP endpoint on loopback that records webhook deliveries.

    ``fail_first[path] = n`` answers the first n requests to ``path`` with 500; ``gate`` (when set) makes
    every request wait until the test sets it.
    """

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    always_fail: set[str] = field(default_factory=set)
    gate: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_path(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook requests, got {len(self.received)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        if rec.gate is not None:
            import anyio

            await anyio.to_thread.run_sync(rec.gate.wait, 10)
        path = request.url.path
        with rec.lock:
            rec.received.append(Received(path, {k.lower(): v for k, v in request.headers.items()}, body))
            seen = sum(1 for r in rec.received if r.path == path)
        if path in rec.always_fail or seen <= rec.fail_first.get(path, 0):
            return JSONResponse({"error": "try again"}, status_code=500)
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    rec.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield rec
    finally:
        if rec.gate is not None:
            rec.gate.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def gql(
    ds: DevstoreServer, token: str, query: str, variables: dict[str, Any] | None = None, shop: str = SHOP
) -> dict[str, Any]:
    response = ds.graphql(shop, token, query, variables)
    assert response.status_code == 200, response.text
    return response.json()
