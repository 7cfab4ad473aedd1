"""Request bodies are bounded while they stream in (chunked or declared), before authentication or parsing,
with a 413 in each route family's error shape; the server stays healthy and stores nothing."""

from __future__ import annotations

import json
import select
import socket
from pathlib import Path
from typing import Any

import httpx

from tests.hardening.conftest import served
from tests.jobs.conftest import make_key

MB = 1024 * 1024


FILE_PART = (
    b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
    b"Content-Type: image/jpeg\r\n\r\n\xff\xd8"
)
MULTIPART = "multipart/form-data; boundary=x"


def _send_chunked(
    url: str,
    method: str,
    path: str,
    *,
    total: int,
    content_type: str,
    first: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict, int]:
    """Stream `first` then `total` bytes as a chunked body until the server answers; returns
    (status, body, bytes sent)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (
                f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
                + "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        if first:
            sock.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        chunk = b"%x\r\n%s\r\n" % (MB, b"0" * MB)
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered (or closed) before the body ended
                sock.sendall(chunk)
                sent += MB
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw) < raw.index(b"\r\n\r\n") + 4 + _length(raw):
            data = sock.recv(65536)
            if not data:
                break
            raw += data
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status == 500:
        return status, {"raw": body.decode()}, sent
    return status, json.loads(body[: _length(raw)]), sent


def _length(raw: bytes) -> int:
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def _stored(tmp_path: Path) -> list[Path]:
    root = tmp_path / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_chunked_upload_is_cut_off_at_the_limit(tmp_path: Path, database_url: str, db: Any) -> None:
    key = make_key(db, "jobs")
    with served(tmp_path, database_url) as (url, _log):
        status, body, sent = _send_chunked(
            url, "POST", "/store/threed-jobs", total=500 * MB, content_type=MULTIPART, first=FILE_PART
        )
        assert status == 413, (body, _log.read_text()[-3000:])
        assert body["success"] is False and body["type"] == "INVALID_DATA"
        assert "at most 41 MB" in body["error"]
        assert sent < 120 * MB  # the server stopped reading near its 41 MB limit, not at 500 MB
        # Without a key: refused before the body is read at all.
        status, body, sent = _send_chunked(
            url, "POST", "/api/v1/jobs", total=200 * MB, content_type=MULTIPART, first=FILE_PART
        )
        assert status == 401 and sent < 80 * MB, body
        status, body, sent = _send_chunked(
            url,
            "POST",
            "/api/v1/jobs",
            total=200 * MB,
            content_type=MULTIPART,
            first=FILE_PART,
            headers={"X-API-Key": key},
        )
        assert status == 413 and body["detail"]["code"] == "PAYLOAD_TOO_LARGE", body
        assert sent < 120 * MB
        assert httpx.get(f"{url}/health/ready", timeout=10).status_code == 200
    assert _stored(tmp_path) == []


def test_json_bodies_are_bounded_and_the_key_comes_first(tmp_path: Path, database_url: str, db: Any) -> None:
    admin = {"X-API-Key": make_key(db, "admin")}
    with served(tmp_path, database_url) as (url, _log):
        # Declared too large: refused at once, without reading (size is checked before anything else).
        resp = httpx.patch(f"{url}/api/v1/jobs/job_x", content=b"{" + b" " * (3 * MB) + b"}", timeout=30)
        assert resp.status_code == 413 and resp.json()["detail"]["code"] == "PAYLOAD_TOO_LARGE"
        # Chunked without a key: 401 before the body is read.
        status, body, sent = _send_chunked(
            url, "POST", "/store/threed-jobs/job_x", total=200 * MB, content_type="application/json"
        )
        assert status == 401 and body["type"] == "UNAUTHORIZED" and sent < 80 * MB, body
        # Chunked with a key: cut off after 1 MB.
        for method, path, headers in (
            ("POST", "/store/threed-jobs/job_x", admin),
            ("PATCH", "/api/v1/jobs/job_x", admin),
        ):
            status, body, sent = _send_chunked(
                url, method, path, total=200 * MB, content_type="application/json", headers=headers
            )
            assert status == 413 and "at most 1 MB" in json.dumps(body), body
            assert sent < 80 * MB
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
