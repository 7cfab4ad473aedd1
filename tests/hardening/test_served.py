"""`nu3d serve` as deployed (uvicorn, real sockets): proxy headers only from configured proxies, and no
secret in the log it writes."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.hardening.conftest import served
from tests.jobs.conftest import wait_until


def _post_from(url: str, forwarded_for: str) -> httpx.Response:
    return httpx.post(f"{url}/store/threed-jobs", headers={"X-Forwarded-For": forwarded_for}, timeout=10)


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path: Path, database_url: str) -> None:
    with served(tmp_path, database_url, NU3D_RATE_LIMIT_STORE="3/minute") as (url, log):
        answers = [_post_from(url, f"203.0.113.{i}").status_code for i in range(4)]
        assert answers[:3] == [400, 400, 400] and answers[3] == 429, answers
        assert "203.0.113." not in log.read_text()  # the access log shows the real peer
    with served(
        tmp_path, database_url, NU3D_RATE_LIMIT_STORE="3/minute", NU3D_TRUSTED_PROXIES="127.0.0.1"
    ) as (url, log):
        answers = [_post_from(url, f"203.0.113.{i}").status_code for i in range(6)]
        assert answers == [400] * 6, answers  # each forwarded client has its own counter
        assert _post_from(url, "203.0.113.9").headers["x-ratelimit-remaining"] == "2"
        wait_until(lambda: "203.0.113.5" in log.read_text(), timeout=10, what="the access log line")


def test_secrets_in_urls_and_headers_never_reach_the_log(tmp_path: Path, database_url: str) -> None:
    secrets = {
        "code": "SECRETOAUTHCODE1",
        "hmac": "SECRETHMAC0a1b2c3",
        "id_token": "eyJSECRETIDTOKEN.body.sig",
        "sig": "SECRETSIGNATURE9",
        "token": "SECRETTOKENVALUE",
        "password": "SECRETPASSWORD77",
    }
    key = "nu3d_SECRETAPIKEYVALUE123"
    with served(tmp_path, database_url, NU3D_LOG_LEVEL="DEBUG") as (url, log):
        with httpx.Client(base_url=url, timeout=10) as client:
            client.get(
                "/auth/callback",
                params={"code": secrets["code"], "hmac": secrets["hmac"], "shop": "a.myshopify.com"},
            )
            client.get("/app", params={"id_token": secrets["id_token"], "shop": "a.myshopify.com"})
            client.get("/files/x.glb", params={"exp": "1", "sig": secrets["sig"]})
            client.get("/health", params={"token": secrets["token"], "password": secrets["password"]})
            client.get("/api/v1/jobs", headers={"X-API-Key": key})
            client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {key}", "Cookie": "s=SECRETCOOKIE"})
            last = client.get("/health", params={"marker": "done"})
            assert last.status_code == 200
        wait_until(lambda: "marker=done" in log.read_text(), timeout=10, what="the access log line")
        text = log.read_text()
    assert "GET /auth/callback?code=***&hmac=***&shop=a.myshopify.com" in text, text[-3000:]
    assert "sig=***" in text and "id_token=***" in text
    for value in [*secrets.values(), key, "SECRETCOOKIE"]:
        assert value not in text, f"{value} leaked into the log"
