"""The generation API seed 001 calls, over HTTP, as seed 001's client uses it: an account made with
`nu3d account create`, login → bearer token, POST /generate3d_webhook → image_id, GET /generate3d/status/{id}
polled until completed, with every result field; and the bad cases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import jwt

from devstore.testing import DevstoreServer
from shop_app.generation_accounts import hash_password, verify_password
from tests.jobs.conftest import Drainer
from tests.shopify.harness import RunningApp, png

SHOP = "gen-api.myshopify.com"


def _create_account(app: RunningApp, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NU3D_")}
    env["NU3D_DATABASE_URL"] = app.settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "shop_app.cli", "account", "create", "--email", email, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _photo_url(devstore: DevstoreServer) -> str:
    devstore.create_shop(SHOP)
    product = devstore.create_product(
        SHOP, title="Blue Kettle", images=[png((0, 0, 220), size=32)], notify=False
    )
    return product["images"][0]["src"]


def test_login_submit_and_poll_until_completed(devstore: DevstoreServer, app_factory: Any) -> None:
    host = devstore.admin_base.split("://", 1)[1]
    app = app_factory(NU3D_FETCH_ALLOW_HOSTS=host)
    created = _create_account(app, "H@V.com", "pass12345")
    assert created.returncode == 0, created.stderr
    assert "h@v.com" in created.stdout
    again = _create_account(app, "h@v.com", "another-pass")
    assert again.returncode != 0 and "already exists" in again.stderr

    bad = app.client.post("/login", json={"email": "h@v.com", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json() == {"detail": "Incorrect email or password"}
    login = app.client.post("/login", json={"email": "h@v.com", "password": "pass12345"})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    assert login.json()["token_type"] == "bearer" and login.json()["expires_in"] == 3600
    auth = {"Authorization": f"Bearer {token}"}

    submitted = app.client.post(
        "/generate3d_webhook", json={"image_url": _photo_url(devstore), "prompt": "Blue Kettle"}, headers=auth
    )
    assert submitted.status_code == 200, submitted.text
    image_id = submitted.json()["image_id"]
    assert isinstance(image_id, int) and submitted.json()["status"] == "processing"

    pending = app.client.get(f"/generate3d/status/{image_id}", headers=auth).json()
    assert pending["status"] == "processing" and pending["model_glb_url"] is None

    drain = Drainer(app.settings, app.db)
    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:  # seed 001 polls every 3 s; the fake engine is quicker
        drain()
        status = app.client.get(f"/generate3d/status/{image_id}", headers=auth).json()
        if status["status"] != "processing":
            break
        time.sleep(0.05)
    assert status["status"] == "completed", status
    assert set(status) == {
        "image_id", "status", "job_id", "gaussian_splat_url", "model_glb_url", "original_url", "metadata",
        "message",
    }  # fmt: skip
    assert status["message"] == "3D generation completed successfully"
    assert httpx.get(status["model_glb_url"]).status_code == 200
    assert httpx.get(status["original_url"]).status_code == 200


def test_tokens_are_required_expire_and_are_per_account(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    app = running_app
    for email in ("a@example.com", "b@example.com"):
        assert _create_account(app, email, "password-123").returncode == 0
    token_a = app.client.post("/login", json={"email": "a@example.com", "password": "password-123"}).json()
    token_b = app.client.post("/login", data={"email": "b@example.com", "password": "password-123"}).json()
    a = {"Authorization": f"Bearer {token_a['access_token']}"}
    b = {"Authorization": f"Bearer {token_b['access_token']}"}

    missing = app.client.post("/generate3d_webhook", json={"image_url": "https://example.com/x.png"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    secret = app.settings.secret_key.get_secret_value()
    expired = jwt.encode(
        {"sub": "1", "aud": "nu3d-generate3d", "exp": int(time.time()) - 5}, secret, algorithm="HS256"
    )
    resp = app.client.get("/generate3d/status/1", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and "log in again" in resp.json()["detail"]
    forged = jwt.encode(
        {"sub": "1", "aud": "nu3d-generate3d", "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256"
    )
    assert (
        app.client.get("/generate3d/status/1", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )

    for body in (
        {},
        {"image_url": 5},
        {"image_url": "ftp://x/y.png"},
        {"image_url": "http://127.0.0.1:9/x.png"},
    ):
        assert app.client.post("/generate3d_webhook", json=body, headers=a).status_code == 400, body
    assert app.client.post("/generate3d_webhook", content=b"[", headers=a).status_code == 400

    own = app.client.post(
        "/generate3d_webhook", json={"image_url": "https://cdn.example.com/p.png"}, headers=a
    )
    assert own.status_code == 200, own.text
    image_id = own.json()["image_id"]
    assert app.client.get(f"/generate3d/status/{image_id}", headers=a).status_code == 200
    other = app.client.get(f"/generate3d/status/{image_id}", headers=b)
    assert other.status_code == 404 and other.json() == {"detail": f"Image {image_id} not found"}


def test_password_hashes_are_scrypt_and_salted() -> None:
    one, two = hash_password("secret-pass"), hash_password("secret-pass")
    assert one.startswith("scrypt$16384$8$1$") and one != two
    assert verify_password("secret-pass", one) and not verify_password("secret-pasS", one)
    assert not verify_password("secret-pass", "md5$abc")
