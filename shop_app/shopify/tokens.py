"""Offline Admin API tokens: encrypted at rest, obtained by token exchange or code grant, refreshed before expiry.

Refresh is single-flight per shop inside a process (an asyncio.Lock per shop) and compare-and-swap across
processes (the new pair is written only if the refresh token we used is still the stored one), so two
refreshers never overwrite each other's rotated pair. A refresh that Shopify refuses marks the shop
`needs_reauth` instead of retrying forever; the next embedded load repairs it by token exchange.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from shop_app.db import session_scope, write_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.shopify.errors import ShopifyAuthError, ShopNotInstalled
from shop_app.shopify.oauth import OAuthClient, TokenGrant

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)


class TokenCipher:
    """Fernet encryption for tokens at rest (NU3D_TOKEN_ENCRYPTION_KEY)."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, token_enc: str) -> str:
        try:
            return self._fernet.decrypt(token_enc.encode()).decode()
        except InvalidToken:
            # Wrong key (rotated without re-encrypting) or a corrupted column: the token is unusable.
            raise ShopNotInstalled(
                "stored Shopify token cannot be decrypted; the shop must re-authorize"
            ) from None


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    expires_at: datetime | None


def needs_refresh(expires_at: datetime | None, *, now: datetime | None = None) -> bool:
    """True when an expiring token has less than REFRESH_MARGIN left (non-expiring tokens never do)."""
    if expires_at is None:
        return False
    return expires_at - (now or utcnow()) < REFRESH_MARGIN


def apply_grant(shop: Shop, grant: TokenGrant, cipher: TokenCipher, *, now: datetime | None = None) -> None:
    """Put a new token pair on the shop row (committed by the caller in one transaction: the pair is atomic)."""
    now = now or utcnow()
    shop.access_token_enc = cipher.encrypt(grant.access_token)
    shop.access_token_expires_at = now + timedelta(seconds=grant.expires_in) if grant.expires_in else None
    if grant.refresh_token:
        shop.refresh_token_enc = cipher.encrypt(grant.refresh_token)
        shop.refresh_token_expires_at = (
            now + timedelta(seconds=grant.refresh_token_expires_in)
            if grant.refresh_token_expires_in
            else None
        )
    else:
        shop.refresh_token_enc = None
        shop.refresh_token_expires_at = None
    if grant.scope:
        shop.scopes = grant.scope
    shop.needs_reauth = False
    shop.updated_at = now


def save_install(session: Session, *, domain: str, grant: TokenGrant, cipher: TokenCipher) -> Shop:
    """Create or update the shop row for a fresh install/exchange, storing the new pair."""
    shop = session.exec(select(Shop).where(Shop.domain == domain)).first()
    now = utcnow()
    if shop is None:
        shop = Shop(domain=domain, installed_at=now)
        session.add(shop)
    elif shop.uninstalled_at is not None or shop.installed_at is None:
        shop.installed_at = now
    shop.uninstalled_at = None
    apply_grant(shop, grant, cipher, now=now)
    session.flush()
    return shop


