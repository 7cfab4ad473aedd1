"""Safe image-URL fetching against a real HTTP server on loopback, and workers fetching URL inputs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine

from shop_app.db import session_scope
from shop_app.fetch import FetchError, FetchPolicy, address_is_public, fetch_bytes
from shop_app.jobs.queries import get_job
from tests.job_requests import enqueue_job
from tests.jobs.conftest import Drainer, png_bytes

IMAGE = png_bytes(42)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/img.png":
            self._send(200, IMAGE, "image/png")
        elif parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.end_headers()
        elif parts.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif parts.path == "/big":
            # No Content-Length: the cap must hold while streaming.
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            for _ in range(12):
                self.wfile.write(b"0" * (1024 * 1024))
        elif parts.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(3)
        elif parts.path == "/gone":
            self._send(404, b"not here", "text/plain")
        elif parts.path == "/text.png":
            self._send(200, b"<html>not an image</html>", "image/png")
        else:
            self._send(500, b"oops", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def allowed(origin: str, **kwargs) -> FetchPolicy:  # noqa: ANN003
    return FetchPolicy(allow_hosts=frozenset({urlsplit(origin).netloc}), **kwargs)


def fetch_error(url: str, policy: FetchPolicy) -> FetchError:
    with pytest.raises(FetchError) as err:
        fetch_bytes(url, policy)
    return err.value


def test_loopback_is_refused_unless_allowed(origin: str) -> None:
    err = fetch_error(f"{origin}/img.png", FetchPolicy())
    assert err.code == "blocked_address" and "127.0.0.1" in str(err) and not err.retryable
    assert fetch_bytes(f"{origin}/img.png", allowed(origin)) == IMAGE


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "::1", "fe80::1", "0.0.0.0", "100.64.0.1"],
)
def test_private_and_metadata_addresses_are_not_public(address: str) -> None:
    assert address_is_public(address) is False


def test_public_address_is_public() -> None:
    assert address_is_public("93.184.216.34") and address_is_public("2606:2800:220:1:248:1893:25c8:1946")


def test_metadata_ip_is_refused_without_connecting() -> None:
    err = fetch_error("http://169.254.169.254/latest/meta-data/", FetchPolicy(timeout_s=2))
    assert err.code == "blocked_address"


def test_redirects_are_checked_again(origin: str) -> None:
    port = urlsplit(origin).port
    # Allowed host redirects to another loopback name that is not on the allow list.
    err = fetch_error(f"{origin}/redirect?to=http://localhost:{port}/img.png", allowed(origin))
    assert err.code == "blocked_address"
    err = fetch_error(f"{origin}/redirect?to=file:///etc/passwd", allowed(origin))
    assert err.code == "bad_url"
    assert fetch_error(f"{origin}/loop", allowed(origin)).code == "too_many_redirects"
    assert fetch_bytes(f"{origin}/redirect?to=/img.png", allowed(origin)) == IMAGE


def test_size_time_and_status_caps(origin: str) -> None:
    assert fetch_error(f"{origin}/big", allowed(origin, max_bytes=10 * 1024 * 1024)).code == "too_large"
    slow = fetch_error(f"{origin}/slow", allowed(origin, timeout_s=1.0))
    assert slow.code == "timeout" and slow.retryable
    gone = fetch_error(f"{origin}/gone", allowed(origin))
    assert (gone.code, gone.retryable) == ("http_error", False)
    assert fetch_error(f"{origin}/boom", allowed(origin)).retryable is True  # 5xx may pass
    assert fetch_error("ftp://example.com/a.png", FetchPolicy()).code == "bad_url"
    assert fetch_error("http://user:pw@example.com/a.png", FetchPolicy()).code == "bad_url"


def _run_url_job(db: Engine, make_settings, url: str, **overrides: str):  # noqa: ANN001, ANN202
    settings = make_settings(NU3D_JOB_RETRY_BASE_S="0", **overrides)
    with session_scope(db) as session:
        job_id = enqueue_job(session=session, inputs={"image_urls": [url]}, max_attempts=1).id
    Drainer(settings, db)()
    with session_scope(db) as session:
        return get_job(session, job_id)


def test_worker_fetches_allowed_urls(db: Engine, make_settings, origin: str) -> None:  # noqa: ANN001
    job = _run_url_job(db, make_settings, f"{origin}/img.png", NU3D_FETCH_ALLOW_HOSTS=urlsplit(origin).netloc)
    assert job.status == "succeeded", job.error_message


def test_worker_refuses_private_urls_and_non_images(db: Engine, make_settings, origin: str) -> None:  # noqa: ANN001
    blocked = _run_url_job(db, make_settings, f"{origin}/img.png")
    assert (blocked.status, blocked.error_code, blocked.error_retryable) == (
        "failed",
        "fetch_blocked_address",
        False,
    )
    text = _run_url_job(
        db, make_settings, f"{origin}/text.png", NU3D_FETCH_ALLOW_HOSTS=urlsplit(origin).netloc
    )
    assert (text.status, text.error_code) == ("failed", "unsupported_type")


@pytest.mark.parametrize("host", ["0177.0.0.1", "0x7f.1", "127.000.000.001", "08.0.0.1"])
def test_worker_refuses_odd_ip_spellings_once_without_retrying(
    db: Engine,
    make_settings,
    origin: str,
    host: str,  # noqa: ANN001
) -> None:
    # Jobs queued before the submit check existed (or by other paths) must fail cleanly, not as internal errors.
    port = urlsplit(origin).port
    job = _run_url_job(db, make_settings, f"http://{host}:{port}/img.png")
    assert job.status == "failed" and job.error_retryable is False, job.error_message
    assert job.error_code in {"fetch_blocked_address", "fetch_bad_url", "fetch_invalid_url"}, job.error_code
    assert host in job.error_message
