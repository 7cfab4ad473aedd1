"""A full file store: uploads get a clear 503 in the family's shape, nothing half-written stays, and the
service recovers as soon as there is room again. Needs root (a size-capped tmpfs)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from shop_app.app import create_app
from tests.hardening.conftest import job_count
from tests.jobs.conftest import FAST, files_for, make_key


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-capped tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_full_store_is_a_503_and_recovers(make_settings: Any, db: Any, small_disk: Path) -> None:
    settings = make_settings(NU3D_STORAGE_URL=str(small_disk), **FAST)
    auth = {"X-API-Key": make_key(db, "jobs")}
    with TestClient(create_app(settings)) as client:
        filler = _fill(small_disk)
        resp = client.post("/api/v1/jobs", files=files_for(1), headers=auth)
        assert resp.status_code == 503, resp.text
        detail = resp.json()["detail"]
        assert detail["code"] == "STORAGE_UNAVAILABLE" and "is full" in detail["message"]
        seed = client.post("/store/threed-jobs", files=files_for(1, 2, 3, 4))
        assert seed.status_code == 503 and seed.json()["success"] is False, seed.text
        assert "is full" in seed.json()["error"]
        assert job_count(db) == 0
        assert [p.name for p in small_disk.rglob("*") if p.is_file()] == ["filler"]  # no temp files left
        filler.unlink()
        assert client.post("/api/v1/jobs", files=files_for(1), headers=auth).status_code == 202
        assert job_count(db) == 1 and client.get("/health/ready").status_code == 200
