"""SnapAsset over HTTP: a live app (uvicorn on loopback), a worker process, a stand-in identity provider
(ES256 keys, JWK Set on loopback) and a stand-in OpenAI-compatible images API for prompt-made models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from shop_app.app import create_app
from shop_app.settings import Settings
from tests.conftest import free_port, wait_for_port
from tests.idp import IdentityProvider, SigningKey
from tests.images_api import ImagesApi
from tests.jobs.conftest import FAST, WorkerProcs, make_key, settings_env


@dataclass
class Snap:
    """One running SnapAsset deployment: `http` talks to the app; `token(sub)` mints a bearer JWT."""

    url: str
    settings: Settings
    http: httpx.Client
    idp: IdentityProvider
    signing_key: SigningKey
    images: ImagesApi
    api_key: str
    workers: WorkerProcs

    def token(self, sub: str = "user_alice", **claims: Any) -> str:
        return self.idp.token(self.signing_key, sub=sub, **claims)

    def bearer(self, sub: str = "user_alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub)}"}

    def start_worker(self, **env: str) -> None:
        self.workers.start(extra_env=env)

    def wait_status(
        self, job_id: str, wanted: set[str], *, headers: dict[str, str], timeout: float = 90
    ) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            body = self.http.get(f"/api/jobs/{job_id}", headers=headers).json()
            if body.get("status") in wanted:
                return body
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never reached {wanted}; last: {body}\n{self.workers.logs()}")


class _Server:
    def __init__(self, settings: Settings, port: int) -> None:
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = port

    def __enter__(self) -> _Server:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def make_snap(
    make_settings: Callable[..., Settings], db: Any, tmp_path: Path
) -> Iterator[Callable[..., Snap]]:
    """Start a deployment with settings overrides (e.g. lower rate limits); torn down after the test."""
    stack: list[Any] = []

    def start(*, with_provider: bool = True, **overrides: str) -> Snap:
        idp = IdentityProvider().__enter__()
        stack.append(idp)
        signing_key = idp.add_key("ES256")
        images = ImagesApi().__enter__()
        stack.append(images)
        port = free_port()
        provider = {
            # Generous limits unless a test lowers them (polling every 0.1 s would meet 100 per 15 minutes).
            "rate_limit_snapasset": "100000/minute",
            "rate_limit_snapasset_jobs": "100000/minute",
            "platform_render_supersample": "1",  # full-size images, 4x cheaper
            "image_api_base_url": images.base_url,
            "image_api_key": "sk-test-images",
            "image_api_max_attempts": "1",
        }
        if not with_provider:
            provider = {k: v for k, v in provider.items() if not k.startswith("image_api")}
        settings = make_settings(
            **FAST,
            app_url=f"http://127.0.0.1:{port}",
            jwt_jwks_url=idp.jwks_url,
            jwt_issuer=idp.issuer,
            NU3D_SSE_PING_S="0.3",
            **{**provider, **overrides},
        )
        server = _Server(settings, port).__enter__()
        stack.append(server)
        worker_env = {f"NU3D_{k.upper()}": v for k, v in {**provider, **overrides}.items() if not k.isupper()}
        # No test here is about lost leases: a long lease keeps a loaded machine from reaping a busy worker.
        worker_env |= {"NU3D_JOB_LEASE_S": "60", "NU3D_JOB_HEARTBEAT_S": "1"}
        workers = WorkerProcs(settings_env(settings, **worker_env), tmp_path)
        stack.append(workers)
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        stack.append(http)
        return Snap(
            url=f"http://127.0.0.1:{port}",
            settings=settings,
            http=http,
            idp=idp,
            signing_key=signing_key,
            images=images,
            api_key=make_key(db, "jobs"),
            workers=workers,
        )

    yield start
    for item in reversed(stack):
        if isinstance(item, WorkerProcs):
            item.stop_all()
        elif isinstance(item, httpx.Client):
            item.close()
        else:
            item.__exit__(None, None, None)


@pytest.fixture
def snap(make_snap: Callable[..., Snap]) -> Snap:
    return make_snap()
