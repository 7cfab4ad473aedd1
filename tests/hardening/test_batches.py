"""Batches: the whole batch is checked against the active-jobs cap before any file is stored, the documented
25 files fit an idle key, and ZIP entry names extract inside the target folder on every OS."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from starlette.testclient import TestClient

from shop_app.app import create_app
from shop_app.settings import Settings
from tests.hardening.conftest import job_count, left_behind
from tests.jobs.conftest import FAST, files_for, make_key, png_bytes


def test_a_full_batch_of_25_fits_the_default_cap(
    client: Any, api_settings: Settings, auth: dict[str, str], db: Any
) -> None:
    assert api_settings.job_max_active_per_key >= 25
    resp = client.post("/api/v1/batches", files=files_for(*range(25)), headers=auth)
    assert resp.status_code == 202, resp.text
    assert resp.json()["total_files"] == 25 and job_count(db) == 25


def test_batch_over_the_cap_stores_nothing(make_settings: Any, db: Any) -> None:
    settings = make_settings(NU3D_JOB_MAX_ACTIVE_PER_KEY="20", **FAST)
    auth = {"X-API-Key": make_key(db, "jobs")}
    with TestClient(create_app(settings)) as c:
        assert c.post("/api/v1/jobs", files=files_for(900), headers=auth).status_code == 202
        before = sorted(left_behind(settings))
        for size in (20, 25):
            resp = c.post("/api/v1/batches", files=files_for(*range(size)), headers=auth)
            assert resp.status_code == 429, resp.text
            detail = resp.json()["detail"]
            assert detail["code"] == "TOO_MANY_ACTIVE_JOBS" and detail["details"] == {
                "active_jobs": 1,
                "limit": 20,
            }
            assert f"these {size} new jobs would make {size + 1}" in detail["message"]
            assert resp.headers["retry-after"] == "10"
        assert sorted(left_behind(settings)) == before and job_count(db) == 1
        assert c.post("/api/v1/batches", files=files_for(*range(19)), headers=auth).status_code == 202
        assert c.get("/health").status_code == 200


def test_zip_entry_names_cannot_escape(client: Any, auth: dict[str, str], drain: Any) -> None:
    names = [
        "..\\..\\Windows\\System32\\evil.png",
        "C:evil.png",
        "/etc/passwd.png",
        "../../up.png",
        "CON.png",
        "a\\x01b.png",
    ]
    files = [("files", (name, png_bytes(300 + i), "image/png")) for i, name in enumerate(names)]
    batch = client.post("/api/v1/batches", files=files, headers=auth)
    assert batch.status_code == 202, batch.text
    drain()
    archive = client.get(f"/api/v1/batches/{batch.json()['id']}/download", headers=auth)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        entries = zf.namelist()
    assert len(entries) == len(names) and len(set(entries)) == len(entries)
    for entry in entries:
        assert "/" not in entry and "\\" not in entry and ":" not in entry and ".." not in entry, entry
        assert entry.endswith(".glb") and not entry.upper().startswith("CON."), entry
    assert "evil.glb" in entries and "passwd.glb" in entries
