"""OAuth pieces: the query HMAC Shopify signs install/callback URLs with, the signed state cookie, and the token
grants (authorization code, token exchange, refresh) against `/admin/oauth/access_token`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from shop_app.shopify.domains import shop_base_url
from shop_app.shopify.errors import InvalidOAuthRequest, ShopifyAuthError, ShopifyError, ShopifyUnavailable

logger = logging.getLogger(__name__)

MAX_QUERY_AGE_S = 90  # Shopify's Node library accepts install/callback timestamps within 90 s of now
STATE_TTL_S = 300
STATE_COOKIE = "nu3d_oauth_state"
GRANT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
GRANT_ATTEMPTS = 3

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"


# ---------------------------------------------------------------- query HMAC


def query_hmac(params: Iterable[tuple[str, str]], secret: str) -> str:
    """Hex HMAC-SHA256 of a Shopify-signed query: pairs minus `hmac`/`signature`, escaped, sorted, joined by &.

    Keys ending in `[]` are folded into one JSON list value (`ids=["1", "2"]`) as Shopify does.
    """
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        if key in {"hmac", "signature"}:
            continue
        grouped.setdefault(key, []).append(value)
    pairs = []
    for key, values in grouped.items():
        if key.endswith("[]"):
            name, value = key[:-2], json.dumps(values)
        else:
            name, value = key, values[-1]
        name = name.replace("%", "%25").replace("=", "%3D")
        value = value.replace("%", "%25")
        pairs.append(f"{name}={value}".replace("&", "%26"))
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_query(params: list[tuple[str, str]], secret: str, *, now: float | None = None) -> None:
    """Check a Shopify-signed query's `hmac` (constant time) and `timestamp` freshness; raise InvalidOAuthRequest."""
    values = dict(params)
    given = values.get("hmac")
    if not given:
        raise _invalid("missing hmac")
    if not hmac.compare_digest(query_hmac(params, secret).encode(), given.encode()):
        raise _invalid("hmac does not match the query")
    try:
        timestamp = int(values.get("timestamp", ""))
    except ValueError:
        raise _invalid("missing or malformed timestamp") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_QUERY_AGE_S:
        raise _invalid("timestamp is too old or in the future; start again from the Shopify admin")


def _invalid(reason: str) -> InvalidOAuthRequest:
    logger.info("OAuth query rejected: %s", reason)
    return InvalidOAuthRequest(f"invalid Shopify request: {reason}")


# ---------------------------------------------------------------- state cookie


def new_state() -> str:
    return secrets.token_hex(32)


def sign_state(nonce: str, shop: str, secret: str, *, now: float | None = None) -> str:
    """Cookie value binding the nonce to the shop, expiring after STATE_TTL_S."""
    expires = int((time.time() if now is None else now) + STATE_TTL_S)
    body = f"{nonce}.{expires}.{shop}"  # nonce and expiry hold no dots; the shop goes last
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{sig}"


def check_state(
    cookie: str | None, state: str | None, shop: str, secret: str, *, now: float | None = None
) -> None:
    if not cookie or not state:
        raise _invalid("missing OAuth state (cookie or parameter); start the install again")
    try:
        body, sig = cookie.rsplit(".", 1)
        nonce, expires_s, cookie_shop = body.split(".", 2)
        expires = int(expires_s)
    except ValueError:
        raise _invalid("malformed OAuth state cookie") from None
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise _invalid("OAuth state cookie signature is invalid")
    if expires < (time.time() if now is None else now):
        raise _invalid("OAuth state expired; start the install again")
    if not hmac.compare_digest(nonce.encode(), state.encode()):
        raise _invalid("OAuth state does not match")
    if cookie_shop != shop:
        raise _invalid("OAuth state was issued for another shop")


def authorize_url(
    *, shop: str, admin_base: str | None, api_key: str, scopes: str, redirect_uri: str, state: str
) -> str:
    query = urlencode({"client_id": api_key, "scope": scopes, "redirect_uri": redirect_uri, "state": state})
    # grant_options[] left empty: we want an offline (shop) token, not a per-user one.
    return f"{shop_base_url(shop, admin_base)}/admin/oauth/authorize?{query}&grant_options%5B%5D="


# ---------------------------------------------------------------- token grants


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    scope: str
    expires_in: int | None
    refresh_token: str | None
    refresh_token_expires_in: int | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TokenGrant:
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise ShopifyError("token response has no access_token")

        def opt_int(name: str) -> int | None:
            value = body.get(name)
            return int(value) if isinstance(value, int | str) and str(value).isdigit() else None

        refresh = body.get("refresh_token")
        return cls(
            access_token=token,
            scope=str(body.get("scope") or ""),
            expires_in=opt_int("expires_in"),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            refresh_token_expires_in=opt_int("refresh_token_expires_in"),
        )


@dataclass(frozen=True)
class OAuthClient:
    """Calls a shop's `/admin/oauth/access_token` with the app credentials."""

    http: httpx.AsyncClient
    api_key: str
    api_secret: str
    admin_base: str | None = None

    async def exchange_code(self, shop: str, code: str) -> TokenGrant:
        return await self._grant(shop, {"code": code, "expiring": "1"}, "authorization code")

    async def exchange_session_token(self, shop: str, session_token: str) -> TokenGrant:
        body = {
            "grant_type": TOKEN_EXCHANGE_GRANT,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN_TYPE,
            "requested_token_type": OFFLINE_TOKEN_TYPE,
            "expiring": "1",
        }
        return await self._grant(shop, body, "token exchange")

    async def refresh(self, shop: str, refresh_token: str) -> TokenGrant:
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._grant(shop, body, "token refresh")

    async def _grant(self, shop: str, body: dict[str, str], what: str) -> TokenGrant:
        url = f"{shop_base_url(shop, self.admin_base)}/admin/oauth/access_token"
        payload = {"client_id": self.api_key, "client_secret": self.api_secret, **body}
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(ShopifyUnavailable),
            stop=stop_after_attempt(GRANT_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.2, max=2.0),
            reraise=True,
        ):
            with attempt:
                return await self._post(url, payload, shop, what)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, url: str, payload: dict[str, str], shop: str, what: str) -> TokenGrant:
        try:
            resp = await self.http.post(
                url, json=payload, headers={"Accept": "application/json"}, timeout=GRANT_TIMEOUT
            )
        except httpx.HTTPError as err:
            raise ShopifyUnavailable(f"{what} failed: {type(err).__name__}: {err}", shop=shop) from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise ShopifyUnavailable(
                f"{what} failed: Shopify answered {resp.status_code}", shop=shop, http_status=resp.status_code
            )
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code != 200 or not isinstance(data, dict):
            message = _oauth_message(data) or resp.text[:200]
            logger.warning("%s for %s refused (%s): %s", what, shop, resp.status_code, message)
            raise ShopifyAuthError(f"{what} refused: {message}", shop=shop, http_status=resp.status_code)
        return TokenGrant.from_json(data)


def _oauth_message(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    error, description = data.get("error"), data.get("error_description")
    if isinstance(error, str):
        return f"{error}: {description}" if description else error
    if isinstance(data.get("errors"), str):
        return str(data["errors"])
    return None
