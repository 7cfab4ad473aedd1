"""Session-token verification: ShopifyAPI's checks plus our own (exp and nbf required, https iss/dest of one shop)."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import jwt
import pytest

from shop_app.shopify.errors import InvalidSessionToken
from shop_app.shopify.session_token import bearer_token, verify_session_token

KEY = "client-id-123"
SECRET = "shpss_0123456789abcdef0123456789abcdef"
SHOP = "acme.myshopify.com"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": KEY,
        "sub": "42",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sid": "session-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(secret: str = SECRET, **overrides: object) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def verify(raw: str | None) -> object:
    return verify_session_token(raw, api_key=KEY, api_secret=SECRET)


def test_valid_token_names_the_shop_from_dest() -> None:
    verified = verify(token())
    assert verified.shop == SHOP and verified.user_id == "42" and verified.session_id == "session-1"


def test_ten_seconds_of_clock_skew_are_accepted() -> None:
    now = int(time.time())
    assert verify(token(exp=now - 5, nbf=now - 65, iat=now - 65)).shop == SHOP
    assert verify(token(nbf=now + 5)).shop == SHOP


def _alg_none() -> str:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."


BAD = {
    "forged (other secret)": lambda: token(secret="shpss_not-the-app-secret-0123456789abcdef"),
    "expired": lambda: token(exp=int(time.time()) - 30),
    "not yet valid": lambda: token(nbf=int(time.time()) + 60),
    "alg none": _alg_none,
    "alg HS384": lambda: jwt.encode(claims(), SECRET + "x" * 10, algorithm="HS384"),
    "wrong audience": lambda: token(aud="another-app"),
    "no audience": lambda: token(aud=None),
    "no exp": lambda: token(exp=None),
    "no nbf": lambda: token(nbf=None),
    "no sub": lambda: token(sub=None),
    "iss and dest differ (wrong shop)": lambda: token(dest="https://other-shop.myshopify.com"),
    "dest evil.com": lambda: token(iss="https://evil.com/admin", dest="https://evil.com"),
    "dest suffix attack": lambda: token(
        iss="https://x.myshopify.com.evil.com/admin", dest="https://x.myshopify.com.evil.com"
    ),
    "http dest": lambda: token(iss=f"http://{SHOP}/admin", dest=f"http://{SHOP}"),
    "garbage": lambda: "not.a.jwt",
    "empty": lambda: "",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_tokens_are_rejected_with_a_logged_reason(case: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="shop_app.shopify.session_token"):
        with pytest.raises(InvalidSessionToken) as err:
            verify(BAD[case]())
    assert err.value.status_code == 401
    assert err.value.headers == {"X-Shopify-Retry-Invalid-Session-Request": "1"}
    assert "session token rejected" in caplog.text and err.value.reason in caplog.text


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None