class TokenManager:
    """Hands out a valid offline access token per shop, refreshing it when it is about to expire."""

    def __init__(self, *, engine: Engine, oauth: OAuthClient, cipher: TokenCipher) -> None:
        self.engine = engine
        self.oauth = oauth
        self.cipher = cipher
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, domain: str) -> asyncio.Lock:
        lock = self._locks.get(domain)
        if lock is None:
            lock = self._locks[domain] = asyncio.Lock()
        return lock

    def _load(self, domain: str) -> Shop:
        with session_scope(self.engine) as session:
            shop = session.exec(select(Shop).where(Shop.domain == domain)).first()
        if shop is None or shop.uninstalled_at is not None or not shop.access_token_enc:
            raise ShopNotInstalled(f"{domain} has not installed Nu3D")
        return shop

    async def access_token(self, domain: str, *, force_refresh: bool = False) -> str:
        """A usable access token for `domain`; raises ShopNotInstalled when the shop must re-authorize."""
        shop = await asyncio.to_thread(self._load, domain)
        if shop.needs_reauth:
            raise ShopNotInstalled(f"{domain} must open Nu3D in the Shopify admin again to re-authorize")
        if not force_refresh and not needs_refresh(shop.access_token_expires_at):
            return self.cipher.decrypt(shop.access_token_enc or "")
        async with self._lock(domain):
            # Another task may have refreshed while we waited for the lock.
            shop = await asyncio.to_thread(self._load, domain)
            if shop.needs_reauth:
                raise ShopNotInstalled(f"{domain} must open Nu3D in the Shopify admin again to re-authorize")
            if not needs_refresh(shop.access_token_expires_at) and not force_refresh:
                return self.cipher.decrypt(shop.access_token_enc or "")
            return await self._refresh(shop)

    async def refresh_if_needed(self, domain: str) -> bool:
        """Refresh when the token is near expiry (the scheduler's job). True when a refresh happened."""
        shop = await asyncio.to_thread(self._load, domain)
        if shop.needs_reauth or not needs_refresh(shop.access_token_expires_at):
            return False
        before = shop.access_token_enc
        await self.access_token(domain)
        return (await asyncio.to_thread(self._load, domain)).access_token_enc != before

    async def _refresh(self, shop: Shop) -> str:
        domain = shop.domain
        if not shop.refresh_token_enc:
            await asyncio.to_thread(self._mark_reauth, shop.id, "no refresh token stored")
            raise ShopNotInstalled(f"{domain}'s token expired and cannot be refreshed; open Nu3D again")
        used_refresh_enc = shop.refresh_token_enc
        refresh_token = self.cipher.decrypt(used_refresh_enc)
        if shop.refresh_token_expires_at is not None and shop.refresh_token_expires_at <= utcnow():
            await asyncio.to_thread(self._mark_reauth, shop.id, "refresh token expired")
            raise ShopNotInstalled(f"{domain}'s refresh token expired; open Nu3D again")
        try:
            grant = await self.oauth.refresh(domain, refresh_token)
        except ShopifyAuthError as err:
            flagged = await asyncio.to_thread(self._mark_reauth, shop.id, err.message, used_refresh_enc)
            if not flagged:
                # Another process rotated the pair while our refresh failed; its token is the valid one.
                logger.info("refresh of %s failed but the pair was rotated elsewhere; using it", domain)
                return self.cipher.decrypt(self._load(domain).access_token_enc or "")
            raise ShopNotInstalled(f"{domain} must re-authorize: {err.message}") from None
        stored = await asyncio.to_thread(self._store_refreshed, shop.id, used_refresh_enc, grant)
        if not stored:
            # Another process rotated the pair first; its token is the valid one.
            logger.info("token for %s was refreshed elsewhere; using the stored pair", domain)
            return self.cipher.decrypt(self._load(domain).access_token_enc or "")
        logger.info("refreshed the offline token of %s", domain)
        return grant.access_token

    def _store_refreshed(self, shop_id: int | None, used_refresh_enc: str, grant: TokenGrant) -> bool:
        probe = Shop(domain="-")
        apply_grant(probe, grant, self.cipher)
        with write_scope(self.engine) as session:
            result = session.execute(
                update(Shop)
                .where(Shop.id == shop_id, Shop.refresh_token_enc == used_refresh_enc)  # type: ignore[arg-type]
                .values(
                    access_token_enc=probe.access_token_enc,
                    access_token_expires_at=probe.access_token_expires_at,
                    refresh_token_enc=probe.refresh_token_enc,
                    refresh_token_expires_at=probe.refresh_token_expires_at,
                    scopes=probe.scopes or Shop.scopes,
                    needs_reauth=False,
                    updated_at=probe.updated_at,
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _mark_reauth(self, shop_id: int | None, reason: str, used_refresh_enc: str | None = None) -> bool:
        """Flag the shop for re-authorization; with `used_refresh_enc`, only if no one rotated the pair since.

        Returns whether the flag was set.
        """
        condition = Shop.id == shop_id
        if used_refresh_enc is not None:
            condition = condition & (Shop.refresh_token_enc == used_refresh_enc)
        with write_scope(self.engine) as session:
            result = session.execute(update(Shop).where(condition).values(needs_reauth=True))  # type: ignore[arg-type]
        if result.rowcount:  # type: ignore[attr-defined]
            logger.warning("shop %s needs re-authorization: %s", shop_id, reason)
        return bool(result.rowcount)  # type: ignore[attr-defined]
