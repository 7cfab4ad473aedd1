"""Managed install + embedded load: the first admin load exchanges the session token for an expiring offline
token, stores it encrypted, and renders the admin shell with App Bridge and the frame-ancestors CSP."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlmodel import select

from devstore.testing import DevstoreServer
from shop_app.db import session_scope
from shop_app.models.core import Shop
from shop_app.models.shopify import ScanState
from tests.shopify.harness import CLIENT_ID, CLIENT_SECRET, RunningApp, install_shop, open_embedded, settle

SHOP = "acme.myshopify.com"


def _shop(app: RunningApp, domain: str = SHOP) -> Shop | None:
    with session_scope(app.db) as session:
        return session.exec(select(Shop).where(Shop.domain == domain)).first()


def test_first_embedded_load_exchanges_and_renders_the_shell(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    install_shop(devstore, running_app, SHOP, timezone="Europe/Berlin")
    assert _shop(running_app) is None

    resp = open_embedded(devstore, running_app, SHOP)

    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert f"frame-ancestors https://{SHOP} https://admin.shopify.com" in csp
    assert f'<meta name="shopify-api-key" content="{CLIENT_ID}">' in resp.text
    # against the devstore, App Bridge and Polaris are its offline stand-ins (cdn.shopify.com cannot load)
    assert f'<script src="{devstore.admin_base}/cdn/shopifycloud/app-bridge.js">' in resp.text
    assert f'<script src="{devstore.admin_base}/cdn/shopifycloud/polaris.js">' in resp.text
    assert "cdn.shopify.com" not in resp.text
    for script in ("/cdn/shopifycloud/app-bridge.js", "/cdn/shopifycloud/polaris.js"):
        served = devstore.client.get(f"{devstore.admin_base}{script}")
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]

    shop = _shop(running_app)
    assert shop is not None and shop.installed_at is not None
    # Expiring offline token: stored encrypted, with its refresh token and both expiries.
    assert shop.access_token_enc and shop.refresh_token_enc
    assert shop.access_token_expires_at is not None and shop.refresh_token_expires_at is not None
    assert shop.scopes and "read_products" in shop.scopes
    assert shop.iana_timezone == "Europe/Berlin"  # read through the Admin API right after the exchange
    from shop_app.shopify.tokens import TokenCipher

    token = TokenCipher(running_app.settings.token_encryption_key.get_secret_value()).decrypt(
        shop.access_token_enc
    )
    assert token not in shop.access_token_enc
    assert devstore.graphql(SHOP, token, "{ shop { name } }").status_code == 200
    with session_scope(running_app.db) as session:
        assert session.get(ScanState, shop.id) is not None


def test_second_load_reuses_the_stored_token(devstore: DevstoreServer, running_app: RunningApp) -> None:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    first = _shop(running_app)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    assert _shop(running_app).access_token_enc == first.access_token_enc  # type: ignore[union-attr]


def test_embedded_load_without_id_token_bounces(devstore: DevstoreServer, running_app: RunningApp) -> None:
    install_shop(devstore, running_app, SHOP)
    from devstore.oauth import host_param

    resp = running_app.client.get("/app", params={"embedded": "1", "shop": SHOP, "host": host_param(SHOP)})
    assert resp.status_code == 302
    location = urlsplit(resp.headers["location"])
    assert location.path == "/auth/session-token"
    query = parse_qs(location.query)
    assert query["shop"] == [SHOP]
    reload_url = query["shopify-reload"][0]
    assert reload_url.startswith(f"{running_app.url}/app?") and "id_token" not in reload_url

    bounce = running_app.client.get(resp.headers["location"])
    assert bounce.status_code == 200
    assert 'data-api-key="test-client-id"' in bounce.text and "app-bridge.js" in bounce.text
    assert "frame-ancestors https://acme.myshopify.com" in bounce.headers["content-security-policy"]

    # App Bridge reloads shopify-reload with a fresh id_token: the shell renders.
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    reloaded = running_app.client.get(reload_url[len(running_app.url) :] + f"&id_token={token}")
    assert reloaded.status_code == 200, reloaded.text
    assert _shop(running_app) is not None


def test_not_embedded_redirects_into_the_admin(devstore: DevstoreServer, running_app: RunningApp) -> None:
    from devstore.oauth import host_param

    resp = running_app.client.get("/app", params={"shop": SHOP, "host": host_param(SHOP)})
    assert resp.status_code == 302
    assert resp.headers["location"] == f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}"


def test_expired_id_token_bounces_for_a_fresh_one(devstore: DevstoreServer, running_app: RunningApp) -> None:
    install_shop(devstore, running_app, SHOP)
    from devstore.oauth import host_param

    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET, exp_in=-30)
    resp = running_app.client.get(
        "/app", params={"embedded": "1", "shop": SHOP, "host": host_param(SHOP), "id_token": token}
    )
    assert resp.status_code == 302
    assert resp.headers["location"].startswith("/auth/session-token?")
    assert _shop(running_app) is None


def test_shell_links_to_the_shop_and_its_index_lists_the_products(
    devstore: DevstoreServer, running_app: RunningApp
) -> None:
    from tests.shopify.harness import png

    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    devstore.create_product(SHOP, title="Ceramic Mug", images=[png()])
    assert settle(devstore, running_app)
    page = open_embedded(devstore, running_app, SHOP)
    assert page.status_code == 200
    shell = _initial_data(page.text)
    # the product page links into this shop's admin and storefront (the devstore stands in for both)
    assert shell["admin_products_url"] == f"{devstore.shop_url(SHOP)}/admin/products"
    assert shell["storefront_url"] == devstore.shop_url(SHOP)
    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    index = running_app.client.get("/app/api/index", headers={"Authorization": f"Bearer {token}"}).json()
    [product] = index["products"]
    assert product["title"] == "Ceramic Mug" and index["total"] == 1 and index["next_cursor"] is None
    [group] = product["groups"]
    assert group["generation"]["status"] == "queued" and group["model"] is None
    assert group["photos"][0]["url"] == product["images"][0]["url"]


def _initial_data(page: str) -> dict:
    import json
    import re

    match = re.search(r'<script type="application/json" id="initial-data">(.*?)</script>', page, re.S)
    assert match, "the shell carries its start-up data"
    return json.loads(match.group(1))


def test_production_loads_app_bridge_and_polaris_from_shopify() -> None:
    from shop_app.web.pages import shopify_scripts

    assert shopify_scripts(None) == {
        "app_bridge": "https://cdn.shopify.com/shopifycloud/app-bridge.js",
        "polaris": "https://cdn.shopify.com/shopifycloud/polaris.js",
    }
    assert (
        shopify_scripts("http://127.0.0.1:8700/")["polaris"]
        == "http://127.0.0.1:8700/cdn/shopifycloud/polaris.js"
    )


def _embedded_params(devstore: DevstoreServer, app: RunningApp) -> list[tuple[str, str]]:
    page = devstore.client.get(f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}", params={"path": "/app"})
    import html
    import re

    src = html.unescape(re.search(r"<iframe src='([^']+)'", page.text).group(1))  # type: ignore[union-attr]
    return parse_qsl_keep(urlsplit(src).query)


def parse_qsl_keep(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def test_tampered_admin_queries_are_refused(devstore: DevstoreServer, running_app: RunningApp) -> None:
    from urllib.parse import urlencode

    install_shop(devstore, running_app, SHOP)
    params = _embedded_params(devstore, running_app)
    tampered = {
        "locale changed after signing": [(k, "fr" if k == "locale" else v) for k, v in params],
        "hmac replaced": [(k, "0" * 64 if k == "hmac" else v) for k, v in params],
        "stale timestamp": [(k, "1000000000" if k == "timestamp" else v) for k, v in params],
    }
    for name, query in tampered.items():
        resp = running_app.client.get(f"/app?{urlencode(query)}")
        assert resp.status_code == 400, (name, resp.text)
        assert "invalid Shopify request" in resp.text
    assert _shop(running_app) is None


def test_bad_shop_and_host_values_are_refused(devstore: DevstoreServer, running_app: RunningApp) -> None:
    from devstore.oauth import host_param

    token = devstore.mint_session_token(SHOP, CLIENT_ID, CLIENT_SECRET)
    cases = [
        {"shop": "evil.com"},
        {"shop": "acme.myshopify.com.evil.com"},
        {"shop": "../"},
        {"shop": "acme.myshopify.com/../evil"},
        {"embedded": "1", "shop": SHOP, "host": host_param("other.myshopify.com"), "id_token": token},
        {"embedded": "1", "shop": SHOP, "host": "bm90LWEtaG9zdA", "id_token": token},
        {"embedded": "1", "shop": SHOP, "id_token": token},  # embedded needs host
    ]
    for params in cases:
        resp = running_app.client.get("/app", params=params)
        assert resp.status_code == 400, (params, resp.text)
        if params["shop"] != SHOP:
            assert resp.headers["content-security-policy"] == "frame-ancestors 'none';"
    assert running_app.client.get("/app").status_code == 400
    assert _shop(running_app) is None


def test_forged_or_foreign_id_tokens_are_refused(devstore: DevstoreServer, running_app: RunningApp) -> None:
    from devstore.oauth import host_param

    install_shop(devstore, running_app, SHOP)
    tokens = {
        "forged": devstore.mint_session_token(SHOP, CLIENT_ID, "shpss_wrong-0123456789abcdef0123456789ab"),
        "other app": devstore.mint_session_token(SHOP, "other-app", CLIENT_SECRET),
        "other shop": devstore.mint_session_token("other-shop.myshopify.com", CLIENT_ID, CLIENT_SECRET),
    }
    for name, token in tokens.items():
        resp = running_app.client.get(
            "/app", params={"embedded": "1", "shop": SHOP, "host": host_param(SHOP), "id_token": token}
        )
        assert resp.status_code == 401, (name, resp.text)
    assert _shop(running_app) is None
