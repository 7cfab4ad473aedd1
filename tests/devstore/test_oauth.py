"""Token exchange, the authorization-code grant, expiring offline tokens and refresh rotation, over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest

from devstore.oauth import ID_TOKEN_TYPE, OFFLINE_TYPE, ONLINE_TYPE, TOKEN_EXCHANGE
from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, SHOP, FakeClock, gql, png_bytes

INVALID_SUBJECT = {
    "error": "invalid_subject_token",
    "error_description": "Token exchange cannot be performed due to an invalid subject token.",
}


def exchange(
    ds: DevstoreServer,
    subject: str,
    *,
    requested: str = OFFLINE_TYPE,
    expiring: str = "1",
    secret: str = CLIENT_SECRET,
    shop: str = SHOP,
    form: bool = False,
):
    body = {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": requested,
        "expiring": expiring,
    }
    if form:
        return ds.client.post(ds.token_url(shop), data=body)
    return ds.client.post(ds.token_url(shop), json=body, headers={"Accept": "application/json"})


def refresh(ds: DevstoreServer, refresh_token: str):
    return ds.client.post(
        ds.token_url(SHOP),
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )


def works(ds: DevstoreServer, access_token: str) -> bool:
    return ds.graphql(SHOP, access_token, "{ shop { name } }").status_code == 200


def test_session_token_has_shopifys_claims(ds: DevstoreServer) -> None:
    token = ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, sub="42")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)
    assert claims["iss"] == f"https://{SHOP}/admin"
    assert claims["dest"] == f"https://{SHOP}"
    assert claims["sub"] == "42"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["nbf"] == claims["iat"]
    assert {"jti", "sid"} <= set(claims)
    via_api = ds.client.post(
        f"{ds.base_url}/_devstore/shops/{SHOP}/session-tokens", json={"client_id": CLIENT_ID, "sub": "7"}
    ).json()["session_token"]
    assert jwt.decode(via_api, CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)["sub"] == "7"


def test_token_exchange_offline_expiring(ds: DevstoreServer) -> None:
    response = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert body["scope"] == ",".join(SCOPES)
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 90 * 24 * 3600
    assert works(ds, body["access_token"])


def test_token_exchange_non_expiring_and_form_body(ds: DevstoreServer) -> None:
    response = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET), expiring="0", form=True)
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "scope"}


def test_token_exchange_online(ds: DevstoreServer) -> None:
    response = exchange(
        ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, sub="9"), requested=ONLINE_TYPE
    )
    body = response.json()
    assert body["expires_in"] == 86400
    assert body["associated_user"]["id"] == 9
    assert set(body["associated_user"]) == {
        "id",
        "first_name",
        "last_name",
        "email",
        "email_verified",
        "account_owner",
        "locale",
        "collaborator",
    }
    assert body["associated_user_scope"] == ",".join(SCOPES)
    assert works(ds, body["access_token"])


def test_bad_subject_tokens_are_refused_with_shopifys_body(ds: DevstoreServer) -> None:
    bad = {
        "wrong secret": ds.mint_session_token(SHOP, CLIENT_ID, "another-secret-of-decent-length-123456"),
        "expired": ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, exp_in=-5),
        "not yet valid": ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, nbf_offset=120, exp_in=180),
        "other audience": ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, aud="someone-else"),
        "other shop": ds.mint_session_token("other.myshopify.com", CLIENT_ID, CLIENT_SECRET),
        "garbage": "not.a.jwt",
    }
    for why, subject in bad.items():
        response = exchange(ds, subject)
        assert response.status_code == 400, why
        assert response.json() == INVALID_SUBJECT, why


def test_wrong_client_secret_and_bad_grants(ds: DevstoreServer) -> None:
    response = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET), secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    response = ds.client.post(
        ds.token_url(SHOP),
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "grant_type": "password"},
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    response = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET), expiring="yes")
    assert response.json()["error"] == "invalid_request"
    missing = ds.client.post(
        ds.token_url(SHOP),
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET),
            "subject_token_type": ID_TOKEN_TYPE,
        },
    )
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "Missing required parameter: requested_token_type",
    }


def test_refresh_rotates_and_old_tokens_stop_working(ds: DevstoreServer) -> None:
    first = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)).json()
    second = refresh(ds, first["refresh_token"])
    assert second.status_code == 200
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert second_body["access_token"] != first["access_token"]
    assert second_body["expires_in"] == 3600
    assert works(ds, second_body["access_token"])
    assert not works(ds, first["access_token"])
    # a retry with the old refresh token (lost answer) gets the same pair until the new one is used
    retry = refresh(ds, first["refresh_token"]).json()
    assert retry["refresh_token"] == second_body["refresh_token"]
    assert retry["access_token"] == second_body["access_token"]
    third = refresh(ds, second_body["refresh_token"]).json()
    assert third["refresh_token"] not in (first["refresh_token"], second_body["refresh_token"])
    used = refresh(ds, first["refresh_token"])
    assert used.status_code == 400
    assert used.json()["error"] == "invalid_grant"
    unknown = refresh(ds, "shprt_unknown")
    assert unknown.json()["error"] == "invalid_grant"


def test_expiry_of_access_and_refresh_tokens(clocked: DevstoreServer, clock: FakeClock) -> None:
    ds = clocked
    pair = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)).json()
    clock.advance(3599)
    assert works(ds, pair["access_token"])
    clock.advance(1)
    assert not works(ds, pair["access_token"])
    renewed = refresh(ds, pair["refresh_token"]).json()
    assert works(ds, renewed["access_token"])
    clock.advance(90 * 24 * 3600)
    expired = refresh(ds, renewed["refresh_token"])
    assert expired.status_code == 400
    assert expired.json() == {"error": "invalid_grant", "error_description": "The refresh token has expired."}


def test_uninstall_revokes_tokens(ds: DevstoreServer) -> None:
    pair = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)).json()
    ds.uninstall_app(SHOP, CLIENT_ID)
    assert not works(ds, pair["access_token"])
    assert refresh(ds, pair["refresh_token"]).json()["error"] == "invalid_grant"
    response = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET))
    assert response.json() == INVALID_SUBJECT


def test_migrating_a_non_expiring_token(ds: DevstoreServer) -> None:
    legacy = exchange(ds, ds.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET), expiring="0").json()
    body = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": legacy["access_token"],
        "subject_token_type": OFFLINE_TYPE,
        "requested_token_type": OFFLINE_TYPE,
        "expiring": "1",
    }
    migrated = ds.client.post(ds.token_url(SHOP), json=body).json()
    assert migrated["expires_in"] == 3600 and migrated["refresh_token"]
    assert not works(ds, legacy["access_token"])
    assert works(ds, migrated["access_token"])
    assert ds.client.post(ds.token_url(SHOP), json=body).json() == migrated  # retry returns the same pair


def _independent_hmac(params: list[tuple[str, str]], secret: str) -> str:
    message = "&".join(sorted(f"{k}={v}" for k, v in params if k != "hmac"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def test_authorization_code_grant(ds: DevstoreServer) -> None:
    response = ds.client.get(
        f"{ds.shop_url(SHOP)}/admin/oauth/authorize",
        params={
            "client_id": CLIENT_ID,
            "scope": "read_products,write_products",
            "state": "nonce-123",
            "redirect_uri": "http://127.0.0.1:9/auth/callback",
        },
        follow_redirects=False,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:9/auth/callback"
    params = parse_qsl(location.query)
    query = dict(params)
    assert set(query) == {"code", "hmac", "host", "shop", "state", "timestamp"}
    assert query["state"] == "nonce-123" and query["shop"] == SHOP
    assert query["hmac"] == _independent_hmac(params, CLIENT_SECRET)
    token = ds.client.post(
        ds.token_url(SHOP),
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": query["code"]},
    )
    assert token.status_code == 200
    assert token.json()["scope"] == "read_products,write_products"
    assert (
        gql(ds, token.json()["access_token"], "{ shop { myshopifyDomain } }")["data"]["shop"][
            "myshopifyDomain"
        ]
        == SHOP
    )
    again = ds.client.post(
        ds.token_url(SHOP),
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": query["code"]},
    )
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "The authorization code was not found or was already used",
    }


def test_authorize_rejects_foreign_redirect_and_unknown_app(ds: DevstoreServer) -> None:
    url = f"{ds.shop_url(SHOP)}/admin/oauth/authorize"
    evil = ds.client.get(
        url, params={"client_id": CLIENT_ID, "state": "s", "redirect_uri": "https://evil.example/cb"}
    )
    assert evil.status_code == 400
    assert "redirect_uri" in evil.json()["error_description"]
    unknown = ds.client.get(url, params={"client_id": "nope", "state": "s"})
    assert unknown.status_code == 404


def test_admin_app_page_embeds_the_app_with_a_signed_query(ds: DevstoreServer) -> None:
    page = ds.client.get(f"{ds.shop_url(SHOP)}/admin/apps/{CLIENT_ID}")
    assert page.status_code == 200
    src = page.text.split("<iframe src='", 1)[1].split("'", 1)[0].replace("&amp;", "&")
    params = parse_qsl(urlsplit(src).query)
    query = dict(params)
    assert query["embedded"] == "1" and query["shop"] == SHOP
    assert query["hmac"] == _independent_hmac(params, CLIENT_SECRET)
    claims = jwt.decode(query["id_token"], CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)
    assert claims["dest"] == f"https://{SHOP}"


def test_opening_an_app_that_is_not_installed_shows_the_install_screen(ds: DevstoreServer) -> None:
    ds.uninstall_app(SHOP, CLIENT_ID)  # still registered (the Partner dashboard knows it), not installed
    screen = ds.client.get(f"{ds.shop_url(SHOP)}/admin/apps/{CLIENT_ID}", params={"path": "/app"})
    assert screen.status_code == 200 and "Install app" in screen.text and "<iframe" not in screen.text
    assert "View products" in screen.text and "Edit products" in screen.text  # the scopes it asks for
    action = f"{ds.shop_url(SHOP)}/admin/apps/{CLIENT_ID}/install"
    assert ds.client.post(action, data={"path": "//evil.example"}).status_code == 400
    assert CLIENT_ID not in ds.store.shops[SHOP].installs  # a refused install installs nothing
    installed = ds.client.post(action, data={"path": "/app"})
    assert installed.status_code == 303
    assert installed.headers["location"] == f"/store/{SHOP}/admin/apps/{CLIENT_ID}?path=%2Fapp"
    assert ds.store.shops[SHOP].installs[CLIENT_ID].scopes == SCOPES
    embedded = ds.client.get(f"{ds.base_url}{installed.headers['location']}")
    assert embedded.status_code == 200 and "<iframe src=" in embedded.text
    assert ds.client.get(f"{ds.shop_url(SHOP)}/admin/apps/unknown-app").status_code == 404


def test_admin_pages_list_shops_products_and_apps(ds: DevstoreServer) -> None:
    ds.create_product(SHOP, title="Listed <Mug>", images=[png_bytes()])
    index = ds.client.get(f"{ds.base_url}/")
    assert index.status_code == 200 and f"/store/{SHOP}/admin" in index.text
    home = ds.client.get(f"{ds.shop_url(SHOP)}/admin")
    assert "Listed &lt;Mug&gt;" in home.text
    assert f"/store/{SHOP}/admin/apps/{CLIENT_ID}" in home.text
    assert ds.client.get(f"{ds.shop_url('nope.myshopify.com')}/admin").status_code == 404


def test_app_bridge_stand_in_scripts_and_token_endpoint(ds: DevstoreServer) -> None:
    for name in ("app-bridge.js", "polaris.js"):
        script = ds.client.get(f"{ds.base_url}/cdn/shopifycloud/{name}")
        assert script.status_code == 200 and script.headers["content-type"].startswith(
            "application/javascript"
        )
    assert ds.client.get(f"{ds.base_url}/cdn/shopifycloud/other.js").status_code == 404
    # the Polaris stand-in ships with the manifest it checks markup against, and with its controls part
    polaris = ds.client.get(f"{ds.base_url}/cdn/shopifycloud/polaris.js").text
    manifest = json.loads(polaris.split("window.__polarisComponents = ", 1)[1].split(";\n", 1)[0])
    assert {"s-page", "s-table", "s-choice-list"} <= set(manifest["components"])
    assert 'component("s-choice-list"' in polaris and 'component("s-page"' in polaris
    minted = ds.client.post(f"{ds.shop_url(SHOP)}/admin/apps/{CLIENT_ID}/session-token").json()[
        "session_token"
    ]
    assert (
        jwt.decode(minted, CLIENT_SECRET, algorithms=["HS256"], audience=CLIENT_ID)["dest"]
        == f"https://{SHOP}"
    )
    page = ds.client.get(f"{ds.shop_url(SHOP)}/admin/apps/{CLIENT_ID}").text
    # the admin page answers token requests only from the app's own origin (admin-host.js checks it)
    assert '"appOrigin": "http://127.0.0.1:9"' in page
    host = ds.client.get(f"{ds.base_url}/cdn/devstore/admin-host.js")
    assert host.status_code == 200 and "e.origin !== cfg.appOrigin" in host.text
    assert ds.client.post(f"{ds.shop_url(SHOP)}/admin/apps/other/session-token").status_code == 404


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the App Bridge stand-in")
def test_app_bridge_stand_in_behaviour_under_node(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "devstore" / "static" / "app-bridge.js"
    harness = Path(__file__).with_name("js") / "app_bridge_harness.js"
    page = (
        "http://127.0.0.1:9/auth/session-token?shop=x&shopify-reload=http%3A%2F%2F127.0.0.1%3A9%2Fapp%3Fa%3D1"
    )
    run = subprocess.run(
        ["node", str(harness), str(script), page], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    same_origin, foreign = seen["requests"][-2:]
    assert same_origin["url"] == "/api/products" and same_origin["authorization"].startswith("Bearer tok-")
    assert foreign["authorization"] is None  # other origins never get the session token
    assert seen["token"].startswith("tok-")
    assert seen["apiKey"] == "api-key-123"
    # toasts and the resource picker are the admin's: posted to the parent, the picker resolves its choice
    assert "devstore:toast" in seen["parentTypes"]
    assert seen["picked"] == [{"id": "gid://shopify/Collection/7", "title": "collection"}]
    # the bounce page reloads its target with a fresh id_token
    assert seen["replaced"].startswith("http://127.0.0.1:9/app?a=1&id_token=tok-")


def test_reauthorizing_with_new_scopes_updates_the_grant(ds: DevstoreServer) -> None:
    ds.install_app(
        SHOP,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        app_url="http://127.0.0.1:9",
        scopes=SCOPES,
        subscriptions=[],
    )
    ds.client.post(
        f"{ds.base_url}/_devstore/shops/{SHOP}/installs",
        json={"client_id": CLIENT_ID, "scopes": ["read_products"]},
    )
    response = ds.client.get(
        f"{ds.shop_url(SHOP)}/admin/oauth/authorize",
        params={"client_id": CLIENT_ID, "scope": "read_products,write_files", "state": "s"},
        follow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["x-request-id"]
    shop = ds.client.get(f"{ds.base_url}/_devstore/shops/{SHOP}").json()
    assert shop["installs"][0]["scopes"] == ["read_products", "write_files"]
