"""App Bridge session tokens (ID tokens): HS256 JWTs signed with the app secret, valid for one minute.

ShopifyAPI's `shopify.session_token` checks the signature, algorithm, audience, iss/dest and the claims it
requires; it does not require `exp` or `nbf`, so a token without them would never expire. We require both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from shopify import session_token as shopify_session_token

from shop_app.shopify.domains import is_valid_shop_domain
from shop_app.shopify.errors import InvalidSessionToken

logger = logging.getLogger(__name__)

LEEWAY_S = 10  # the same clock-skew allowance Shopify's own libraries use


@dataclass(frozen=True)
class SessionToken:
    """The verified claims we use. `shop` is the only trusted source of the shop for a request."""

    raw: str
    shop: str
    user_id: str
    session_id: str
    jti: str
    expires_at: int


def verify_session_token(token: str | None, *, api_key: str, api_secret: str) -> SessionToken:
    """Verify a session token; raise InvalidSessionToken with the reason (logged) when it is not acceptable."""
    if not token:
        raise _reject("missing")
    if len(token) > 4096:
        raise _reject("too long")
    try:
        # The library wants the header form; it pins HS256 (so `alg: none` fails) and the 10 s leeway.
        payload = shopify_session_token.decode_from_header(f"Bearer {token}", api_key, api_secret)
    except shopify_session_token.SessionTokenError as err:
        raise _reject(_describe(err)) from None
    for claim in ("exp", "nbf"):
        if not isinstance(payload.get(claim), int | float):
            raise _reject(f"claim {claim!r} is required")
    dest_host = urlsplit(str(payload["dest"])).hostname or ""
    iss = urlsplit(str(payload["iss"]))
    if not is_valid_shop_domain(dest_host) or (iss.hostname or "") != dest_host:
        raise _reject("iss/dest do not name one myshopify.com shop")
    if iss.scheme != "https" or urlsplit(str(payload["dest"])).scheme != "https":
        raise _reject("iss/dest must be https URLs")
    return SessionToken(
        raw=token,
        shop=dest_host,
        user_id=str(payload["sub"]),
        session_id=str(payload["sid"]),
        jti=str(payload["jti"]),
        expires_at=int(payload["exp"]),
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token from `Authorization: Bearer <token>` (scheme case-insensitive), or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _describe(err: Exception) -> str:
    cause = err.__cause__
    if isinstance(cause, jwt.ExpiredSignatureError):
        return "expired"
    if isinstance(cause, jwt.ImmatureSignatureError):
        return "not yet valid (nbf in the future)"
    if isinstance(cause, jwt.InvalidAudienceError):
        return "issued for another app (aud)"
    if isinstance(cause, jwt.InvalidSignatureError):
        return "bad signature"
    if isinstance(cause, jwt.InvalidAlgorithmError):
        return "algorithm not allowed"
    if isinstance(err, shopify_session_token.InvalidIssuerError):
        return "issuer is not a myshopify.com shop"
    if isinstance(err, shopify_session_token.MismatchedHostsError):
        return "iss and dest name different shops"
    return str(err)[:200] or type(err).__name__


def _reject(reason: str) -> InvalidSessionToken:
    logger.info("session token rejected: %s", reason)
    return InvalidSessionToken(reason)
