"""Expiring offline tokens: refreshed before expiry without the merchant noticing, single-flight per shop,
the new pair stored atomically, and a refused refresh marks the shop for re-auth instead of looping."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs
from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.shopify.errors import ShopNotInstalled
from shop_app.shopify.oauth import OAuthClient, TokenGrant
from shop_app.shopify.operations import SHOP_INFO
from shop_app.shopify.services import ShopifyServices, make_shopify_services
from shop_app.shopify.tokens import TokenCipher
from tests.shopify.harness import RunningApp, install_shop, open_embedded

SHOP = "acme.myshopify.com"


class CountingOAuth(OAuthClient):
    """The real OAuth client, counting refresh calls (they still go to the devstore over HTTP)."""

    refreshes = 0

    async def refresh(self, shop: str, refresh_token: str) -> TokenGrant:
        type(self).refreshes += 1
        await asyncio.sleep(0.05)  # widen the window in which concurrent callers could race
        return await super().refresh(shop, refresh_token)


def _shop(app: RunningApp) -> Shop:
    with session_scope(app.db) as session:
        return session.exec(select(Shop).where(Shop.domain == SHOP)).one()


def _expire_soon(app: RunningApp, minutes: float = 1.0) -> Shop:
    with session_scope(app.db) as session:
        shop = session.exec(select(Shop).where(Shop.domain == SHOP)).one()
        shop.access_token_expires_at = utcnow() + timedelta(minutes=minutes)
        session.add(shop)
    return _shop(app)


def _run(app: RunningApp, work):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        async with httpx.AsyncClient() as http:
            services = make_shopify_services(app.settings, app.db, http)
            CountingOAuth.refreshes = 0
            services.oauth = CountingOAuth(
                http=http,
                api_key=services.oauth.api_key,
                api_secret=services.oauth.api_secret,
                admin_base=services.oauth.admin_base,
            )
            services.tokens.oauth = services.oauth
            return await work(services)

    return asyncio.run(go())


@pytest.fixture
def installed(devstore: DevstoreServer, running_app: RunningApp) -> RunningApp:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200
    return running_app


def test_admin_call_refreshes_a_token_about_to_expire(installed: RunningApp) -> None:
    before = _expire_soon(installed, minutes=2)

    async def work(services: ShopifyServices) -> dict:
        return await services.admin(SHOP).execute(SHOP_INFO)

    data = _run(installed, work)
    assert data["shop"]["myshopifyDomain"] == SHOP
    after = _shop(installed)
    assert CountingOAuth.refreshes == 1
    assert after.access_token_enc != before.access_token_enc
    assert after.refresh_token_enc != before.refresh_token_enc  # rotated, and both stored together
    assert after.access_token_expires_at > utcnow() + timedelta(minutes=50)  # type: ignore[operator]
    assert not after.needs_reauth


def test_concurrent_callers_share_one_refresh(installed: RunningApp) -> None:
    _expire_soon(installed)

    async def work(services: ShopifyServices) -> list[str]:
        return await asyncio.gather(*(services.tokens.access_token(SHOP) for _ in range(8)))

    tokens = _run(installed, work)
    assert CountingOAuth.refreshes == 1
    assert len(set(tokens)) == 1
    cipher = TokenCipher(installed.settings.token_encryption_key.get_secret_value())
    assert cipher.decrypt(_shop(installed).access_token_enc or "") == tokens[0]


def test_fresh_tokens_are_not_refreshed(installed: RunningApp) -> None:
    before = _shop(installed)
    assert _run(installed, lambda s: s.tokens.refresh_if_needed(SHOP)) is False
    assert CountingOAuth.refreshes == 0
    assert _shop(installed).access_token_enc == before.access_token_enc


def test_scheduler_refreshes_in_the_background(installed: RunningApp) -> None:
    before = _expire_soon(installed, minutes=4)
    assert jobs.refresh_tokens(installed.settings, installed.db) == {SHOP: "refreshed"}
    assert _shop(installed).access_token_enc != before.access_token_enc
    assert jobs.refresh_tokens(installed.settings, installed.db) == {SHOP: "fresh"}


def test_refused_refresh_marks_reauth_and_stops_trying(
    devstore: DevstoreServer, installed: RunningApp
) -> None:
    cipher = TokenCipher(installed.settings.token_encryption_key.get_secret_value())
    with session_scope(installed.db) as session:
        shop = session.exec(select(Shop)).one()
        shop.refresh_token_enc = cipher.encrypt("not-a-refresh-token-shopify-knows")
        shop.access_token_expires_at = utcnow() - timedelta(minutes=1)
        session.add(shop)

    async def twice(services: ShopifyServices) -> list[str]:
        errors = []
        for _ in range(2):
            try:
                await services.tokens.access_token(SHOP)
            except ShopNotInstalled as err:
                errors.append(err.message)
        return errors

    errors = _run(installed, twice)
    assert len(errors) == 2 and "invalid_grant" in errors[0]
    assert CountingOAuth.refreshes == 1  # the second call did not go back to Shopify
    assert _shop(installed).needs_reauth
    assert jobs.refresh_tokens(installed.settings, installed.db) == {}  # not scanned, not refreshed

    # The merchant opens the app: token exchange repairs the shop.
    assert open_embedded(devstore, installed, SHOP).status_code == 200
    repaired = _shop(installed)
    assert not repaired.needs_reauth and repaired.access_token_expires_at > utcnow()  # type: ignore[operator]


def test_expired_token_on_embedded_load_is_replaced(devstore: DevstoreServer, installed: RunningApp) -> None:
    before = _expire_soon(installed, minutes=-5)
    assert open_embedded(devstore, installed, SHOP).status_code == 200
    after = _shop(installed)
    assert after.access_token_enc != before.access_token_enc
    assert after.access_token_expires_at > utcnow() + timedelta(minutes=50)  # type: ignore[operator]


def test_tokens_are_encrypted_at_rest(installed: RunningApp) -> None:
    from sqlalchemy import text

    with installed.db.connect() as conn:
        row = conn.execute(text("SELECT access_token_enc, refresh_token_enc FROM shop")).one()
    cipher = TokenCipher(installed.settings.token_encryption_key.get_secret_value())
    for stored in row:
        plain = cipher.decrypt(stored)
        assert plain and plain not in stored
    other = TokenCipher("G" * 43 + "=")
    with pytest.raises(ShopNotInstalled):
        other.decrypt(row[0])


def test_two_processes_refreshing_at_once_keep_one_consistent_pair(installed: RunningApp) -> None:
    """Two token managers (as in the web app and the scheduler) refresh the same shop at the same moment:
    the pair written first wins, the other process adopts it, and the stored token works."""
    _expire_soon(installed)

    async def work(services: ShopifyServices) -> list[str]:
        from shop_app.shopify.tokens import TokenManager

        other = TokenManager(engine=services.engine, oauth=services.oauth, cipher=services.cipher)
        return await asyncio.gather(services.tokens.access_token(SHOP), other.access_token(SHOP))

    tokens = _run(installed, work)
    # No lock is shared between processes: usually both ask Shopify; the slower one may already find the new pair.
    assert CountingOAuth.refreshes in (1, 2)
    cipher = TokenCipher(installed.settings.token_encryption_key.get_secret_value())
    stored = cipher.decrypt(_shop(installed).access_token_enc or "")
    assert stored in tokens
    assert not _shop(installed).needs_reauth

    async def check(services: ShopifyServices) -> dict:
        return await services.admin(SHOP).execute(SHOP_INFO)

    assert _run(installed, check)["shop"]["myshopifyDomain"] == SHOP


def test_failed_refresh_does_not_flag_a_pair_rotated_meanwhile(installed: RunningApp) -> None:
    """Process A's refresh fails after process B stored a new pair: A must not send the shop to re-auth."""
    cipher = TokenCipher(installed.settings.token_encryption_key.get_secret_value())

    async def flag(services: ShopifyServices) -> tuple[bool, bool]:
        shop = _shop(installed)
        stale = cipher.encrypt("a-refresh-token-process-b-already-rotated")
        rotated_meanwhile = services.tokens._mark_reauth(shop.id, "invalid_grant", stale)
        still_current = services.tokens._mark_reauth(shop.id, "invalid_grant", shop.refresh_token_enc)
        return rotated_meanwhile, still_current

    rotated_meanwhile, still_current = _run(installed, flag)
    assert rotated_meanwhile is False
    assert still_current is True and _shop(installed).needs_reauth
