"""`nu3d demo` as a new user runs it: one command, the whole product, real processes, then Ctrl+C."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.slow


def _wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            pytest.fail(
                f"nu3d demo exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}"
            )
        time.sleep(0.5)
    pytest.fail(f"{text!r} not printed within {timeout_s} s:\n{log.read_text(errors='replace')[-4000:]}")


def test_demo_generates_models_for_the_demo_shop(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shop_app.cli", "demo", "--port", str(port), "--photo-size", "192"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_line(log, "Nu3D demo is running", proc, timeout_s=300)
        assert httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=10).status_code == 200

        # The demo installed the app on the demo shop and the app holds an (encrypted) offline token.
        db = tmp_path / "var" / "nu3d.db"
        with sqlite3.connect(db) as conn:
            shop = conn.execute("SELECT domain, access_token_enc FROM shop").fetchall()
        assert [row[0] for row in shop] == ["demo.myshopify.com"]
        assert shop[0][1] and "shpat" not in shop[0][1]

        # The scan finds today's products and the worker turns at least one photo set into a model.
        deadline = time.monotonic() + 420
        succeeded = 0
        while time.monotonic() < deadline and not succeeded:
            with sqlite3.connect(db) as conn:
                succeeded = conn.execute("SELECT count(*) FROM job WHERE status = 'succeeded'").fetchone()[0]
            time.sleep(2)
        assert succeeded >= 1, log.read_text(errors="replace")[-4000:]
        with sqlite3.connect(db) as conn:
            queued_or_done = conn.execute("SELECT count(*) FROM job WHERE shop_id IS NOT NULL").fetchone()[0]
        assert queued_or_done >= 12  # at least the 12 products created "today"
        assert any((tmp_path / "var" / "files").rglob("*.glb"))

        # The curl the demo prints answers seed 001's shape with today's products.
        printed = re.search(r"curl '([^']+)'", log.read_text(errors="replace"))
        assert printed, log.read_text(errors="replace")[-2000:]
        feed = httpx.get(printed.group(1), timeout=30).json()
        assert feed["success"] is True and feed["data"]["total"] >= 12 and feed["data"]["products"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # as a service manager stops it; Ctrl+C takes the same path
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    # Stopping the demo stops every child: nothing keeps listening on the demo's ports.
    for p in (port, port + 1):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{p}/health", timeout=2)
