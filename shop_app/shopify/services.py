"""The Shopify-facing services one process shares (built by the web lifespan or the scheduler)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import select

from shop_app.db import write_scope
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.shopify import ScanState
from shop_app.settings import Settings
from shop_app.shopify.admin import AdminClient, RetryPolicy
from shop_app.shopify.errors import ShopifyError
from shop_app.shopify.oauth import OAuthClient, TokenGrant
from shop_app.shopify.operations import SHOP_INFO
from shop_app.shopify.tokens import TokenCipher, TokenManager, save_install

logger = logging.getLogger(__name__)


@dataclass
class ShopifyServices:
    settings: Settings
    engine: Engine
    http: httpx.AsyncClient
    oauth: OAuthClient
    cipher: TokenCipher
    tokens: TokenManager
    retry: RetryPolicy

    def admin(self, shop: str) -> AdminClient:
        """An Admin API client for `shop` that always uses a fresh (refreshed if needed) offline token."""

        async def token() -> str:
            return await self.tokens.access_token(shop)

        return AdminClient(
            http=self.http,
            shop=shop,
            token=token,
            admin_base=self.settings.shopify_admin_base,
            retry=self.retry,
        )

    async def complete_install(self, shop: str, grant: TokenGrant) -> Shop:
        """Store a token pair from token exchange or the code grant; on a (re)install, learn the shop's
        name and timezone and start its product scan from the beginning of its current day."""
        row = self._save(shop, grant)
        try:
            data = await self.admin(shop).execute(SHOP_INFO)
            info = data.get("shop") or {}
            row = self._update_info(row.id, info.get("name"), info.get("ianaTimezone"))
        except ShopifyError as err:  # the install stands; the scan falls back to UTC
            logger.warning("could not read shop info of %s after install: %s", shop, err.message)
        self._ensure_scan_state(row)
        return row

    def _save(self, shop: str, grant: TokenGrant) -> Shop:
        with write_scope(self.engine) as session:
            row = save_install(session, domain=shop, grant=grant, cipher=self.cipher)
        logger.info("stored an offline token for %s (expires %s)", shop, row.access_token_expires_at)
        return row

    def _update_info(self, shop_id: int | None, name: object, timezone: object) -> Shop:
        with write_scope(self.engine) as session:
            row = session.get(Shop, shop_id)
            assert row is not None  # noqa: S101 - just written
            if isinstance(name, str):
                row.name = name[:255]
            if isinstance(timezone, str):
                row.iana_timezone = timezone[:64]
            session.add(row)
        return row

    def _ensure_scan_state(self, shop: Shop) -> None:
        with write_scope(self.engine) as session:
            state = session.exec(select(ScanState).where(ScanState.shop_id == shop.id)).first()
            if state is None:
                session.add(ScanState(shop_id=shop.id, watermark=start_of_day(shop.iana_timezone)))  # type: ignore[arg-type]


def start_of_day(timezone: str | None, *, now: datetime | None = None) -> datetime:
    """Midnight of the current day in the shop's timezone (UTC when unknown), as a UTC datetime."""
    try:
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = (now or utcnow()).astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    return midnight.astimezone(ZoneInfo("UTC"))


def make_shopify_services(settings: Settings, engine: Engine, http: httpx.AsyncClient) -> ShopifyServices:
    oauth = OAuthClient(
        http=http,
        api_key=settings.shopify_api_key,
        api_secret=settings.shopify_api_secret.get_secret_value(),
        admin_base=settings.shopify_admin_base,
    )
    cipher = TokenCipher(settings.token_encryption_key.get_secret_value())
    return ShopifyServices(
        settings=settings,
        engine=engine,
        http=http,
        oauth=oauth,
        cipher=cipher,
        tokens=TokenManager(engine=engine, oauth=oauth, cipher=cipher),
        retry=RetryPolicy(),
    )
