"""Helpers for the jobs tests: worker subprocesses on the test database, small distinct images."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from shop_app.settings import Settings
from tests.conftest import TEST_FERNET_KEY, TEST_SECRET_KEY, TEST_SHOPIFY_API_KEY, TEST_SHOPIFY_API_SECRET
from tests.fake_engine import SPEC as FAKE_ENGINE

# Short timings so fault tests finish quickly; the defaults (60 s lease, 10 s heartbeat) are for production.
FAST = {
    "NU3D_JOB_LEASE_S": "3",
    "NU3D_JOB_HEARTBEAT_S": "0.5",
    "NU3D_JOB_CANCEL_GRACE_S": "2",
    "NU3D_JOB_RETRY_BASE_S": "0.1",
    "NU3D_JOB_RETRY_CAP_S": "0.5",
}


def png_bytes(seed: int, size: int = 24) -> bytes:
    """A small PNG whose pixels depend on `seed` (distinct seeds → distinct content hashes)."""
    img = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, (seed // 256) % 256))
    img.putpixel((0, 0), (seed % 256, 1, 2))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class WorkerProcs:
    """Starts `nu3d worker` subprocesses (each in its own process group) and stops them at teardown."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        *,
        concurrency: int = 1,
        fake_stage_s: float = 0.05,
        extra_env: dict[str, str] | None = None,
        engine: str = FAKE_ENGINE,
    ) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shop_app.cli",
                "worker",
                "--engine",
                engine,
                "--device",
                "cpu",
                *(["--engine-option", f"stage_s={fake_stage_s}"] if engine == FAKE_ENGINE else []),
                "--concurrency",
                str(concurrency),
                "--poll-s",
                "0.1",
            ],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("worker-*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            try:  # slots left behind by a killed supervisor
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    env = {
        **base,
        "NU3D_ENV": "test",
        "NU3D_DATABASE_URL": settings.database_url,
        "NU3D_STORAGE_URL": settings.storage_url,
        "NU3D_SECRET_KEY": TEST_SECRET_KEY,
        "NU3D_TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "SHOPIFY_API_KEY": TEST_SHOPIFY_API_KEY,
        "SHOPIFY_API_SECRET": TEST_SHOPIFY_API_SECRET,
        "NU3D_APP_URL": settings.app_url,
        "NU3D_LOG_LEVEL": "INFO",
        **FAST,
    }
    env.update(overrides)
    return env


@pytest.fixture
def fast_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(**FAST)


@pytest.fixture
def workers(fast_settings: Settings, tmp_path: Path) -> Iterator[WorkerProcs]:
    procs = WorkerProcs(settings_env(fast_settings), tmp_path)
    try:
        yield procs
    finally:
        procs.stop_all()


# ---------------------------------------------------------------------------------------- API fixtures


class Drainer:
    """Runs queued jobs in this process with the fake engine (the same SlotRunner the worker uses)."""

    def __init__(self, settings: Settings, engine: Any) -> None:
        import multiprocessing
        import threading

        from shop_app.storage import make_storage
        from shop_app.worker.slot import SlotConfig, SlotRunner
        from tests import fake_engine

        config = SlotConfig(settings=settings, slot=0, worker_id="test-drainer", engine=fake_engine.SPEC)
        self.stop = threading.Event()
        self.runner = SlotRunner(
            config,
            db=engine,
            storage=make_storage(settings),
            engine=fake_engine.load(),
            stop=self.stop,
            current=multiprocessing.get_context("spawn").Array("c", 64),
        )

    def __call__(self, limit: int = 100) -> int:
        done = 0
        while done < limit and self.runner.run_once():
            done += 1
        return done


@pytest.fixture
def api_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(**FAST)


@pytest.fixture
def drain(api_settings: Settings, db: Any) -> Drainer:
    return Drainer(api_settings, db)


def make_key(db: Any, *scopes: str, name: str = "test") -> str:
    from shop_app.apikeys import create_api_key
    from shop_app.db import session_scope

    with session_scope(db) as session:
        _, plaintext = create_api_key(session=session, name=name, scopes=list(scopes or ("jobs",)))
    return plaintext


@pytest.fixture
def client(api_settings: Settings) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from shop_app.app import create_app

    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


@pytest.fixture
def key(db: Any) -> str:
    return make_key(db, "jobs")


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def files_for(*seeds: int, name: str = "view") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"{name}{i}.png", png_bytes(seed), "image/png")) for i, seed in enumerate(seeds)]
