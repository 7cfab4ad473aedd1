"""Regression tests for defects found in review: no storage writes before authentication, rate limits that
cannot be dodged by rotating bogus keys, idempotency keys bound to one request, early SSRF refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shop_app.settings import Settings
from tests.jobs.conftest import files_for, make_key


def stored_files(settings: Settings) -> list[Path]:
    root = Path(settings.storage_url)
    return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "nu3d_bogus-key"}, {"Authorization": "Bearer junk"}])
@pytest.mark.parametrize("path", ["/api/v1/jobs", "/api/v1/batches"])
def test_unauthenticated_uploads_store_nothing(
    client: Any, api_settings: Settings, headers: dict[str, str], path: str
) -> None:
    resp = client.post(path, files=files_for(1, 2), headers=headers)
    assert resp.status_code == 401, resp.text
    assert stored_files(api_settings) == []


def test_bad_params_store_nothing(client: Any, api_settings: Settings, auth: dict[str, str]) -> None:
    for path in ("/api/v1/jobs", "/api/v1/batches"):
        resp = client.post(path, files=files_for(1), data={"steps": "0"}, headers=auth)
        assert resp.status_code == 400 and "steps" in resp.json()["detail"]["message"], resp.text
    assert stored_files(api_settings) == []


def test_key_over_its_active_cap_stores_nothing(client: Any, api_settings: Settings, db: Any) -> None:
    auth = {"X-API-Key": make_key(db, "jobs")}
    cap = api_settings.job_max_active_per_key
    for seed in range(cap):
        assert client.post("/api/v1/jobs", files=files_for(100 + seed), headers=auth).status_code == 202
    before = sorted(stored_files(api_settings))
    resp = client.post("/api/v1/jobs", files=files_for(999), headers=auth)
    assert resp.status_code == 429 and resp.json()["detail"]["code"] == "TOO_MANY_ACTIVE_JOBS"
    assert sorted(stored_files(api_settings)) == before


def test_idempotency_key_with_a_different_request_is_refused(
    client: Any, api_settings: Settings, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "order-7"}
    first = client.post("/api/v1/jobs", files=files_for(1), data={"steps": "12"}, headers=headers)
    assert first.status_code == 202
    files_after_first = sorted(stored_files(api_settings))
    same = client.post("/api/v1/jobs", files=files_for(1), data={"steps": "12"}, headers=headers)
    assert same.status_code == 202 and same.json()["id"] == first.json()["id"]
    assert same.headers["idempotent-replayed"] == "true"
    for files, data in ((files_for(2), {"steps": "12"}), (files_for(1), {"steps": "13"})):
        other = client.post("/api/v1/jobs", files=files, data=data, headers=headers)
        assert other.status_code == 422, other.text
        detail = other.json()["detail"]
        assert detail["code"] == "IDEMPOTENCY_KEY_REUSED" and "different request" in detail["message"]
        assert detail["details"] == {"job_id": first.json()["id"]}
    assert sorted(stored_files(api_settings)) == files_after_first  # nothing stored for refused requests
    url_headers = {**auth, "Idempotency-Key": "order-8"}
    body = {"image_urls": ["https://example.com/a.png"]}
    assert client.post("/api/v1/jobs", json=body, headers=url_headers).status_code == 202
    assert client.post("/api/v1/jobs", json=body, headers=url_headers).status_code == 202
    changed = client.post(
        "/api/v1/jobs", json={"image_urls": ["https://example.com/b.png"]}, headers=url_headers
    )
    assert changed.status_code == 422 and changed.json()["detail"]["code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://127.0.0.1:8080/a.png", "blocked_address"),
        ("https://10.1.2.3/a.png", "blocked_address"),
        ("http://[::1]/a.png", "blocked_address"),
        ("http://2130706433/a.png", "blocked_address"),  # 127.0.0.1 written as one number
        ("http://metadata.google.internal/a.png", "blocked_address"),
        # Spellings the OS resolver (inet_aton) reads as 127.0.0.1 / 10.0.0.1 / 0.0.0.0:
        ("http://0177.0.0.1/a.png", "blocked_address"),
        ("http://127.000.000.001/a.png", "blocked_address"),
        ("http://0x7f.0.0.1/a.png", "blocked_address"),
        ("http://0x7f000001/a.png", "blocked_address"),
        ("http://127.1/a.png", "blocked_address"),
        ("http://012.0.0.1:8080/a.png", "blocked_address"),
        ("http://0/a.png", "blocked_address"),
        ("http://127.0.0.1./a.png", "blocked_address"),
        ("http://[::ffff:127.0.0.1]/a.png", "blocked_address"),
        # Numeric last label, but no address at all: refused, not guessed at.
        ("http://08.0.0.1/a.png", "invalid_url"),
        ("http://1.2.3.4.5/a.png", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("gopher://example.com/a.png", "invalid_url"),
    ],
)
def test_unfetchable_image_urls_are_refused_at_post(
    client: Any, auth: dict[str, str], url: str, reason: str
) -> None:
    resp = client.post(
        "/api/v1/jobs", json={"image_urls": ["https://cdn.example.com/ok.png", url]}, headers=auth
    )
    assert resp.status_code == 400, resp.text
    detail = resp.json()["detail"]
    assert detail["code"] == "VALIDATION_ERROR" and url[:40] in detail["message"]
    assert detail["details"] == {"field": "image_urls", "url": url, "reason": reason}
    assert client.get("/api/v1/jobs", headers=auth).json()["jobs"] == []


def test_allowed_hosts_and_host_names_pass_the_early_check(make_settings: Any, db: Any) -> None:
    from starlette.testclient import TestClient

    from shop_app.app import create_app

    auth = {"X-API-Key": make_key(db, "jobs")}
    settings = make_settings(NU3D_FETCH_ALLOW_HOSTS="127.0.0.1:9999")
    with TestClient(create_app(settings)) as c:
        allowed = c.post("/api/v1/jobs", json={"image_urls": ["http://127.0.0.1:9999/a.png"]}, headers=auth)
        other_port = c.post(
            "/api/v1/jobs", json={"image_urls": ["http://127.0.0.1:9998/a.png"]}, headers=auth
        )
        # a DNS name is not resolved here (the worker checks every address it resolves to at fetch time)
        named = c.post("/api/v1/jobs", json={"image_urls": ["http://localhost/a.png"]}, headers=auth)
    assert allowed.status_code == 202, allowed.text
    assert other_port.status_code == 400
    assert named.status_code == 202
