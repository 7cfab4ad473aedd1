"""Fixtures for the hardening tests: the jobs fixtures (client, keys, settings) and what is left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text

from shop_app.settings import Settings
from tests.conftest import free_port
from tests.jobs.conftest import api_settings, auth, client, drain, key, wait_until  # noqa: F401 - fixtures

__all__ = ["job_count", "left_behind", "served"]


def left_behind(settings: Settings) -> list[Path]:
    """Files in local storage (the test settings use a directory)."""
    root = Path(settings.storage_url)
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []


def job_count(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM job")).scalar_one())


@contextmanager
def served(tmp_path: Path, database_url: str, **env: str) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    base.update(
        {
            "NU3D_SECRET_KEY": "a-real-secret-value-for-tests",
            "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "SHOPIFY_API_KEY": "id",
            "SHOPIFY_API_SECRET": "a-real-shopify-secret-for-tests",
            "NU3D_STORAGE_URL": str(tmp_path / "files"),
            "NU3D_DATABASE_URL": database_url,
            "NU3D_APP_URL": f"http://127.0.0.1:{port}",
            **env,
        }
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shop_app.cli", "serve", "--port", str(port)],
            env=base,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"nu3d serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.2, what="nu3d serve")
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)
