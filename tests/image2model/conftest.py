"""Image2Model against a running app (uvicorn on loopback) and, where models must be made, a real worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shop_app.settings import Settings
from tests.jobs.conftest import FAST, api_settings, drain, fast_settings, make_key, png_bytes, workers  # noqa: F401 - shared fixtures
from tests.live_server import LiveServer

API = "/api/v1"


@pytest.fixture
def i2m_settings(fast_settings: Settings) -> Settings:  # noqa: F811 - the imported fixture
    # The same settings the `workers` fixture gives its worker processes (one database and store).
    return fast_settings


@pytest.fixture
def live(i2m_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(i2m_settings) as server:
        yield server


@pytest.fixture
def start_live(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., LiveServer]]:
    """Another server with its own settings overrides (rate limits, Redis, a broken store)."""
    servers: list[LiveServer] = []

    def start(storage: Any = None, **overrides: str) -> LiveServer:
        server = LiveServer(make_settings(**FAST, **overrides), storage=storage).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def bearer(db: Any) -> dict[str, str]:
    # The document's header: Authorization: Bearer YOUR_API_KEY
    return {"Authorization": f"Bearer {make_key(db, 'jobs')}"}


@pytest.fixture
def admin(db: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(db, 'admin', name='admin')}"}


def images(*seeds: int, names: list[str] | None = None) -> list[tuple[str, tuple[str, bytes, str]]]:
    names = names or [f"image{i + 1}.png" for i in range(len(seeds))]
    return [("files", (name, png_bytes(seed), "image/png")) for name, seed in zip(names, seeds, strict=True)]
