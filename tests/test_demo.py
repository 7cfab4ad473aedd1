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


def _start_demo(tmp_path: Path, port: int, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "shop_app.cli", "demo", "--port", str(port), *extra],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def _devstore_port(log: Path) -> int:
    match = re.search(
        r"Devstore \(the stand-in Shopify store\): +http://127\.0\.0\.1:(\d+)/", log.read_text()
    )
    assert match, log.read_text(errors="replace")[-2000:]
    return int(match.group(1))


def _is_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}  # exited, waiting to be reaped by whoever adopted it


def test_demo_generates_models_for_the_demo_shop(tmp_path: Path) -> None:
    port = free_port()
    proc, log = _start_demo(tmp_path, port, "--photo-size", "192")
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
    for p in (port, _devstore_port(log)):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{p}/health", timeout=2)


def test_demo_survives_a_taken_neighbour_port_and_sigkill_leaves_no_children(tmp_path: Path) -> None:
    import socket

    # The web port's neighbour is taken (the old demo put its devstore there and failed to start).
    port = free_port()
    with socket.socket() as blocker:
        try:
            blocker.bind(("127.0.0.1", port + 1))
            blocker.listen()
        except OSError:
            pass  # something else holds it already: just as good
        proc, log = _start_demo(tmp_path, port, "--no-seed")
        try:
            _wait_for_line(log, "Nu3D demo is running", proc, timeout_s=300)
            assert _devstore_port(log) != port + 1
            children = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", log.read_text())]
            assert len(children) == 4, log.read_text(errors="replace")[-2000:]
            os.kill(proc.pid, signal.SIGKILL)  # only the demo itself: no chance to stop its children
            proc.wait(timeout=10)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(_is_gone(pid) for pid in children):
                time.sleep(0.2)
            left = [pid for pid in children if not _is_gone(pid)]
        finally:
            for pid in locals().get("children", []):
                if not _is_gone(pid):
                    os.killpg(pid, signal.SIGKILL)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert left == [], f"children still running after SIGKILL of the demo: {left}"
    for p in (port, _devstore_port(log)):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{p}/health", timeout=2)
