"""Fixtures shared by the Shopify, webhook and scheduler tests: a devstore and the app, both served by
uvicorn on loopback, so every Shopify-facing call is real HTTP in both directions (webhooks included).

Import the fixtures into a conftest with `from tests.shopify.harness import *  # noqa: F403`.
"""

from __future__ import annotations

import io
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image
from sqlalchemy.engine import Engine

from devstore.testing import DevstoreServer
from shop_app.app import create_app
from shop_app.settings import Settings
from tests.conftest import TEST_SHOPIFY_API_KEY, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SCOPES = ["read_products", "write_products", "write_files"]
CLIENT_ID = TEST_SHOPIFY_API_KEY
# Shopify secrets are 32+ bytes; PyJWT warns (an error under pytest) about shorter HMAC keys.
CLIENT_SECRET = "shpss_test0123456789abcdef0123456789abcdef"


def toml_subscriptions() -> list[dict[str, Any]]:
    """The webhook subscriptions exactly as shopify.app.toml declares them."""
    config = tomllib.loads((ROOT / "shopify.app.toml").read_text())
    subs = []
    for sub in config["webhooks"]["subscriptions"]:
        item = {"uri": sub["uri"]}
        if "topics" in sub:
            item["topics"] = sub["topics"]
        if "compliance_topics" in sub:
            item["compliance_topics"] = sub["compliance_topics"]
        subs.append(item)
    return subs


def png(color: tuple[int, int, int] = (200, 30, 30), size: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def devstore_server() -> Iterator[DevstoreServer]:
    with DevstoreServer() as ds:
        yield ds


@pytest.fixture
def devstore(devstore_server: DevstoreServer) -> Iterator[DevstoreServer]:
    devstore_server.reset()
    yield devstore_server
    devstore_server.wait_for_webhooks(timeout=5)
    devstore_server.reset()


@dataclass
class RunningApp:
    url: str
    settings: Settings
    db: Engine
    client: httpx.Client

    def shop_url(self, path: str) -> str:
        return f"{self.url}{path}"

    def wait_for_inbox(self, timeout: float = 10.0) -> None:
        """Wait until the scheduler's inbox processor (running beside the app) has no delivery left to run."""
        wait_for_inbox(self.db, timeout=timeout)


def wait_for_inbox(db: Engine, *, timeout: float = 10.0) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from shop_app.db import session_scope
    from shop_app.models.shopify import WebhookEvent

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(db) as session:
            pending = session.exec(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "pending")
            ).one()
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} webhook deliveries still pending after {timeout} s")
        time.sleep(0.02)


def outcome_of(db: Engine, event_id: str, *, timeout: float = 10.0) -> str:
    """The outcome the inbox processor recorded for a delivery (waits until it has been processed)."""
    from sqlmodel import select

    from shop_app.db import session_scope
    from shop_app.models.shopify import WebhookEvent

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(db) as session:
            row = session.exec(select(WebhookEvent).where(WebhookEvent.event_id == event_id)).first()
        if row is not None and row.status != "pending":
            return row.outcome
        if time.monotonic() > deadline:
            raise TimeoutError(f"webhook event {event_id} not processed after {timeout} s")
        time.sleep(0.02)


def settle(devstore: DevstoreServer, app: RunningApp, timeout: float = 10.0) -> bool:
    """Every webhook the devstore sent is answered, and every accepted one is processed."""
    answered = devstore.wait_for_webhooks(timeout=timeout)
    app.wait_for_inbox(timeout=timeout)
    return answered


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # running in a thread
        pass


@pytest.fixture
def app_factory(
    make_settings: Callable[..., Settings], devstore: DevstoreServer, db: Engine
) -> Iterator[Callable[..., RunningApp]]:
    """Start the real app (uvicorn, own port) pointed at the devstore; extra settings as keyword arguments.

    Beside it runs the scheduler's webhook inbox processor (its own thread, as in `nu3d scheduler`)."""
    from scheduler.jobs import make_inbox_processor

    servers: list[tuple[_Server, threading.Thread, httpx.Client]] = []
    processors: list[threading.Thread] = []
    stop = threading.Event()

    def start(**overrides: Any) -> RunningApp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = make_settings(
            NU3D_SHOPIFY_ADMIN_BASE=devstore.admin_base,
            NU3D_APP_URL=url,
            SHOPIFY_API_SECRET=CLIENT_SECRET,
            **overrides,
        )
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = _Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for_port(port)
        while not server.started:
            time.sleep(0.01)
        client = httpx.Client(base_url=url, timeout=10.0, follow_redirects=False)
        servers.append((server, thread, client))
        processor = threading.Thread(
            target=make_inbox_processor(settings, db, poll_s=0.05).run, args=(stop,), daemon=True
        )
        processor.start()
        processors.append(processor)
        return RunningApp(url=url, settings=settings, db=db, client=client)

    yield start
    devstore.wait_for_webhooks(timeout=5)
    stop.set()
    for processor in processors:
        processor.join(timeout=10)
    for server, thread, client in servers:
        client.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def running_app(app_factory: Callable[..., RunningApp]) -> RunningApp:
    return app_factory()


def install_shop(devstore: DevstoreServer, app: RunningApp, shop: str, *, timezone: str = "UTC") -> None:
    """Create a devstore shop and do Shopify's managed install of our app (no call to the app yet)."""
    devstore.create_shop(shop, iana_timezone=timezone)
    devstore.install_app(
        shop,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_url=app.url,
        scopes=SCOPES,
        subscriptions=toml_subscriptions(),
    )


def open_embedded(devstore: DevstoreServer, app: RunningApp, shop: str, path: str = "/app") -> httpx.Response:
    """Load the app the way the admin does: follow the devstore admin page's iframe src into the app."""
    page = devstore.client.get(f"{devstore.shop_url(shop)}/admin/apps/{CLIENT_ID}", params={"path": path})
    page.raise_for_status()
    import html
    import re

    src = html.unescape(re.search(r"<iframe src='([^']+)'", page.text).group(1))  # type: ignore[union-attr]
    assert src.startswith(app.url), src
    return app.client.get(src[len(app.url) :])


def box_glb() -> bytes:
    """A small valid GLB (a unit box), as the engine would produce."""
    import trimesh

    return bytes(trimesh.creation.box().export(file_type="glb"))


def finish_generation(app: RunningApp, image_id: int, glb: bytes | None = None) -> str:
    """Complete the image's queued generation as a worker would: GLB in storage, generation row, job succeeded."""
    from shop_app.db import session_scope
    from shop_app.models.base import utcnow
    from shop_app.models.jobs import SUCCEEDED, Generation, Job
    from shop_app.models.shopify import ProductImage
    from shop_app.storage import make_storage

    data = glb if glb is not None else box_glb()
    key = make_storage(app.settings).put(data, suffix=".glb", content_type="model/gltf-binary")
    with session_scope(app.db) as session:
        image = session.get(ProductImage, image_id)
        assert image is not None and image.job_id
        job = session.get(Job, image.job_id)
        assert job is not None
        generation = Generation(input_hash=f"test-{job.id}", glb_key=key)
        session.add(generation)
        session.flush()
        job.status, job.generation_id, job.progress, job.finished_at = SUCCEEDED, generation.id, 100, utcnow()
        session.add(job)
        return key
