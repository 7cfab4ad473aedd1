"""/api/3d: every status of the document's table, every documented error, auth and ownership, over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.hydrilla.conftest import Hydrilla, failing_png, png_bytes
from tests.images_api import ImagesApi
from tests.jobs.conftest import wait_until

QUEUE_KEYS = {
    "position",
    "jobs_ahead",
    "estimated_wait_seconds",
    "estimated_total_seconds",
    "queue_length",
    "currently_processing",
}
JOB_KEYS = {
    "id", "userId", "status", "prompt", "imageUrl", "generateType", "faceCount", "enablePBR", "polygonType",
    "resultGlbUrl", "previewImageUrl", "errorCode", "errorMessage", "name", "createdAt", "updatedAt",
}  # fmt: skip


def upload(app: Hydrilla, data: bytes, name: str = "photo.png") -> str:
    response = app.http.post("/api/3d/upload-image", files={"image": (name, data, "image/png")})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    return response.json()["url"]


def generate(app: Hydrilla, body: dict[str, Any], sub: str = "user_2abc") -> str:
    response = app.http.post("/api/3d/generate", json=body, headers=app.auth(sub))
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"jobId"}
    return response.json()["jobId"]


def node_status(app: Hydrilla, job_id: str, sub: str = "user_2abc") -> dict[str, Any]:
    response = app.http.get(f"/api/3d/status/{job_id}", headers=app.auth(sub))
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_every_status_of_the_table(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    photo = upload(app, png_bytes(1))
    first = generate(app, {"imageUrl": photo})
    second = generate(app, {"imageUrl": upload(app, png_bytes(2))})
    canceled = generate(app, {"imageUrl": upload(app, png_bytes(3))})

    # WAIT (no worker yet): positions count from 1, jobs_ahead from 0.
    body = node_status(app, first)
    assert set(body) == {"job", "queue"} and set(body["job"]) == JOB_KEYS and set(body["queue"]) == QUEUE_KEYS
    assert body["job"]["status"] == "WAIT" and body["job"]["userId"] == "user_2abc"
    assert body["job"]["imageUrl"] == photo
    assert (
        body["queue"]["position"],
        body["queue"]["jobs_ahead"],
        body["queue"]["currently_processing"],
    ) == (1, 0, False)
    # queue_length is read through a 1 s cache (every poll asks for it): it catches up within a second.
    wait_until(
        lambda: node_status(app, first)["queue"]["queue_length"] == 3, timeout=10, what="queue_length 3"
    )
    assert node_status(app, second)["queue"]["position"] == 2
    assert node_status(app, second)["queue"]["jobs_ahead"] == 1
    assert app.http.get(f"/status/{first}").json()["status"] == "pending"

    # canceled while waiting → FAIL (the document's table maps both failed and cancelled to FAIL).
    assert app.http.post(f"/cancel/{canceled}").status_code == 200
    body = node_status(app, canceled)
    assert body["job"]["status"] == "FAIL" and body["job"]["errorMessage"]
    assert app.http.get(f"/status/{canceled}").json()["status"] == "cancelled"

    # RUN, then DONE.
    app.start_worker(stage_s=0.4)
    running = wait_until(
        lambda: (b := node_status(app, first))["job"]["status"] == "RUN" and b, timeout=60, what="RUN"
    )
    assert running["queue"]["position"] == 0 and running["queue"]["currently_processing"] is True
    assert app.http.get(f"/status/{first}").json()["status"] == "processing"
    done = wait_until(
        lambda: (b := node_status(app, first))["job"]["status"] == "DONE" and b, timeout=60, what="DONE"
    )
    assert httpx.get(done["job"]["resultGlbUrl"]).content[:4] == b"glTF"
    assert done["job"]["previewImageUrl"].startswith("http")
    assert done["job"]["errorMessage"] is None
    assert done["queue"]["position"] == 0 and done["queue"]["estimated_total_seconds"] == 0
    assert app.http.get(f"/status/{first}").json()["status"] == "completed"

    # FAIL: the engine finds nothing in the photo.
    bad = generate(app, {"imageUrl": upload(app, failing_png())})
    failed = wait_until(
        lambda: (b := node_status(app, bad))["job"]["status"] == "FAIL" and b, timeout=60, what="FAIL"
    )
    assert "no product found" in failed["job"]["errorMessage"]
    assert failed["job"]["errorCode"] == "invalid_image"
    assert app.http.get(f"/status/{bad}").json()["status"] == "failed"

    # Once one job has been measured, queue figures are numbers.
    third = wait_until(
        lambda: (b := node_status(app, second))["job"]["status"] == "DONE" and b, timeout=60, what="DONE"
    )
    assert third["queue"]["estimated_total_seconds"] == 0
    info = app.http.get("/api/3d/queue/info").json()
    assert info["estimated_time_per_job_seconds"] > 0


def test_auth_required_and_optional(start_hydrilla: Callable[..., Hydrilla], idp: Any) -> None:
    app = start_hydrilla(NU3D_JWT_JWKS_COOLDOWN_S="0")
    for method, path, kwargs in [
        ("POST", "/api/3d/generate", {"json": {"imageUrl": "https://example.com/a.png"}}),
        ("PATCH", "/api/3d/jobs/x/name", {"json": {"name": "n"}}),
        ("DELETE", "/api/3d/jobs/x", {}),
        ("GET", "/api/3d/me", {}),
        ("POST", "/api/3d/sync-user", {}),
    ]:
        assert error(app.http.request(method, path, **kwargs), 401) == "Authentication required"
    # optionalAuth: history without a token is an empty list, not an error.
    assert app.http.get("/api/3d/history").json() == {"jobs": []}
    # A token that is present but bad is refused even where auth is optional.
    expired = {"Authorization": f"Bearer {app.idp.token(app.rs_key, ttl_s=-120)}"}
    assert "expired" in error(app.http.get("/api/3d/history", headers=expired), 401)
    assert "Invalid token" in error(
        app.http.get("/api/3d/history", headers={"Authorization": "Bearer nope"}), 401
    )
    # ES256 tokens from the same provider work like RS256 ones.
    es = {"Authorization": f"Bearer {app.token('user_es', es=True)}"}
    assert (
        app.http.post(
            "/api/3d/generate", json={"imageUrl": "https://example.com/a.png"}, headers=es
        ).status_code
        == 200
    )
    assert len(app.http.get("/api/3d/history", headers=es).json()["jobs"]) == 1
    # The identity provider down while a new key needs fetching: not the caller's fault.
    idp.status = 500
    stranger = idp.add_key("RS256")
    down = {"Authorization": f"Bearer {idp.token(stranger)}"}
    assert (
        error(app.http.get("/api/3d/me", headers=down), 503)
        == "External service unavailable. Please try again later."
    )


def test_ownership_and_not_found(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    job_id = generate(app, {"imageUrl": "https://example.com/a.png"}, sub="user_a")
    denied = "You don't have permission to view this job"
    assert error(app.http.get(f"/api/3d/status/{job_id}", headers=app.auth("user_b")), 403) == denied
    assert error(app.http.get(f"/api/3d/status/{job_id}"), 403) == denied
    assert error(app.http.get("/api/3d/status/job_nope", headers=app.auth("user_a")), 404) == "Job not found"
    assert app.http.get("/api/3d/history", headers=app.auth("user_b")).json() == {"jobs": []}
    rename = app.http.patch(f"/api/3d/jobs/{job_id}/name", json={"name": "mine"}, headers=app.auth("user_b"))
    assert error(rename, 403) == "You don't have permission to modify this job"
    assert error(app.http.delete(f"/api/3d/jobs/{job_id}", headers=app.auth("user_b")), 403) == (
        "You don't have permission to delete this job"
    )
    assert error(app.http.delete("/api/3d/jobs/job_nope", headers=app.auth("user_a")), 404) == "Job not found"
    # The owner renames and deletes; then it is gone.
    rename = app.http.patch(
        f"/api/3d/jobs/{job_id}/name", json={"name": "My Custom Name"}, headers=app.auth("user_a")
    )
    assert rename.json() == {"success": True, "message": "Job name updated"}
    assert node_status(app, job_id, "user_a")["job"]["name"] == "My Custom Name"
    deleted = app.http.delete(f"/api/3d/jobs/{job_id}", headers=app.auth("user_a"))
    assert deleted.json() == {"success": True, "message": "Job deleted"}
    assert error(app.http.get(f"/api/3d/status/{job_id}", headers=app.auth("user_a")), 404) == "Job not found"
    # Jobs of other API families are not Hydrilla jobs.
    store = app.http.post(
        "/store/threed-jobs",
        files=[("files", (f"v{i}.png", png_bytes(40 + i), "image/png")) for i in range(4)],
    )
    assert store.status_code == 202, store.text
    assert error(app.http.get(f"/api/3d/status/{store.json()['job_id']}"), 404) == "Job not found"


def test_bad_input_answers_400_with_a_message(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    auth = app.auth()
    assert (
        error(app.http.post("/api/3d/generate", json={}, headers=auth), 400)
        == "Either prompt or imageUrl is required"
    )
    assert error(app.http.post("/api/3d/generate", json={"prompt": "  "}, headers=auth), 400) == (
        "Either prompt or imageUrl is required"
    )
    assert "JSON" in error(app.http.post("/api/3d/generate", content=b"prompt=x", headers=auth), 400)
    assert "imageUrl" in error(
        app.http.post("/api/3d/generate", json={"imageUrl": "http://127.0.0.1:1/a.png"}, headers=auth), 400
    )
    assert "faceCount" in error(
        app.http.post(
            "/api/3d/generate", json={"imageUrl": "https://example.com/a.png", "faceCount": 5}, headers=auth
        ),
        400,
    )
    assert "name" in error(app.http.patch("/api/3d/jobs/x/name", json={}, headers=auth), 400)
    assert (
        error(app.http.post("/api/3d/register-job", json={"prompt": "p"}, headers=auth), 400)
        == "job_id is required"
    )
    assert error(app.http.post("/api/3d/register-job", json={"job_id": "p1"}, headers=auth), 400) == (
        "previewImageUrl is required"
    )


def test_upload_image_limits(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    assert "image" in error(
        app.http.post("/api/3d/upload-image", files={"file": ("a.png", png_bytes(1), "image/png")}), 400
    )
    assert "not an image" in error(
        app.http.post("/api/3d/upload-image", files={"image": ("a.png", b"hello", "image/png")}), 400
    )
    big = png_bytes(1) + b"\0" * (10 * 1024 * 1024)
    assert "10 MB" in error(
        app.http.post("/api/3d/upload-image", files={"image": ("big.png", big, "image/png")}), 413
    )


def test_register_job_puts_a_preview_in_history(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    body = {
        "job_id": "7c0d0e4a-preview",
        "prompt": "A red sports car",
        "previewImageUrl": "https://cdn.example/p.png",
    }
    first = app.http.post("/api/3d/register-job", json=body, headers=app.auth("user_a"))
    assert first.json() == {"success": True, "job_id": "7c0d0e4a-preview"}
    again = app.http.post("/api/3d/register-job", json=body, headers=app.auth("user_a"))
    assert again.json() == {"success": True, "job_id": "7c0d0e4a-preview"}  # registering twice is harmless
    (job,) = app.http.get("/api/3d/history", headers=app.auth("user_a")).json()["jobs"]
    assert (job["id"], job["status"], job["prompt"], job["previewImageUrl"], job["resultGlbUrl"]) == (
        "7c0d0e4a-preview", "DONE", "A red sports car", "https://cdn.example/p.png", None,
    )  # fmt: skip
    taken = app.http.post("/api/3d/register-job", json=body, headers=app.auth("user_b"))
    assert error(taken, 403) == "You don't have permission to modify this job"


def test_me_and_sync_user_read_the_token(start_hydrilla: Callable[..., Hydrilla]) -> None:
    app = start_hydrilla()
    claims = {
        "email": "ada@example.com",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "picture": "https://img/ada",
    }
    auth = app.auth("user_ada", created_at=1704067200000, **claims)
    app.http.post(
        "/api/3d/register-job", json={"job_id": "p-1", "previewImageUrl": "https://x/p.png"}, headers=auth
    )
    generate(app, {"imageUrl": "https://example.com/a.png"}, sub="user_ada")
    me = app.http.get("/api/3d/me", headers=auth).json()
    assert me == {
        "user": {
            "id": "user_ada",
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "imageUrl": "https://img/ada",
            "createdAt": "2024-01-01T00:00:00.000Z",
        },
        "stats": {"totalJobs": 2, "completedJobs": 1},
    }
    synced = app.http.post("/api/3d/sync-user", headers=auth).json()
    assert synced == {
        "success": True,
        "user": {"id": "user_ada", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
    }


def test_prompts_without_a_provider_answer_501_naming_the_setting(
    start_hydrilla: Callable[..., Hydrilla],
) -> None:
    app = start_hydrilla()
    response = app.http.post("/api/3d/generate", json={"prompt": "A red sports car"}, headers=app.auth())
    assert "NU3D_IMAGE_API_BASE_URL" in error(response, 501)
    assert app.http.get("/api/3d/history", headers=app.auth()).json() == {"jobs": []}  # nothing was stored
    for path in ("/text-to-image", "/text-to-3d"):
        assert "NU3D_IMAGE_API_BASE_URL" in error(
            app.http.post(path, data={"prompt": "A red sports car"}), 501
        )


def test_without_an_identity_provider_tokens_answer_501_naming_the_settings(
    start_hydrilla: Callable[..., Hydrilla],
) -> None:
    app = start_hydrilla(NU3D_JWT_JWKS_URL="", NU3D_JWT_ISSUER="")
    assert "NU3D_JWT_JWKS_URL" in error(app.http.get("/api/3d/me", headers=app.auth()), 501)
    assert error(app.http.get("/api/3d/me"), 401) == "Authentication required"
    assert app.http.get("/api/3d/history").json() == {"jobs": []}


def test_queue_info_has_every_documented_key(
    start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi
) -> None:
    app = start_hydrilla(images_api)
    keys = {
        "queue_length", "currently_processing", "waiting_jobs", "estimated_wait_for_new_job_seconds",
        "estimated_time_per_job_seconds", "preview_queue_length", "currently_generating_preview",
        "preview_waiting", "estimated_wait_for_preview_seconds", "estimated_preview_time_seconds",
    }  # fmt: skip
    before = app.http.get("/api/3d/queue/info").json()
    assert set(before) == keys
    assert before["estimated_preview_time_seconds"] is None  # nothing measured yet: no made-up figure
    assert app.http.post("/text-to-image", data={"prompt": "A lamp"}).status_code == 200
    after = app.http.get("/api/3d/queue/info").json()
    assert isinstance(after["estimated_preview_time_seconds"], float) and after["preview_queue_length"] == 0
    assert after["currently_generating_preview"] is False
    assert app.http.get("/queue/info").json().keys() == after.keys()


def test_unknown_paths_and_methods_answer_in_the_documents_shape(
    start_hydrilla: Callable[..., Hydrilla],
) -> None:
    app = start_hydrilla()
    assert "Not found" in error(app.http.get("/api/3d/nope"), 404)
    wrong = app.http.get("/api/3d/generate")
    assert (
        "use POST" in error(wrong, 405) and wrong.headers["allow"] == "OPTIONS, POST"
    )  # OPTIONS: 204 + Allow
    assert error(app.http.put("/cancel/x"), 405).startswith("PUT is not supported")


def test_an_unexpected_failure_answers_500_in_the_documents_shape(
    make_settings: Callable[..., Any], idp: Any, monkeypatch: Any
) -> None:
    from starlette.testclient import TestClient

    from shop_app.app import create_app
    from shop_app.routes.hydrilla import api3d

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database melted")

    monkeypatch.setattr(api3d, "list_jobs", broken)
    key = idp.add_key("RS256")
    settings = make_settings(NU3D_JWT_JWKS_URL=idp.jwks_url, NU3D_JWT_ISSUER=idp.issuer)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/3d/history", headers={"Authorization": f"Bearer {idp.token(key)}"})
    assert response.status_code == 500
    assert response.json() == {
        "error": f"Internal server error; quote request id {response.headers['x-request-id']} when reporting it"
    }
