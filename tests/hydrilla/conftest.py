"""Hydrilla's APIs on a real uvicorn server on loopback, a real worker subprocess, a stand-in identity provider
(JWKS on loopback, RS256 and ES256 keys) and a stand-in OpenAI-compatible images API."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from shop_app.app import create_app
from shop_app.settings import Settings
from tests.conftest import free_port, wait_for_port
from tests.idp import IdentityProvider, SigningKey
from tests.images_api import ImagesApi
from tests.jobs.conftest import FAST, WorkerProcs, png_bytes, settings_env, wait_until


def failing_png() -> bytes:
    """A valid PNG the fake engine refuses ("no product found"): its text chunk carries the fail marker."""
    info = PngInfo()
    info.add_text("note", "NU3D-FAKE-FAIL")
    out = io.BytesIO()
    Image.new("RGB", (24, 24), (10, 200, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


class Hydrilla:
    """The app (uvicorn, own port), its settings, and helpers to start workers and mint tokens."""

    def __init__(
        self, settings: Settings, port: int, idp: IdentityProvider, images: ImagesApi | None, tmp: Path
    ) -> None:
        self.settings = settings
        self.port = port
        self.idp = idp
        self.images = images
        self.rs_key: SigningKey = idp.add_key("RS256")
        self.es_key: SigningKey = idp.add_key("ES256")
        env: dict[str, str] = {"NU3D_FETCH_ALLOW_HOSTS": settings.fetch_allow_hosts}
        if images is not None:
            env |= {"NU3D_IMAGE_API_BASE_URL": images.base_url, "NU3D_IMAGE_API_KEY": "sk-test-images"}
        self.workers = WorkerProcs(settings_env(settings, **env), tmp)
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.http = httpx.Client(base_url=self.url, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, sub: str = "user_2abc", *, es: bool = False, **claims: Any) -> str:
        return self.idp.token(self.es_key if es else self.rs_key, sub=sub, **claims)

    def auth(self, sub: str = "user_2abc", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, **claims)}"}

    def start_worker(self, *, stage_s: float = 0.05) -> None:
        self.workers.start(fake_stage_s=stage_s)

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        """Poll the backend status until it is one of `statuses`; the body."""

        def check() -> dict[str, Any] | None:
            body = self.http.get(f"{self.settings.hydrilla_backend_prefix}/status/{job_id}").json()
            return body if body["status"] in statuses else None

        return wait_until(check, timeout=timeout, interval=0.1, what=f"job {job_id} to be {statuses}")

    def __enter__(self) -> Hydrilla:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.workers.stop_all()
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture
def images_api() -> Iterator[ImagesApi]:
    with ImagesApi() as api:
        yield api


@pytest.fixture
def start_hydrilla(
    make_settings: Callable[..., Settings], idp: IdentityProvider, tmp_path: Path
) -> Iterator[Callable[..., Hydrilla]]:
    """start_hydrilla(images=ImagesApi | None, **settings) → a running Hydrilla (stopped at teardown)."""
    running: list[Hydrilla] = []

    def start(images: ImagesApi | None = None, **overrides: str) -> Hydrilla:
        port = free_port()
        allow = [f"127.0.0.1:{images.port}"] if images is not None else []
        values = {
            **FAST,
            "NU3D_APP_URL": f"http://127.0.0.1:{port}",
            "NU3D_JWT_JWKS_URL": idp.jwks_url,
            "NU3D_JWT_ISSUER": idp.issuer,
            "NU3D_FETCH_ALLOW_HOSTS": ",".join(allow),
            **overrides,
        }
        if images is not None:
            values |= {"NU3D_IMAGE_API_BASE_URL": images.base_url, "NU3D_IMAGE_API_KEY": "sk-test-images"}
        app = Hydrilla(make_settings(**values), port, idp, images, tmp_path / f"run{len(running)}")
        (tmp_path / f"run{len(running)}").mkdir()
        running.append(app.__enter__())
        return app

    try:
        yield start
    finally:
        for app in running:
            app.__exit__(None, None, None)


__all__ = ["Hydrilla", "failing_png", "png_bytes"]
