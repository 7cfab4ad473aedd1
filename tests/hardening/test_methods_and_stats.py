"""Allow lists every method a path serves (405 and OPTIONS); queue statistics count only the caller's jobs;
signed file links with odd characters are refused, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.jobs.conftest import files_for, make_key


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/jobs", "GET, HEAD, OPTIONS, POST"),
        ("/api/v1/jobs/job_x", "DELETE, GET, HEAD, OPTIONS, PATCH"),
        ("/api/v1/queue/stats", "GET, HEAD, OPTIONS"),
        ("/store/threed-jobs", "GET, HEAD, OPTIONS, POST"),
        ("/store/threed-jobs/job_x", "GET, HEAD, OPTIONS, POST"),
    ],
)
def test_options_and_405_name_every_method(client: Any, path: str, methods: str) -> None:
    options = client.options(path)
    assert options.status_code == 204 and options.headers["allow"] == methods
    wrong = client.put(path)
    assert wrong.status_code == 405 and wrong.headers["allow"] == methods
    body = wrong.json()
    if path.startswith("/store/"):
        assert body["success"] is False and body["type"] == "INVALID_DATA"
    else:
        assert body["detail"]["code"] == "METHOD_NOT_ALLOWED"


def test_queue_stats_count_only_the_callers_jobs(client: Any, db: Any) -> None:
    mine = {"X-API-Key": make_key(db, "jobs", name="mine")}
    theirs = {"X-API-Key": make_key(db, "jobs", name="theirs")}
    admin = {"X-API-Key": make_key(db, "admin", name="ops")}
    for seed in (1, 2):
        assert client.post("/api/v1/jobs", files=files_for(seed), headers=theirs).status_code == 202
    assert client.post("/api/v1/jobs", files=files_for(3), headers=mine).status_code == 202
    assert client.get("/api/v1/queue/stats", headers=mine).json()["total"] == 1
    assert client.get("/api/v1/queue/stats", headers=theirs).json()["total"] == 2
    assert client.get("/api/v1/queue/stats", headers=admin).json()["total"] == 3


@pytest.mark.parametrize(
    "query",
    ["expires=9999999999&sig=%C2%BB%2B%C3%98", "expires=%C2%B2&sig=abc", "expires=&sig=", "sig=x"],
)
def test_odd_file_signatures_are_a_403(client: Any, query: str) -> None:
    resp = client.get(f"/files/sha256/aa/bb/{'a' * 64}.png?{query}")
    assert resp.status_code == 403, resp.text
    assert resp.json()["detail"]["code"] == "INVALID_SIGNATURE"
