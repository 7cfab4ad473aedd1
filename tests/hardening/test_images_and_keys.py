"""Damaged images are refused before anything is stored; revoked and expired API keys are refused."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from shop_app.apikeys import CACHE_TTL_S, create_api_key
from shop_app.db import session_scope
from shop_app.models import utcnow
from shop_app.settings import Settings
from tests.hardening.conftest import job_count, left_behind
from tests.jobs.conftest import files_for, png_bytes


def _jpeg(seed: int, size: int = 64) -> bytes:
    img = Image.new("RGB", (size, size))
    img.putdata([((x * seed) % 256, (y * 3) % 256, (x * y) % 256) for y in range(size) for x in range(size)])
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=95)
    return out.getvalue()


def test_truncated_jpeg_among_four_is_a_400_and_nothing_is_stored(
    client: Any, api_settings: Settings, db: Any
) -> None:
    truncated = _jpeg(3)[:-400]  # header and size intact: verify() would have passed it
    files = [("files", (f"image{i}.jpg", _jpeg(i + 1), "image/jpeg")) for i in range(4)]
    files[2] = ("files", ("image2.jpg", truncated, "image/jpeg"))
    resp = client.post("/store/threed-jobs", files=files)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["success"] is False and body["type"] == "INVALID_DATA"
    assert "image2.jpg" in body["error"] and "damaged" in body["error"]
    assert left_behind(api_settings) == [] and job_count(db) == 0
    assert client.get("/health").status_code == 200


def test_truncated_png_is_refused_by_the_job_api(
    client: Any, api_settings: Settings, db: Any, auth: dict[str, str]
) -> None:
    broken = png_bytes(5, size=64)
    broken = broken[: len(broken) // 2] + broken[-12:]  # IDAT cut short, IEND kept
    resp = client.post(
        "/api/v1/jobs",
        files=[*files_for(1), ("files", ("broken.png", broken, "image/png"))],
        headers=auth,
    )
    assert resp.status_code == 400, resp.text
    detail = resp.json()["detail"]
    assert detail["code"] == "VALIDATION_ERROR" and detail["details"]["reason"] == "damaged_image"
    assert detail["details"]["file"] == "broken.png"
    assert left_behind(api_settings) == [] and job_count(db) == 0


def _key(db: Any, **kwargs: Any) -> tuple[int, str]:
    with session_scope(db) as session:
        row, plaintext = create_api_key(session=session, name="k", scopes=["jobs"], **kwargs)
        return int(row.id or 0), plaintext


def test_expired_key_is_refused_and_an_unexpired_one_works(client: Any, db: Any) -> None:
    _, expired = _key(db, expires_at=utcnow() - timedelta(seconds=1))
    _, later = _key(db, expires_at=utcnow() + timedelta(days=1))
    resp = client.get("/api/v1/jobs", headers={"X-API-Key": expired})
    assert resp.status_code == 401 and resp.json()["detail"]["code"] == "INVALID_API_KEY", resp.text
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {later}"}).status_code == 200


def _nu3d(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    return subprocess.run(
        [sys.executable, "-m", "shop_app.cli", "apikey", *args],
        env={**env, "NU3D_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_creates_lists_and_revokes_keys_and_revoked_keys_are_refused(
    client: Any, db: Any, database_url: str
) -> None:
    created = _nu3d(database_url, "create", "--name", "ci", "--expires", "30d")
    assert created.returncode == 0, created.stderr
    plaintext = created.stdout.strip()
    assert "expires 20" in created.stderr
    assert client.get("/api/v1/jobs", headers={"X-API-Key": plaintext}).status_code == 200

    listing = _nu3d(database_url, "list")
    assert listing.returncode == 0, listing.stderr
    line = next(ln for ln in listing.stdout.splitlines() if " ci " in ln)
    assert "active" in line and plaintext[:11] in line and plaintext not in listing.stdout
    key_id = line.split()[0]

    revoked = _nu3d(database_url, "revoke", key_id)
    assert revoked.returncode == 0 and f"revoked API key #{key_id}" in revoked.stdout, revoked.stderr
    # The revoke ran in another process: this server drops the key from its per-process cache within its TTL.
    deadline = time.monotonic() + CACHE_TTL_S + 10
    while (resp := client.get("/api/v1/jobs", headers={"X-API-Key": plaintext})).status_code == 200:
        assert time.monotonic() < deadline, "the revoked key is still accepted after the cache's TTL"
        time.sleep(0.1)
    assert resp.status_code == 401 and resp.json()["detail"]["code"] == "INVALID_API_KEY"
    seed = client.post(
        "/store/threed-jobs/job_x", json={"status": "failed"}, headers={"X-API-Key": plaintext}
    )
    assert seed.status_code == 401 and seed.json()["success"] is False, seed.text
    assert "revoked" in next(ln for ln in _nu3d(database_url, "list").stdout.splitlines() if " ci " in ln)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "--expires", "soon"), "neither a duration"),
        (("create", "--expires", "2001-01-01"), "in the past"),
        (("revoke", "999999"), "no API key '999999'"),
    ],
)
def test_cli_key_errors_are_one_line(db: Any, database_url: str, args: tuple[str, ...], message: str) -> None:  # noqa: ARG001
    result = _nu3d(database_url, *args)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0
