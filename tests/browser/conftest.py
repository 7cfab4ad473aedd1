"""Browser-test fixtures: Debian chromium under Playwright, the app beside the devstore, and a worker slot that
runs queued jobs with the real engine (at low resolution, so a model takes seconds on a CPU)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstore.testing import DevstoreServer
from shop_app.storage import make_storage
from shop_app.worker.engines import LoadedEngine
from shop_app.worker.slot import SlotConfig, SlotRunner
from tests.shopify.harness import *  # noqa: F403
from tests.shopify.harness import RunningApp

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]
# the engine at its lowest voxel resolution, with a small texture and splat: a 4-view model in a few CPU
# seconds instead of tens, still the real pipeline (segment, carve, mesh, texture, export)
LOW_RES_PARAMS = {"resolution": 128, "texture_size": 256}
LOW_RES_FACES = 2000
LOW_RES_SPLATS = 30_000


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shop_app(devstore: DevstoreServer, app_factory: Callable[..., RunningApp]) -> RunningApp:
    """The app, allowed to fetch product photos from the devstore's CDN on loopback (as a worker would
    from cdn.shopify.com)."""
    return app_factory(fetch_allow_hosts=urlsplit(devstore.admin_base).netloc)


def low_res_engine() -> LoadedEngine:
    from generation import Engine, EngineConfig, GenerationParams
    from generation.config import ExportConfig, TextureConfig

    config = EngineConfig(
        texture=TextureConfig(source_size=256),
        export=ExportConfig(splat_count=LOW_RES_SPLATS, preview_size=256),
    )

    def make_params(params: dict[str, Any]) -> GenerationParams:
        given = {k: v for k, v in params.items() if k != "prompt"}
        faces = min(int(given.get("face_limit") or LOW_RES_FACES), LOW_RES_FACES)
        return GenerationParams(**{**given, **LOW_RES_PARAMS, "face_limit": faces})

    return LoadedEngine(name="real", engine=Engine(config), make_params=make_params)


@pytest.fixture
def run_worker(shop_app: RunningApp) -> Iterator[Callable[[], int]]:
    """`run_worker()` runs every queued job to its end with the real engine, as `nu3d worker` does (claim,
    fetch the photos, generate, store, complete), and returns how many it ran."""
    pytest.importorskip("torch")
    stop = threading.Event()
    slot = SlotRunner(
        SlotConfig(settings=shop_app.settings, slot=0, worker_id="browser-test-slot", device="cpu"),
        db=shop_app.db,
        storage=make_storage(shop_app.settings),
        engine=low_res_engine(),
        stop=stop,
        current=SimpleNamespace(value=b""),
    )
    # its own thread: the Playwright sync API owns an event loop in the test's thread
    pool = ThreadPoolExecutor(max_workers=1)

    def run_all() -> int:
        ran = 0
        while pool.submit(slot.run_once).result():
            ran += 1
        return ran

    yield run_all
    stop.set()
    pool.shutdown(wait=True)
