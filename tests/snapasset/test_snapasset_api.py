"""The SnapAsset API guide against a live app and worker over HTTP: its own JavaScript clients (SDK, SSE,
polling, error handling, rate limits, housekeeping), every status word, every documented error code."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlmodel import SQLModel

from tests.idp import make_key
from tests.snapasset.conftest import Snap

GUIDE_CLIENT = Path(__file__).with_name("guide_client.mjs")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
# The guide's own request example.
GUIDE_REQUEST = {
    "userId": "550e8400-e29b-41d4-a716-446655440000",
    "prompt": "A beautiful sunset over mountains",
    "platforms": ["instagram-post", "twitter-post"],
    "options": {"quality": "hd", "style": "vivid"},
}
SIZES = {"Instagram Post": (1080, 1080), "Instagram Story": (1080, 1920), "Twitter Post": (1200, 675)}


def guide(
    snap: Snap, scenario: str, arg: str = "", *, token: str | None = None, timeout: float = 120
) -> list[dict]:
    """Run one scenario of the guide's JavaScript; its printed JSON lines."""
    done = subprocess.run(
        [
            NODE,
            "--experimental-eventsource",
            "--no-warnings",
            str(GUIDE_CLIENT),
            snap.url,
            token or snap.token(),
            scenario,
            arg,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout + snap.workers.logs()
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def by_event(lines: list[dict], name: str) -> list[dict]:
    return [line for line in lines if line["event"] == name]


def check_images(snap: Snap, images: list[dict], labels: list[str]) -> None:
    assert [i["platform"] for i in images] == labels
    for image in images:
        data = httpx.get(image["url"], timeout=30).content
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "JPEG"
        assert picture.size == (image["width"], image["height"]) == SIZES[image["platform"]]
        assert image["size"] == len(data)


def create(snap: Snap, headers: dict[str, str], **fields: Any) -> str:
    response = snap.http.post("/api/jobs", json={**GUIDE_REQUEST, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["jobId"]


def read_sse(snap: Snap, job_id: str, headers: dict[str, str] | None = None) -> list[dict]:
    events = []
    with snap.http.stream("GET", f"/api/sse/jobs/{job_id}", headers=headers or {}, timeout=90) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


# ------------------------------------------------------------------------------ the guide's own clients


@needs_node
def test_guide_sdk_and_realtime_clients(snap: Snap) -> None:
    snap.start_worker()
    lines = guide(snap, "sdk")
    (created,) = by_event(lines, "created")
    (completed,) = by_event(lines, "completed")
    assert created["jobId"].startswith("job_")
    assert by_event(lines, "update"), "the SDK's onUpdate saw progress events"
    check_images(snap, completed["result"]["images"], ["Instagram Post"])
    assert completed["result"]["success"] is True and completed["result"]["generationId"]
    (job,) = by_event(lines, "job")
    assert job["job"]["status"] == "completed" and job["job"]["progress"] == 100

    lines = guide(snap, "realtime")
    assert by_event(lines, "created")[0]["status"] == "queued"
    assert [line["event"] for line in lines][:2] == ["created", "connected"]
    progress = [line["progress"] for line in by_event(lines, "progress")]
    assert progress == sorted(progress) and all(0 <= p <= 100 for p in progress)
    (shown,) = by_event(lines, "images")
    check_images(snap, shown["images"], ["Instagram Post", "Twitter Post"])


@needs_node
def test_guide_polling_and_error_handling_clients(snap: Snap) -> None:
    snap.start_worker()
    # The error-handling client starts with a bad token: UNAUTHORIZED -> refreshAuth() -> the retry succeeds.
    lines = guide(snap, "errors", snap.token("user_alice"), token=snap.token())
    (error,) = by_event(lines, "api-error")
    assert error["status"] == 401 and error["error"]["code"] == "UNAUTHORIZED"
    assert set(error["error"]) >= {"error", "message", "code", "timestamp"}
    assert by_event(lines, "created")[0]["refreshed"] == 1
    lines = guide(snap, "poll")
    (polled,) = by_event(lines, "polled")
    assert polled["seen"][-1] == "completed" and set(polled["seen"]) <= {"waiting", "active", "completed"}
    assert [i["platform"] for i in polled["job"]["result"]["images"]] == ["Instagram Post", "Twitter Post"]


@needs_node
def test_guide_rate_limit_handling(make_snap) -> None:
    snap = make_snap(rate_limit_snapasset="6/minute", rate_limit_snapasset_jobs="2/hour")
    lines = guide(snap, "rate-limit", "3")
    assert [r["status"] for r in by_event(lines, "response")] == [201, 201, 429]
    assert by_event(lines, "response")[0]["limit"] == "6"
    (limited,) = by_event(lines, "rate-limited")
    assert int(limited["retryAfter"]) > 0
    headers = snap.bearer()
    refused = snap.http.post("/api/jobs", json=GUIDE_REQUEST, headers=headers)
    body = refused.json()
    assert (refused.status_code, body["code"]) == (429, "JOB_LIMIT_EXCEEDED")
    assert body["retryAfter"] >= 1 and refused.headers["Retry-After"] == str(body["retryAfter"])
    # Reads count against the general limit only; the 7th request of the minute is refused.
    statuses = [snap.http.get("/api/queue/stats", headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    body = snap.http.get("/api/queue/stats", headers=headers).json()
    assert body["code"] == "RATE_LIMIT_EXCEEDED" and body["retryAfter"] >= 1


@needs_node
def test_guide_housekeeping(snap: Snap) -> None:
    headers = snap.bearer()
    done_id = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker()
    done = snap.wait_status(done_id, {"completed"}, headers=headers)
    image_url = done["result"]["images"][0]["url"]
    lines = guide(snap, "housekeeping")
    before, after = (line["stats"] for line in by_event(lines, "stats"))
    assert (before["completed"], before["total"]) == (1, 1)
    assert set(before) == {
        "waiting",
        "active",
        "completed",
        "failed",
        "delayed",
        "cancelled",
        "total",
        "timestamp",
    }
    (cleaned,) = by_event(lines, "cleaned")
    assert cleaned["cleaned"] == {"cleaned": 1, "jobIds": [done_id], "status": "completed", "grace": 0}
    assert (after["completed"], after["total"]) == (0, 0)
    gone = snap.http.get(f"/api/jobs/{done_id}", headers=headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "JOB_NOT_FOUND")
    assert httpx.get(image_url, timeout=10).status_code == 404  # its image was deleted with it


# ----------------------------------------------------------------------------------- bodies and sources


def test_create_and_get_match_the_guide(snap: Snap) -> None:
    headers = snap.bearer()
    response = snap.http.post("/api/jobs", json=GUIDE_REQUEST, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"jobId", "status", "message", "estimatedTime"}
    assert (body["status"], body["message"]) == ("queued", "Job created successfully")
    assert response.headers["X-RateLimit-Limit"] and response.headers["X-RateLimit-Remaining"]
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    job = snap.http.get(f"/api/jobs/{body['jobId']}", headers=headers).json()
    assert job["status"] == "waiting" and job["progress"] == 0
    assert job["data"] == GUIDE_REQUEST
    assert {"logs", "createdAt", "processedAt"} <= set(job) and job["createdAt"].endswith("Z")


def test_render_from_a_source_job_or_a_model_id(snap: Snap) -> None:
    headers = snap.bearer()
    first = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker()
    made = snap.wait_status(first, {"completed"}, headers=headers)
    model_id = made["result"]["generationId"]
    by_source = create(snap, headers, platforms=["instagram-story"], sourceJobId=first)
    by_model = create(snap, headers, platforms=["instagram-post"], modelId=model_id)
    for job_id, label in ((by_source, "Instagram Story"), (by_model, "Instagram Post")):
        job = snap.wait_status(job_id, {"completed", "failed"}, headers=headers)
        assert job["status"] == "completed", job
        assert job["result"]["generationId"] == model_id
        check_images(snap, job["result"]["images"], [label])
    assert len(snap.images.requests) == 1, "only the first job drew a picture; the others reused its model"
    assert snap.http.get(f"/api/jobs/{by_source}", headers=headers).json()["data"]["sourceJobId"] == first


# ---------------------------------------------------------------------------------------- errors, auth


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prompt": None}, "Missing required field: prompt"),
        ({"userId": None}, "Missing required field: userId"),
        ({"prompt": "too short"}, "prompt must be at least 10 characters"),
        ({"platforms": []}, "At least one platform is required"),
        ({"platforms": ["instagram-post", "tiktok-video"]}, "Invalid platform: tiktok-video"),
        ({"options": {"quality": "ultra"}}, "options.quality must be one of standard, hd"),
        ({"sourceJobId": "job_x", "modelId": 3}, "Give sourceJobId or modelId, not both"),
        ({"modelId": "abc"}, "modelId must be a model id"),
        ({"modelId": 424242}, "modelId 424242 is not a model of one of your jobs"),
    ],
)
def test_invalid_requests(snap: Snap, change: dict, message: str) -> None:
    body = {k: v for k, v in {**GUIDE_REQUEST, **change}.items() if v is not None}
    response = snap.http.post("/api/jobs", json=body, headers=snap.bearer())
    assert response.status_code == 400
    error = response.json()
    assert (error["code"], error["error"]) == ("INVALID_REQUEST", "Invalid request")
    assert message in error["message"] and error["timestamp"].endswith("Z")


def test_bad_bodies_sources_and_missing_jobs(snap: Snap) -> None:
    headers = snap.bearer()
    bad_json = snap.http.post("/api/jobs", content=b"{not json", headers=headers)
    assert (bad_json.status_code, bad_json.json()["code"]) == (400, "INVALID_REQUEST")
    unknown = snap.http.post("/api/jobs", json={**GUIDE_REQUEST, "sourceJobId": "job_nope"}, headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "JOB_NOT_FOUND")
    assert "job_nope" in unknown.json()["message"]
    waiting = create(snap, headers)
    unfinished = snap.http.post("/api/jobs", json={**GUIDE_REQUEST, "sourceJobId": waiting}, headers=headers)
    assert (unfinished.status_code, unfinished.json()["code"]) == (400, "INVALID_REQUEST")
    assert "has no finished model yet" in unfinished.json()["message"]
    for method, path in (
        ("GET", "/api/jobs/job_missing"),
        ("POST", "/api/jobs/job_missing/retry"),
        ("DELETE", "/api/jobs/job_missing/cancel"),
        ("GET", "/api/sse/jobs/job_missing"),
    ):
        response = snap.http.request(method, path, headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, "JOB_NOT_FOUND"), path
    for query in ("status=bogus", "limit=0", "limit=abc", "limit=101"):
        response = snap.http.get(f"/api/jobs?{query}", headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST"), query
    for body in ({"grace": -1}, {"status": "active"}, {"grace": "1 day"}):
        response = snap.http.post("/api/queue/clean", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST"), body


def test_a_prompt_only_job_without_an_image_provider_is_501(make_snap) -> None:
    snap = make_snap(with_provider=False)
    response = snap.http.post("/api/jobs", json=GUIDE_REQUEST, headers=snap.bearer())
    assert response.status_code == 501
    assert "NU3D_IMAGE_API_BASE_URL" in response.json()["message"]


def test_authentication_and_ownership(snap: Snap) -> None:
    alice, bob = snap.bearer("user_alice"), snap.bearer("user_bob")
    job_id = create(snap, alice)
    stranger = make_key("ES256")  # a well-formed token from a key the identity provider never published
    cases = {
        "none": {},
        "expired": {
            "Authorization": f"Bearer {snap.idp.token(snap.signing_key, sub='user_alice', ttl_s=-60)}"
        },
        "unknown key": {"Authorization": f"Bearer {snap.idp.token(stranger, sub='user_alice')}"},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "bad api key": {"X-API-Key": "nu3d_bogus"},
    }
    for name, headers in cases.items():
        response = snap.http.get(f"/api/jobs/{job_id}", headers=headers)
        assert (response.status_code, response.json()["code"]) == (401, "UNAUTHORIZED"), name
    # Each subject sees only its own jobs.
    assert snap.http.get(f"/api/jobs/{job_id}", headers=alice).status_code == 200
    assert snap.http.get(f"/api/jobs/{job_id}", headers=bob).json()["code"] == "JOB_NOT_FOUND"
    assert snap.http.get("/api/jobs", headers=bob).json()["count"] == 0
    assert snap.http.delete(f"/api/jobs/{job_id}/cancel", headers=bob).status_code == 404
    # An API key works too (X-API-Key, or as the bearer), with its own jobs.
    for key_headers in ({"X-API-Key": snap.api_key}, {"Authorization": f"Bearer {snap.api_key}"}):
        mine = create(snap, key_headers)
        assert snap.http.get(f"/api/jobs/{mine}", headers=key_headers).json()["status"] == "waiting"
        assert snap.http.get(f"/api/jobs/{job_id}", headers=key_headers).status_code == 404
    # The stream opens by job id alone (EventSource sends no headers), but credentials must own the job.
    with snap.http.stream("GET", f"/api/sse/jobs/{job_id}") as resp:
        assert resp.status_code == 200
        first = next(line for line in resp.iter_lines() if line.startswith("data: "))
        assert json.loads(first[6:]) == {"type": "connected", "jobId": job_id, "status": "waiting"}
    assert snap.http.get(f"/api/sse/jobs/{job_id}", headers=bob).status_code == 404


def test_internal_errors_answer_in_the_guide_shape(snap: Snap, db) -> None:
    headers = snap.bearer()
    table = SQLModel.metadata.tables["kind_stats"]
    table.drop(db)  # the database breaks under the app
    try:
        response = snap.http.get("/api/queue/stats", headers=headers)
    finally:
        table.create(db)
    assert response.status_code == 500
    body = response.json()
    assert (body["code"], body["error"]) == ("INTERNAL_ERROR", "Internal server error")
    assert response.headers["X-Request-ID"] in json.dumps(body)


# ------------------------------------------------------------------------------------------- lifecycle


def test_waiting_cancelled_and_the_list_filters(snap: Snap) -> None:
    headers = snap.bearer()
    first, second, third = (create(snap, headers) for _ in range(3))
    cancelled = snap.http.delete(f"/api/jobs/{second}/cancel", headers=headers)
    assert cancelled.json() == {
        "jobId": second,
        "status": "cancelled",
        "message": "Job cancelled successfully",
    }
    again = snap.http.delete(f"/api/jobs/{second}/cancel", headers=headers)
    assert (again.status_code, again.json()["code"]) == (400, "INVALID_REQUEST")
    listed = snap.http.get("/api/jobs?status=waiting&limit=10", headers=headers).json()
    assert listed["status"] == "waiting" and listed["count"] == 2
    assert [j["jobId"] for j in listed["jobs"]] == [third, first]  # newest first
    assert set(listed["jobs"][0]) == {"jobId", "status", "progress", "createdAt"}
    assert snap.http.get("/api/jobs?status=cancelled", headers=headers).json()["jobs"][0]["jobId"] == second
    everything = snap.http.get("/api/jobs?limit=1", headers=headers).json()
    assert (everything["count"], everything["status"]) == (1, None)
    stats = snap.http.get("/api/queue/stats", headers=headers).json()
    assert (stats["waiting"], stats["cancelled"], stats["total"]) == (2, 1, 3)
    # A cancelled job can be retried, as a failed one can.
    retried = snap.http.post(f"/api/jobs/{second}/retry", headers=headers)
    assert retried.json() == {
        "jobId": second,
        "status": "retrying",
        "message": "Job has been queued for retry",
    }
    assert snap.http.get(f"/api/jobs/{second}", headers=headers).json()["status"] == "waiting"


def test_active_then_cancelled_while_running(snap: Snap) -> None:
    headers = snap.bearer()
    snap.images.hold.clear()  # the image provider takes its time: the job stays active
    job_id = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker()
    active = snap.wait_status(job_id, {"active"}, headers=headers)
    assert active["processedAt"] and active["attemptsMade"] == 1
    assert snap.http.get("/api/jobs?status=active", headers=headers).json()["count"] == 1
    assert snap.http.get("/api/queue/stats", headers=headers).json()["active"] == 1
    not_now = snap.http.post(f"/api/jobs/{job_id}/retry", headers=headers)
    assert (not_now.status_code, not_now.json()["code"]) == (400, "INVALID_REQUEST")
    cancelling = snap.http.delete(f"/api/jobs/{job_id}/cancel", headers=headers)
    assert cancelling.status_code == 202 and cancelling.json()["status"] == "cancelling"
    snap.images.hold.set()
    assert snap.wait_status(job_id, {"cancelled"}, headers=headers)["status"] == "cancelled"
    assert read_sse(snap, job_id)[-1]["type"] == "cancelled"


def test_failed_then_retried_to_completion(snap: Snap) -> None:
    headers = snap.bearer()
    snap.images.fail_next(400, "Your request was rejected as a result of our safety system.")
    job_id = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker()
    failed = snap.wait_status(job_id, {"failed"}, headers=headers)
    assert "safety system" in failed["failedReason"] and failed["attemptsMade"] == 1
    events = read_sse(snap, job_id)
    assert events[0]["type"] == "connected" and events[-1]["type"] == "failed"
    assert "safety system" in events[-1]["error"]
    assert snap.http.get("/api/jobs?status=failed", headers=headers).json()["count"] == 1
    retried = snap.http.post(f"/api/jobs/{job_id}/retry", headers=headers)
    assert retried.json()["status"] == "retrying"
    done = snap.wait_status(job_id, {"completed"}, headers=headers)
    check_images(snap, done["result"]["images"], ["Twitter Post"])
    assert "failedReason" not in done


def test_automatic_retries_with_backoff(snap: Snap) -> None:
    headers = snap.bearer()
    snap.images.fail_next(503, "overloaded")  # a transient outage: retried automatically
    job_id = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker()
    done = snap.wait_status(job_id, {"completed", "failed"}, headers=headers)
    assert done["status"] == "completed" and done["attemptsMade"] == 2
    assert any("retrying in" in line for line in done["logs"])
    assert len(snap.images.requests) == 2


def test_delayed_while_waiting_out_the_backoff(snap: Snap) -> None:
    headers = snap.bearer()
    snap.images.fail_next(503, "overloaded")
    job_id = create(snap, headers, platforms=["twitter-post"])
    snap.start_worker(NU3D_JOB_RETRY_BASE_S="60", NU3D_JOB_RETRY_CAP_S="120")
    delayed = snap.wait_status(job_id, {"delayed"}, headers=headers)
    assert "overloaded" in delayed["failedReason"] and delayed["attemptsMade"] == 1
    assert [
        j["jobId"] for j in snap.http.get("/api/jobs?status=delayed", headers=headers).json()["jobs"]
    ] == [job_id]
    assert snap.http.get("/api/jobs?status=waiting", headers=headers).json()["count"] == 0
    stats = snap.http.get("/api/queue/stats", headers=headers).json()
    assert (stats["delayed"], stats["waiting"]) == (1, 0)


def test_sse_events_in_the_guide_shapes(snap: Snap) -> None:
    headers = snap.bearer()
    job_id = create(snap, headers, platforms=["twitter-post", "instagram-post"])
    snap.start_worker()
    events = read_sse(snap, job_id, headers)
    assert events[0] == {"type": "connected", "jobId": job_id, "status": "waiting"}
    updates = [e for e in events if e["type"] == "progress"]
    assert updates and all(set(e) == {"type", "jobId", "progress", "status"} for e in updates)
    assert [e["progress"] for e in updates] == sorted(e["progress"] for e in updates)
    done = events[-1]
    assert (done["type"], done["status"], done["progress"]) == ("done", "completed", 100)
    check_images(snap, done["result"]["images"], ["Twitter Post", "Instagram Post"])
    job = snap.http.get(f"/api/jobs/{job_id}", headers=headers).json()
    assert any("rendering twitter-post" in line for line in job["logs"])  # the platforms step, logged
