"""Authorization code grant against the devstore: install, then every tampered callback is refused and
stores nothing."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from sqlmodel import select

from devstore.oauth import query_hmac
from devstore.testing import DevstoreServer
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.shopify.oauth import STATE_COOKIE
from tests.shopify.harness import CLIENT_ID, CLIENT_SECRET, SCOPES, RunningApp, toml_subscriptions

SHOP = "legacy.myshopify.com"


def _register(devstore: DevstoreServer, app: RunningApp) -> None:
    devstore.create_shop(SHOP)
    devstore.register_app(CLIENT_ID, CLIENT_SECRET, app.url, SCOPES, subscriptions=toml_subscriptions())


def _begin(app: RunningApp) -> tuple[str, str]:
    """GET /auth; returns (authorize URL, state cookie)."""
    resp = app.client.get("/auth", params={"shop": SHOP})
    assert resp.status_code == 302, resp.text
    return resp.headers["location"], resp.cookies[STATE_COOKIE]


def _authorize(devstore: DevstoreServer, url: str) -> list[tuple[str, str]]:
    """The merchant approves: the devstore redirects back to our callback with a signed query."""
    resp = devstore.client.get(url, follow_redirects=False)
    assert resp.status_code in (302, 303), resp.text
    return parse_qsl(urlsplit(resp.headers["location"]).query)


def _callback(app: RunningApp, params: list[tuple[str, str]], cookie: str | None) -> httpx.Response:
    cookies = {STATE_COOKIE: cookie} if cookie else {}
    with httpx.Client(base_url=app.url, cookies=cookies) as client:
        return client.get(f"/auth/callback?{urlencode(params)}")


def _shop(app: RunningApp) -> Shop | None:
    with session_scope(app.db) as session:
        return session.exec(select(Shop).where(Shop.domain == SHOP)).first()


def test_code_grant_installs_with_an_expiring_offline_token(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    _register(devstore, running_app)
    url, cookie = _begin(running_app)
    assert url.startswith(f"{devstore.shop_url(SHOP)}/admin/oauth/authorize?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == f"{running_app.url}/auth/callback"
    assert query["scope"] == "read_products,write_products,write_files" and len(query["state"]) == 64

    resp = _callback(running_app, _authorize(devstore, url), cookie)
    assert resp.status_code == 302, resp.text
    assert resp.headers["location"] == f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}"
    shop = _shop(running_app)
    assert shop is not None and shop.access_token_enc and shop.refresh_token_enc  # expiring=1 was sent
    assert shop.access_token_expires_at is not None
    # The installed app then opens embedded with the stored token (no second exchange needed).
    from tests.shopify.harness import open_embedded

    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    assert _shop(running_app).access_token_enc == shop.access_token_enc  # type: ignore[union-attr]


def _resign(params: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    values = dict(params)
    values.pop("hmac")
    values.update(changes)
    items = list(values.items())
    return [*items, ("hmac", query_hmac(items, CLIENT_SECRET))]


TAMPER = {
    "hmac changed": lambda p, c: ([(k, "0" * 64 if k == "hmac" else v) for k, v in p], c),
    "code swapped, old hmac": lambda p, c: ([(k, "f" * 32 if k == "code" else v) for k, v in p], c),
    "shop swapped, old hmac": lambda p, c: (
        [(k, "evil.myshopify.com" if k == "shop" else v) for k, v in p],
        c,
    ),
    "no state cookie": lambda p, c: (p, None),
    "state differs from cookie": lambda p, c: (_resign(p, state="0" * 64), c),
    "forged state cookie": lambda p, c: (p, c[:-4] + "0000"),
    "stale timestamp (resigned)": lambda p, c: (_resign(p, timestamp="1000000000"), c),
    "shop evil.com": lambda p, c: (_resign(p, shop="evil.com"), c),
    "shop suffix attack": lambda p, c: (_resign(p, shop="legacy.myshopify.com.evil.com"), c),
    "shop ../": lambda p, c: (_resign(p, shop="../"), c),
    "no hmac": lambda p, c: ([(k, v) for k, v in p if k != "hmac"], c),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_tampered_callbacks_are_refused(
    case: str, devstore: DevstoreServer, running_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    _register(devstore, running_app)
    url, cookie = _begin(running_app)
    params, cookie_value = TAMPER[case](_authorize(devstore, url), cookie)
    with caplog.at_level(logging.INFO):
        resp = _callback(running_app, params, cookie_value)
    assert resp.status_code == 400, resp.text
    assert "refused" in caplog.text
    assert resp.headers["content-security-policy"].startswith("frame-ancestors")
    assert _shop(running_app) is None


def test_a_code_is_used_once(devstore: DevstoreServer, running_app: RunningApp) -> None:
    _register(devstore, running_app)
    url, cookie = _begin(running_app)
    params = _authorize(devstore, url)
    assert _callback(running_app, params, cookie).status_code == 302
    with session_scope(running_app.db) as session:
        session.delete(session.exec(select(Shop)).one())
    again = _callback(running_app, params, cookie)
    assert again.status_code == 401 and "authorization code" in again.text
    assert _shop(running_app) is None


@pytest.mark.parametrize("shop", ["evil.com", "x.myshopify.com.evil.com", "../", ""])
def test_auth_refuses_bad_shops(shop: str, running_app: RunningApp) -> None:
    resp = running_app.client.get("/auth", params={"shop": shop})
    assert resp.status_code == 400
    assert STATE_COOKIE not in resp.cookies
