"""A real uvicorn server on loopback running create_app (port 0 style: a free port read back), and an SSE
reader for its streams."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from shop_app.app import create_app
from shop_app.settings import Settings
from shop_app.storage import Storage
from tests.conftest import free_port, wait_for_port


class LiveServer:
    def __init__(self, settings: Settings, *, storage: Storage | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings, storage=storage),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def read_events(
    resp: httpx.Response,
    *,
    until_close: bool = True,
    max_s: float = 20,
    on_event: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Parse an SSE stream into [{"id", "event", "data", "comment"}...]. `on_event(events)` runs after each event
    arrives, so a test can act on what the stream has shown (instead of guessing when it has opened)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + max_s
    for line in resp.iter_lines():
        if time.monotonic() > deadline:
            break
        if line == "":
            if current:
                events.append(current)
                if on_event:
                    on_event(events)
            current = {}
            if not until_close and any("data" in e for e in events):
                break
            continue
        if line.startswith(":"):
            events.append({"comment": line[1:].strip()})
            if on_event:
                on_event(events)
            continue
        name, _, value = line.partition(":")
        value = value.lstrip()
        current[name] = json.loads(value) if name == "data" else value
    return events
