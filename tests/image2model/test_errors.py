"""Every error code of the document's table, over HTTP, in its body `{"detail": {code, message, details}}`."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from tests.image2model.conftest import API, images
from tests.live_server import LiveServer


def detail(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"detail"} and body["detail"]["code"] == code, body
    assert body["detail"]["message"]
    return body["detail"]


def bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format="BMP")
    return out.getvalue()


def test_authentication_required_without_or_with_a_wrong_key(live: LiveServer) -> None:
    url = f"{live.url}{API}/upload/batch"
    detail(httpx.post(url, files=images(1)), 401, "AUTHENTICATION_REQUIRED")
    detail(
        httpx.post(url, files=images(1), headers={"Authorization": "Bearer nu3d_wrong"}),
        401,
        "AUTHENTICATION_REQUIRED",
    )
    detail(httpx.get(f"{live.url}{API}/status/batch_x"), 401, "AUTHENTICATION_REQUIRED")


def test_invalid_api_key_for_admin_endpoints(live: LiveServer, bearer) -> None:  # noqa: ANN001
    for method, path in (("GET", "admin/system-info"), ("POST", "admin/cleanup"), ("GET", "logs")):
        resp = httpx.request(method, f"{live.url}{API}/{path}", headers=bearer)
        detail(resp, 403, "INVALID_API_KEY")


def test_validation_errors(live: LiveServer, bearer) -> None:  # noqa: ANN001
    url = f"{live.url}{API}/upload/batch"
    # The document's own example: a BMP is refused with the file name and the allowed formats.
    found = detail(
        httpx.post(url, files=[("files", ("image.bmp", bmp(), "image/bmp"))], headers=bearer),
        400,
        "VALIDATION_ERROR",
    )
    assert found["details"]["file"] == "image.bmp"
    assert found["details"]["allowed_formats"] == ["jpg", "jpeg", "png"]
    too_many = detail(httpx.post(url, files=images(*range(26)), headers=bearer), 400, "VALIDATION_ERROR")
    assert too_many["details"]["max_files"] == 25
    detail(
        httpx.post(url, files=images(1), data={"face_limit": "lots"}, headers=bearer), 400, "VALIDATION_ERROR"
    )
    detail(httpx.post(url, data={"face_limit": "1000"}, headers=bearer), 400, "VALIDATION_ERROR")  # no file
    single = f"{live.url}{API}/models/generate-single"
    missing = detail(httpx.post(single, json={"job_id": "batch_x"}, headers=bearer), 400, "VALIDATION_ERROR")
    assert missing["details"] == {"field": "file_id"}
    detail(
        httpx.post(single, content=b"{", headers={**bearer, "content-type": "application/json"}),
        400,
        "VALIDATION_ERROR",
    )


def test_file_too_large(live: LiveServer, bearer) -> None:  # noqa: ANN001
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    resp = httpx.post(
        f"{live.url}{API}/upload/batch",
        files=[("files", ("big.png", big, "image/png"))],
        headers=bearer,
        timeout=30,
    )
    found = detail(resp, 413, "FILE_TOO_LARGE")
    assert found["details"]["file"] == "big.png"


def test_rate_limit_headers_and_429(start_live, bearer) -> None:  # noqa: ANN001
    live = start_live(NU3D_RATE_LIMIT_IMAGE2MODEL="3/minute;1000/hour")
    answers = [httpx.get(f"{live.url}{API}/status/batch_x", headers=bearer) for _ in range(4)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert all(
        r.headers["x-ratelimit-limit"] == "3" and r.headers["x-ratelimit-reset"].isdigit() for r in answers
    )
    detail(answers[3], 429, "RATE_LIMIT_EXCEEDED")
    assert int(answers[3].headers["retry-after"]) >= 1
    # Health probes are not counted.
    assert httpx.get(f"{live.url}{API}/health").status_code == 200


def test_default_limits_are_the_documents(live: LiveServer, bearer) -> None:  # noqa: ANN001
    resp = httpx.get(f"{live.url}{API}/status/batch_x", headers=bearer)
    assert resp.headers["x-ratelimit-limit"] == "60" and resp.headers["x-ratelimit-remaining"] == "59"


def test_processing_error_on_an_unexpected_failure(make_settings, bearer) -> None:  # noqa: ANN001
    from shop_app.storage import make_storage
    from tests.jobs.conftest import FAST

    settings = make_settings(**FAST)
    storage = make_storage(settings)

    def disk_on_fire(*_: Any, **__: Any) -> str:
        raise RuntimeError("disk on fire")  # an unexpected failure deep inside the route

    storage.put = disk_on_fire  # type: ignore[method-assign]
    with LiveServer(settings, storage=storage) as live:
        resp = httpx.post(
            f"{live.url}{API}/upload/batch", files=images(1), headers={**bearer, "X-Request-ID": "req_500"}
        )
    found = detail(resp, 500, "PROCESSING_ERROR")
    assert found["details"] == {"request_id": "req_500"}


def test_fal_api_error_when_the_model_store_fails(
    start_live, s3_server: str, aws_credentials, bearer
) -> None:  # noqa: ANN001
    # The model store (S3) has no such bucket: the upstream service fails, 502.
    live = start_live(NU3D_STORAGE_URL="s3://no-such-bucket/models", NU3D_S3_ENDPOINT_URL=s3_server)
    resp = httpx.post(f"{live.url}{API}/upload/batch", files=images(1), headers=bearer, timeout=30)
    found = detail(resp, 502, "FAL_API_ERROR")
    assert "no-such-bucket" in found["message"]
    ready = httpx.get(f"{live.url}{API}/health/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
    assert ready.json()["checks"]["storage"].startswith("error")


def test_not_found_and_not_ready_codes(live: LiveServer, bearer) -> None:  # noqa: ANN001
    detail(httpx.get(f"{live.url}{API}/status/batch_missing", headers=bearer), 404, "NOT_FOUND")
    batch = httpx.post(f"{live.url}{API}/upload/batch", files=images(3), headers=bearer).json()
    waiting = httpx.get(f"{live.url}{API}/download/{batch['job_id']}/file_001/model", headers=bearer)
    detail(waiting, 409, "MODEL_NOT_READY")
    detail(
        httpx.get(f"{live.url}{API}/download/{batch['job_id']}/all", headers=bearer),
        409,
        "NOTHING_TO_DOWNLOAD",
    )
