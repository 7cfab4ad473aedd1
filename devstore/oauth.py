"""OAuth for the devstore's shops: authorization-code grant, token exchange, expiring offline tokens.

Follows shopify-facts.md §1.2 and §1.4:
- ``/admin/oauth/authorize`` redirects to the app's ``redirect_uri`` with ``code, hmac, host, shop, state,
  timestamp`` (hex HMAC-SHA256 of the sorted query, keyed with the client secret).
- ``/admin/oauth/access_token`` accepts JSON or form bodies for the authorization-code grant, token
  exchange (``urn:ietf:params:oauth:grant-type:token-exchange`` with an ``id_token`` subject, or a
  non-expiring offline token to migrate) and the ``refresh_token`` grant. With ``expiring=1`` offline
  tokens last 3,600 s and come with a 90-day refresh token that is rotated on every use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt

from devstore.config import DevstoreConfig
from devstore.errors import DevstoreError, OAuthError
from devstore.records import AccessToken, AuthCode, RefreshToken, Shop
from devstore.state import Store

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"
INVALID_SUBJECT = "Token exchange cannot be performed due to an invalid subject token."
MIGRATION_RETRY_DAYS = 7


def _escape(value: str, *, key: bool = False) -> str:
    value = value.replace("%", "%25").replace("&", "%26")
    return value.replace("=", "%3D") if key else value


def query_hmac(params: list[tuple[str, str]] | dict[str, str], secret: str) -> str:
    """Shopify's query-string HMAC: drop ``hmac``/``signature``, sort ``key=value`` pairs, join with ``&``,
    HMAC-SHA256 with the client secret, hex digest."""
    items = params.items() if isinstance(params, dict) else params
    pairs = sorted(f"{_escape(k, key=True)}={_escape(v)}" for k, v in items if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), "&".join(pairs).encode(), hashlib.sha256).hexdigest()


def host_param(shop: str) -> str:
    """The ``host`` parameter: base64 of ``admin.shopify.com/store/{handle}``, padding stripped."""
    handle = shop.split(".", 1)[0]
    return base64.b64encode(f"admin.shopify.com/store/{handle}".encode()).decode().rstrip("=")


def mint_session_token(
    shop: str,
    client_id: str,
    secret: str,
    *,
    sub: str = "1",
    exp_in: int = 60,
    now: datetime | None = None,
    nbf_offset: int = 0,
    sid: str | None = None,
    jti: str | None = None,
    dest: str | None = None,
    iss: str | None = None,
    aud: str | None = None,
) -> str:
    """An App Bridge session (ID) token with Shopify's claims, HS256-signed with the app secret.

    ``exp_in`` may be negative to mint an already-expired token; ``nbf_offset`` moves ``nbf`` relative to
    ``iat``; ``dest``/``iss``/``aud`` override the claims to build deliberately wrong tokens in tests.
    """
    issued = int((now or datetime.now().astimezone()).timestamp())
    claims = {
        "iss": iss if iss is not None else f"https://{shop}/admin",
        "dest": dest if dest is not None else f"https://{shop}",
        "aud": aud if aud is not None else client_id,
        "sub": str(sub),
        "exp": issued + exp_in,
        "nbf": issued + nbf_offset,
        "iat": issued,
        "jti": jti or str(uuid.uuid4()),
        "sid": sid or hashlib.sha256(f"{shop}:{client_id}:{sub}".encode()).hexdigest()[:32],
        "sig": secrets.token_hex(32),
    }
    with warnings.catch_warnings():
        # Shopify's secrets are long; tests may use short ones, which PyJWT only warns about.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


@dataclass
class TokenService:
    store: Store
    config: DevstoreConfig

    # ---- authorize ----------------------------------------------------------------------------------
    def authorize_redirect(self, shop: Shop, params: list[tuple[str, str]]) -> str:
        """Approve an authorization request as the merchant would and return the redirect URL."""
        q = dict(params)
        client_id = q.get("client_id", "")
        app = self.store.apps.get(client_id)
        if app is None:
            raise OAuthError(
                "invalid_request", f"The app with client_id '{client_id}' was not found.", status_code=404
            )
        redirect_uri = q.get("redirect_uri") or f"{app.app_url.rstrip('/')}/auth/callback"
        if not redirect_uri.startswith(app.app_url.rstrip("/")):
            raise OAuthError("invalid_request", "The redirect_uri is not whitelisted")
        if not q.get("state"):
            raise OAuthError("invalid_request", "The state parameter is required")
        scopes = [s.strip() for s in q.get("scope", ",".join(app.scopes)).split(",") if s.strip()]
        unknown = set(scopes) - set(app.scopes)
        if unknown:
            raise OAuthError("invalid_scope", f"Scopes not declared by the app: {', '.join(sorted(unknown))}")
        online = "per-user" in [v for k, v in params if k in ("grant_options[]", "grant_options")]
        if client_id not in shop.installs:
            self.store.install_app(shop, client_id, scopes=scopes)
        elif set(scopes) != set(shop.installs[client_id].scopes):
            # the merchant approved a different scope set: Shopify updates the grant and says so by webhook
            self.store.update_scopes(shop, client_id, scopes)
        now = self.store.now()
        code = secrets.token_hex(16)
        with self.store.lock:
            self.store.auth_codes[code] = AuthCode(
                code=code,
                shop=shop.domain,
                client_id=client_id,
                scopes=scopes,
                expires_at=now + timedelta(seconds=self.config.auth_code_ttl_s),
                online=online,
            )
        answer = [
            ("code", code),
            ("host", host_param(shop.domain)),
            ("shop", shop.domain),
            ("state", q["state"]),
            ("timestamp", str(int(now.timestamp()))),
        ]
        answer.append(("hmac", query_hmac(answer, app.client_secret)))
        sep = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{sep}{urlencode(answer)}"

    # ---- access_token -------------------------------------------------------------------------------
    def access_token(self, shop: Shop, body: dict[str, Any]) -> dict[str, Any]:
        client_id = str(body.get("client_id") or "")
        secret = str(body.get("client_secret") or "")
        app = self.store.apps.get(client_id)
        if app is None or not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
            raise OAuthError(
                "invalid_client",
                "Client authentication failed: unknown client_id or wrong client_secret.",
                status_code=401,
            )
        grant = body.get("grant_type")
        if grant in (None, "", "authorization_code"):
            return self._code_grant(shop, client_id, body)
        if grant == TOKEN_EXCHANGE:
            return self._token_exchange(shop, client_id, body)
        if grant == "refresh_token":
            return self._refresh(shop, client_id, body)
        raise OAuthError("unsupported_grant_type", f"The grant type {grant!r} is not supported.")

    def _expiring(self, body: dict[str, Any]) -> bool:
        value = str(body.get("expiring", "0"))
        if value not in ("0", "1"):
            raise OAuthError("invalid_request", "expiring must be '1' or '0'")
        return value == "1"

    def _code_grant(self, shop: Shop, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        code = str(body.get("code") or "")
        with self.store.lock:
            record = self.store.auth_codes.pop(code, None)
        now = self.store.now()
        if (
            record is None
            or record.shop != shop.domain
            or record.client_id != client_id
            or record.expires_at <= now
        ):
            raise OAuthError("invalid_request", "The authorization code was not found or was already used")
        if record.online:
            return self._issue_online(shop, client_id, record.scopes, user_id=1)
        return self._issue_offline(shop, client_id, record.scopes, expiring=self._expiring(body))

    def _verify_subject(self, shop: Shop, client_id: str, token: str) -> dict[str, Any]:
        secret = self.store.apps[client_id].client_secret
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=["HS256"],
                    audience=client_id,
                    options={"require": ["iss", "dest", "aud", "sub", "exp", "nbf", "iat", "jti", "sid"]},
                )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_subject_token", INVALID_SUBJECT) from exc
        if claims["dest"] != f"https://{shop.domain}" or not str(claims["iss"]).startswith(claims["dest"]):
            raise OAuthError("invalid_subject_token", INVALID_SUBJECT)
        return claims

    def _token_exchange(self, shop: Shop, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        subject = str(body.get("subject_token") or "")
        subject_type = body.get("subject_token_type")
        requested = body.get("requested_token_type")
        if not requested:
            raise OAuthError("invalid_request", "Missing required parameter: requested_token_type")
        if requested not in (OFFLINE_TYPE, ONLINE_TYPE):
            raise OAuthError("invalid_request", f"requested_token_type {requested!r} is not supported")
        if subject_type == OFFLINE_TYPE:
            return self._migrate(shop, client_id, subject, requested, body)
        if subject_type != ID_TOKEN_TYPE:
            raise OAuthError("invalid_request", f"subject_token_type {subject_type!r} is not supported")
        claims = self._verify_subject(shop, client_id, subject)
        install = shop.installs.get(client_id)
        if install is None:
            raise OAuthError("invalid_subject_token", INVALID_SUBJECT)
        if requested == ONLINE_TYPE:
            return self._issue_online(shop, client_id, install.scopes, user_id=int(claims["sub"]))
        return self._issue_offline(shop, client_id, install.scopes, expiring=self._expiring(body))

    def _migrate(
        self, shop: Shop, client_id: str, subject: str, requested: str, body: dict[str, Any]
    ) -> dict:
        if requested != OFFLINE_TYPE or not self._expiring(body):
            raise OAuthError(
                "invalid_request",
                "Migration requires requested_token_type offline-access-token and expiring=1",
            )
        now = self.store.now()
        with self.store.lock:
            done = self.store.migrations.get(subject)
            if done is not None and done[1] > now:
                # retrying a migration within 7 days returns the same pair
                return done[0]
            token = self.store.access_tokens.get(subject)
            if (
                token is None
                or token.shop != shop.domain
                or token.client_id != client_id
                or token.online
                or token.expires_at is not None
            ):
                raise OAuthError("invalid_subject_token", INVALID_SUBJECT)
            answer = self._issue_offline(shop, client_id, token.scopes, expiring=True)
            del self.store.access_tokens[subject]
            self.store.migrations[subject] = (answer, now + timedelta(days=MIGRATION_RETRY_DAYS))
            return answer

    def _refresh(self, shop: Shop, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        value = str(body.get("refresh_token") or "")
        now = self.store.now()
        with self.store.lock:
            record = self.store.refresh_tokens.get(value)
            if record is None or record.shop != shop.domain or record.client_id != client_id:
                raise OAuthError("invalid_grant", "The refresh token is invalid or has been revoked.")
            if record.expires_at <= now:
                raise OAuthError("invalid_grant", "The refresh token has expired.")
            if record.replaced_by is not None:
                successor = self.store.refresh_tokens.get(record.replaced_by)
                if successor is None or successor.used:
                    raise OAuthError("invalid_grant", "The refresh token has already been used.")
                # retry of a refresh whose answer was lost: the same replacement pair
                return self._answer_for(successor)
            if client_id not in shop.installs:
                raise OAuthError("invalid_grant", "The app is not installed on this shop.")
            record.used = True
            answer = self._issue_offline(shop, client_id, record.scopes, expiring=True)
            record.replaced_by = answer["refresh_token"]
            # once the replacement is issued the old access token stops working
            for token in self.store.access_tokens.values():
                if token.refresh_token == record.token:
                    token.expires_at = now
            return answer

    def _answer_for(self, refresh: RefreshToken) -> dict[str, Any]:
        access = next(t for t in self.store.access_tokens.values() if t.refresh_token == refresh.token)
        now = self.store.now()
        return {
            "access_token": access.token,
            "scope": ",".join(access.scopes),
            "expires_in": max(0, int((access.expires_at - now).total_seconds())) if access.expires_at else 0,
            "refresh_token": refresh.token,
            "refresh_token_expires_in": max(0, int((refresh.expires_at - now).total_seconds())),
        }

    def _issue_offline(
        self, shop: Shop, client_id: str, scopes: list[str], *, expiring: bool
    ) -> dict[str, Any]:
        now = self.store.now()
        access = AccessToken(
            token="shpat_" + secrets.token_hex(16),
            shop=shop.domain,
            client_id=client_id,
            scopes=list(scopes),
            expires_at=None,
        )
        answer: dict[str, Any] = {"access_token": access.token, "scope": ",".join(scopes)}
        with self.store.lock:
            if expiring:
                refresh = RefreshToken(
                    token="shprt_" + secrets.token_hex(24),
                    shop=shop.domain,
                    client_id=client_id,
                    scopes=list(scopes),
                    expires_at=now + timedelta(seconds=self.config.refresh_token_ttl_s),
                )
                access.expires_at = now + timedelta(seconds=self.config.access_token_ttl_s)
                access.refresh_token = refresh.token
                self.store.refresh_tokens[refresh.token] = refresh
                answer.update(
                    expires_in=self.config.access_token_ttl_s,
                    refresh_token=refresh.token,
                    refresh_token_expires_in=self.config.refresh_token_ttl_s,
                )
            self.store.access_tokens[access.token] = access
        return answer

    def _issue_online(self, shop: Shop, client_id: str, scopes: list[str], *, user_id: int) -> dict[str, Any]:
        now = self.store.now()
        access = AccessToken(
            token="shpua_" + secrets.token_hex(16),
            shop=shop.domain,
            client_id=client_id,
            scopes=list(scopes),
            expires_at=now + timedelta(seconds=self.config.online_token_ttl_s),
            online=True,
            user_id=user_id,
        )
        with self.store.lock:
            self.store.access_tokens[access.token] = access
        return {
            "access_token": access.token,
            "scope": ",".join(scopes),
            "expires_in": self.config.online_token_ttl_s,
            "associated_user_scope": ",".join(scopes),
            "associated_user": {
                "id": user_id,
                "first_name": "Dev",
                "last_name": f"User {user_id}",
                "email": f"user{user_id}@{shop.domain.split('.', 1)[0]}.example",
                "email_verified": True,
                "account_owner": user_id == 1,
                "locale": "en",
                "collaborator": False,
            },
        }


def parse_token_body(raw: bytes, content_type: str) -> dict[str, Any]:
    import json
    from urllib.parse import parse_qsl

    if content_type.startswith("application/json"):
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise OAuthError("invalid_request", "The request body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise OAuthError("invalid_request", "The request body must be a JSON object.")
        return body
    if content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        return dict(parse_qsl(raw.decode("utf-8", "replace")))
    raise DevstoreError(
        f"unsupported Content-Type {content_type!r}: use application/json or form encoding", status_code=415
    )
