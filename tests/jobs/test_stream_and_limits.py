"""SSE over a real uvicorn server on loopback, and the rate-limit middleware's headers and 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from shop_app.app import create_app
from tests.jobs.conftest import FAST, Drainer, files_for, make_key
from tests.live_server import LiveServer, read_events


@pytest.fixture
def live(make_settings) -> Iterator[LiveServer]:  # noqa: ANN001
    with LiveServer(make_settings(**FAST, NU3D_SSE_PING_S="0.3")) as server:
        yield server


def test_sse_streams_snapshots_until_the_terminal_event(live: LiveServer, db, api_settings, key) -> None:  # noqa: ANN001
    auth = {"X-API-Key": key}
    job = httpx.post(f"{live.url}/api/v1/jobs", files=files_for(3), headers=auth).json()
    drain = Drainer(api_settings, db)
    worker = threading.Thread(target=drain)

    def start_worker_once_queued_is_seen(seen: list[dict]) -> None:
        # the worker starts only after the stream showed the queued snapshot (no guess at connection time)
        if not worker.is_alive() and worker.ident is None and any("data" in e for e in seen):
            worker.start()

    with httpx.stream("GET", job["urls"]["stream"], headers=auth, timeout=30) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = read_events(resp, on_event=start_worker_once_queued_is_seen)
    worker.join()
    data = [e for e in events if "data" in e]
    assert data[0]["data"]["status"] == "queued"
    versions = [int(e["id"]) for e in data]
    assert versions == sorted(set(versions)), "event ids are increasing versions"
    assert all(e["data"]["version"] == int(e["id"]) for e in data)
    assert data[-1]["data"]["status"] == "succeeded" and data[-1]["data"]["type"] == "completed"
    assert any(e.get("retry") == "3000" for e in events)

    # Resuming after the terminal event: nothing more to send, the stream closes at once.
    last = {"Last-Event-ID": str(versions[-1]), **auth}
    with httpx.stream("GET", job["urls"]["stream"], headers=last, timeout=10) as resp:
        assert [e for e in read_events(resp) if "data" in e] == []
    # Resuming from an older version: the current snapshot comes at once.
    older = {"Last-Event-ID": str(versions[0]), **auth}
    with httpx.stream("GET", job["urls"]["stream"], headers=older, timeout=10) as resp:
        again = [e for e in read_events(resp) if "data" in e]
    assert [int(e["id"]) for e in again] == [versions[-1]]


def test_sse_pings_while_nothing_changes_and_sees_a_cancel(live: LiveServer, key) -> None:  # noqa: ANN001
    auth = {"X-API-Key": key}
    job = httpx.post(f"{live.url}/api/v1/jobs", files=files_for(4), headers=auth).json()
    canceler = threading.Thread(target=lambda: httpx.post(job["urls"]["cancel"], headers=auth))

    def cancel_after_two_pings(seen: list[dict]) -> None:
        # cancel once the stream has shown two keep-alive pings (no guess at how long it takes to open)
        if canceler.ident is None and sum(1 for e in seen if e.get("comment") == "ping") >= 2:
            canceler.start()

    with httpx.stream("GET", job["urls"]["stream"], headers=auth, timeout=30) as resp:
        events = read_events(resp, on_event=cancel_after_two_pings)
    canceler.join()
    assert sum(1 for e in events if e.get("comment") == "ping") >= 2
    final = [e for e in events if "data" in e][-1]["data"]
    assert (final["status"], final["type"]) == ("canceled", "canceled")


def test_sse_needs_the_key(live: LiveServer) -> None:
    resp = httpx.get(f"{live.url}/api/v1/jobs/job_x/events")
    assert resp.status_code == 401


def test_api_rate_limit_headers_and_429(make_settings, key) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    auth = {"X-API-Key": key}
    with TestClient(create_app(make_settings(NU3D_RATE_LIMIT_API="3/minute"))) as c:
        answers = [c.get("/api/v1/jobs", headers=auth) for _ in range(4)]
        other_key = c.get("/api/v1/jobs", headers={"X-API-Key": "nu3d_someone-else"})
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in answers)
    reset = int(answers[0].headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61  # an absolute epoch second
    limited = answers[-1]
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert other_key.status_code == 401  # counted per key: another key has its own budget


def test_store_rate_limit_is_per_ip_in_the_seed_format(make_settings) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    with TestClient(create_app(make_settings(NU3D_RATE_LIMIT_STORE="2/minute"))) as c:
        codes = [c.get("/store/threed-jobs").status_code for _ in range(3)]
        limited = c.get("/store/threed-jobs")
        health = c.get("/health")
    assert codes == [200, 200, 429]
    assert set(limited.json()) == {"success", "error", "type", "details"}
    assert limited.json()["success"] is False and limited.headers["retry-after"]
    # The seed has no rate-limit type; FORBIDDEN is the documented type used (see store_threed_jobs.RATE_LIMIT_TYPE).
    assert limited.json()["type"] == "FORBIDDEN" and "rate limited" in limited.json()["details"]
    assert health.status_code == 200 and "x-ratelimit-limit" not in health.headers


def test_rate_limits_shared_through_redis(make_settings, key) -> None:  # noqa: ANN001
    import redis
    from starlette.testclient import TestClient

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # Two app instances (two web processes) share one budget through Redis.
    settings = make_settings(NU3D_RATE_LIMIT_API="3/minute", NU3D_REDIS_URL="redis://127.0.0.1:6379/15")
    auth = {"X-API-Key": key}  # a new valid key each run: a fresh counter (unknown keys count per IP)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        codes = [a.get("/api/v1/jobs", headers=auth).status_code for _ in range(2)]
        codes += [b.get("/api/v1/jobs", headers=auth).status_code for _ in range(2)]
    assert codes == [200, 200, 200, 429]


def test_rotating_bogus_keys_are_rate_limited_by_address(make_settings, db) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    good = {"X-API-Key": make_key(db, "jobs")}
    with TestClient(create_app(make_settings(NU3D_RATE_LIMIT_API="3/minute"))) as c:
        bogus = [
            c.get("/api/v1/jobs", headers={"X-API-Key": f"nu3d_made-up-{i}"}).status_code for i in range(3)
        ]
        bogus.append(c.get("/api/v1/jobs", headers={"Authorization": "Bearer nu3d_made-up-99"}).status_code)
        anonymous = c.get("/api/v1/jobs")
        valid = [c.get("/api/v1/jobs", headers=good).status_code for _ in range(4)]
    assert bogus == [401, 401, 401, 429]
    assert anonymous.status_code == 429 and anonymous.json()["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert valid == [200, 200, 200, 429]  # a real key keeps its own budget, not the address's
