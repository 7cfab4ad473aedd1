"""Fixtures for the hardening tests: the jobs fixtures (client, keys, settings) and what is left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text

from shop_app.settings import Settings
from tests.jobs.conftest import api_settings, auth, client, drain, key  # noqa: F401 - fixtures

__all__ = ["job_count", "left_behind"]


def left_behind(settings: Settings) -> list[Path]:
    """Files in local storage (the test settings use a directory)."""
    root = Path(settings.storage_url)
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []


def job_count(db: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM job")).scalar_one())
