from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shop_app.app import create_app
from shop_app.storage import LocalStorage


def test_health_and_ready(app_client: TestClient) -> None:
    assert app_client.get("/health").json() == {"status": "healthy"}
    resp = app_client.get("/health/ready")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready", "checks": {"database": "ok", "storage": "ok", "queue": "ok"}}


def test_ready_names_the_failing_storage(settings, tmp_path: Path) -> None:  # noqa: ANN001
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    store = LocalStorage(blocker / "files", base_url="http://testserver", secret=b"k")
    with TestClient(create_app(settings, storage=store)) as client:
        resp = client.get("/health/ready")
    assert resp.status_code == 503
    body = resp.json()
    assert body["status"] == "not_ready"
    assert body["failing"] == ["storage"]
    assert body["checks"]["database"] == "ok"
    assert "not writable" in body["checks"]["storage"]


def test_ready_names_the_failing_database(make_settings) -> None:  # noqa: ANN001
    from tests.conftest import free_port

    settings = make_settings(NU3D_DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with TestClient(create_app(settings)) as client:
        resp = client.get("/health/ready")
    assert resp.status_code == 503
    assert resp.json()["failing"] == ["database", "queue"]
    assert resp.json()["checks"]["database"].startswith("error:")


def test_request_id_is_echoed_or_generated(app_client: TestClient) -> None:
    resp = app_client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["x-request-id"] == "abc-123"
    generated = app_client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    # Header injection attempts are replaced, not echoed.
    assert (
        app_client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
        != "bad id\twith spaces"
    )


def test_request_id_is_on_log_lines(settings, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    from shop_app.logconfig import RequestIdFilter

    caplog.handler.addFilter(RequestIdFilter())
    with TestClient(create_app(settings)) as client, caplog.at_level(logging.INFO):
        client.get("/files/sha256/aa/bb/x.glb", headers={"X-Request-ID": "trace-me"})
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "trace-me"]
    assert records, "expected a log line carrying the request id"


def test_unknown_route_uses_the_error_shape(app_client: TestClient) -> None:
    resp = app_client.get("/no/such/route")
    assert resp.status_code == 404
    assert resp.json() == {"detail": {"code": "NOT_FOUND", "message": "Not Found"}}
    resp = app_client.post("/health")
    assert resp.status_code == 405
    assert resp.json()["detail"]["code"] == "METHOD_NOT_ALLOWED"


def test_openapi_describes_our_routes(app_client: TestClient) -> None:
    doc = app_client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/health/ready" in doc["paths"]
    assert "503" in doc["paths"]["/health/ready"]["get"]["responses"]


def test_json_log_lines() -> None:
    import json

    from shop_app.logconfig import JsonFormatter, RequestIdFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world"
    assert line["request_id"] == "-"
    assert line["level"] == "INFO"


def test_unhandled_error_keeps_the_request_id(settings, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    from starlette.routing import Route

    from shop_app.logconfig import RequestIdFilter

    async def boom(request):  # noqa: ANN001, ANN202
        raise RuntimeError("kaboom")

    app = create_app(settings)
    app.router.routes.append(Route("/boom", boom))
    caplog.handler.addFilter(RequestIdFilter())
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        resp = client.get("/boom", headers={"X-Request-ID": "req-500"})
    assert resp.status_code == 500
    assert resp.headers["x-request-id"] == "req-500"
    assert resp.json()["detail"] == {
        "code": "INTERNAL_ERROR",
        "message": "Internal server error; quote this request id when reporting it.",
        "details": {"request_id": "req-500"},
    }
    assert "kaboom" not in resp.text  # no internals leak to the client
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and all(getattr(r, "request_id", None) == "req-500" for r in errors)
