"""Bearer JWTs from the operator's identity provider (Clerk or any OIDC issuer), verified with PyJWT.

Two ways to trust a token, chosen by settings (exactly one):
- `NU3D_JWT_JWKS_URL`: asymmetric keys (RS256/ES256 by default) published as a JWK Set. PyJWT's PyJWKClient
  caches the set for `NU3D_JWT_JWKS_CACHE_S` and refetches it when a token names a `kid` it does not hold
  (key rotation), at most once per `NU3D_JWT_JWKS_COOLDOWN_S` so random `kid`s cannot hammer the provider.
- `NU3D_JWT_HS256_SECRET`: a shared secret (for providers that sign with HS256, and local development).

Every token must be signed by a trusted key with an allowed algorithm, carry `sub` and `exp`, be inside its
`exp`/`nbf` window (with `NU3D_JWT_LEEWAY_S` of clock skew), and match `NU3D_JWT_ISSUER`,
`NU3D_JWT_AUDIENCE` and `NU3D_JWT_AUTHORIZED_PARTIES` when those are set. `verify()` blocks (it may fetch
the key set): web handlers run it in a thread.

This module knows nothing about HTTP: a rejected token raises `TokenRejected` with a `reason` that each API
family renders in its own error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from jwt import PyJWKClient

if TYPE_CHECKING:
    from shop_app.settings import Settings

logger = logging.getLogger(__name__)

# Asymmetric algorithms a JWKS-configured verifier may accept. HS* is never accepted with a JWK Set: a token
# "signed" with the public key as an HMAC secret is the classic algorithm-confusion attack.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
REQUIRED_CLAIMS = ("sub", "exp")
_KEY_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",)}


class TokenRejected(Exception):
    """The bearer token cannot be trusted. `reason` is one of REASONS; the message is safe to show the caller."""

    REASONS = frozenset(
        {
            "malformed",  # not a JWT at all
            "algorithm",  # alg not allowed (none, HS256 with a JWK Set, ...)
            "unknown_key",  # kid not in the key set, even after refetching it
            "signature",  # signed by someone else, or altered
            "expired",  # exp is in the past
            "not_yet_valid",  # nbf (or iat) is in the future
            "issuer",  # iss differs from NU3D_JWT_ISSUER
            "audience",  # aud does not include NU3D_JWT_AUDIENCE
            "authorized_party",  # azp not in NU3D_JWT_AUTHORIZED_PARTIES
            "missing_claim",  # no sub or no exp
        }
    )

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"TokenRejected(reason={self.reason!r}, message={self.message!r})"


class KeySetUnavailable(Exception):
    """The JWK Set could not be fetched (the identity provider is down or misconfigured); not the caller's fault."""


def _first(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class TokenPrincipal:
    """Who a verified token speaks for: the subject plus the profile claims the provider put in the token.

    Profile fields accept both OIDC names (`email`, `given_name`, `family_name`, `picture`) and the names
    Clerk session-token templates commonly use (`first_name`, `firstName`, `image_url`, ...); all optional.
    """

    subject: str
    issuer: str | None
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def owner_id(self) -> str:
        """A stable owner label for job rows: the subject (one issuer is trusted, so subjects are unique)."""
        return self.subject

    @property
    def email(self) -> str | None:
        return _first(self.claims, "email", "email_address", "primary_email_address", "primaryEmailAddress")

    @property
    def first_name(self) -> str | None:
        return _first(self.claims, "given_name", "first_name", "firstName")

    @property
    def last_name(self) -> str | None:
        return _first(self.claims, "family_name", "last_name", "lastName")

    @property
    def image_url(self) -> str | None:
        return _first(self.claims, "picture", "image_url", "imageUrl", "avatar_url")

    @property
    def username(self) -> str | None:
        return _first(self.claims, "preferred_username", "username", "nickname")


@dataclass(frozen=True)
class JwtConfig:
    """Parameters:
    jwks_url: where the provider publishes its public keys (Clerk: https://<frontend-api>/.well-known/jwks.json).
    hs256_secret: a shared HMAC secret instead of a JWK Set (at least 32 bytes).
    issuer: required `iss`, or None to accept any issuer the keys vouch for.
    audience: required `aud` entry, or None to skip the audience check (Clerk session tokens carry none).
    authorized_parties: allowed `azp` values (Clerk's origin check); empty = not checked.
    algorithms: algorithms accepted with a JWK Set.
    leeway_s: clock skew tolerated on exp/nbf/iat.
    jwks_cache_s: how long a fetched key set is trusted before it is fetched again.
    jwks_cooldown_s: least time between refetches forced by an unknown kid.
    jwks_timeout_s: timeout of one key-set fetch.
    """

    jwks_url: str | None = None
    hs256_secret: str | None = field(default=None, repr=False)
    issuer: str | None = None
    audience: str | None = None
    authorized_parties: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_s: float = 10.0
    jwks_cache_s: float = 300.0
    jwks_cooldown_s: float = 10.0
    jwks_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if (self.jwks_url is None) == (self.hs256_secret is None):
            raise ValueError("configure exactly one of jwks_url and hs256_secret")
        bad = set(self.algorithms) - ASYMMETRIC_ALGORITHMS
        if bad:
            raise ValueError(
                f"algorithms {sorted(bad)} are not asymmetric; use {sorted(ASYMMETRIC_ALGORITHMS)}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtConfig | None:
        """The configuration settings describe, or None when no JWT source is configured."""
        secret = settings.jwt_hs256_secret.get_secret_value() if settings.jwt_hs256_secret else None
        if settings.jwt_jwks_url is None and secret is None:
            return None
        return cls(
            jwks_url=settings.jwt_jwks_url,
            hs256_secret=secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            authorized_parties=settings.jwt_authorized_party_list,
            algorithms=settings.jwt_algorithm_list,
            leeway_s=settings.jwt_leeway_s,
            jwks_cache_s=settings.jwt_jwks_cache_s,
            jwks_cooldown_s=settings.jwt_jwks_cooldown_s,
            jwks_timeout_s=settings.jwt_jwks_timeout_s,
        )


# PyJWT's exception types → our reasons (most specific first: ExpiredSignatureError is an InvalidTokenError).
_REASONS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "the token has expired; sign in again"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "the token is not valid yet (nbf/iat in the future)"),
    (jwt.InvalidIssuerError, "issuer", "the token was issued by an untrusted issuer"),
    (jwt.InvalidAudienceError, "audience", "the token is meant for another audience"),
    (jwt.MissingRequiredClaimError, "missing_claim", ""),
    (jwt.InvalidAlgorithmError, "algorithm", "the token's signing algorithm is not accepted"),
    (jwt.InvalidSignatureError, "signature", "the token's signature does not verify"),
    (jwt.DecodeError, "malformed", "the bearer token is not a well-formed JWT"),
)


class JwtVerifier:
    """Verifies bearer tokens against one configured key source. One instance per process (it caches keys)."""

    def __init__(self, config: JwtConfig) -> None:
        self.config = config
        self._jwks: PyJWKClient | None = None
        if config.jwks_url is not None:
            self._jwks = PyJWKClient(
                config.jwks_url,
                cache_jwk_set=True,
                lifespan=config.jwks_cache_s,
                cooldown_duration=config.jwks_cooldown_s,
                timeout=config.jwks_timeout_s,
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> JwtVerifier | None:
        config = JwtConfig.from_settings(settings)
        return None if config is None else cls(config)

    def verify(self, token: str) -> TokenPrincipal:
        """The principal a valid token speaks for; raises TokenRejected or KeySetUnavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise TokenRejected("malformed", "the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        key, algorithms = self._key_for(header, alg)
        options: dict[str, Any] = {
            "require": list(REQUIRED_CLAIMS),
            "verify_aud": self.config.audience is not None,
        }
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                issuer=self.config.issuer,
                audience=self.config.audience,
                leeway=self.config.leeway_s,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.InvalidTokenError as err:
            raise _rejection(err) from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise TokenRejected("missing_claim", 'the token has no "sub" (subject) claim')
        parties = self.config.authorized_parties
        if parties and claims.get("azp") not in parties:
            raise TokenRejected("authorized_party", "the token was issued for another application (azp)")
        iss = claims.get("iss")
        return TokenPrincipal(subject=subject, issuer=iss if isinstance(iss, str) else None, claims=claims)

    def _key_for(self, header: Mapping[str, Any], alg: Any) -> tuple[Any, list[str]]:
        if self._jwks is None:
            if alg != "HS256":
                raise TokenRejected("algorithm", f"tokens must be signed with HS256, not {alg!r}")
            return self.config.hs256_secret, ["HS256"]
        if alg not in self.config.algorithms:
            allowed = ", ".join(self.config.algorithms)
            raise TokenRejected("algorithm", f"tokens must be signed with one of {allowed}, not {alg!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("unknown_key", 'the token names no signing key ("kid" header)')
        try:
            signing_key = self._jwks.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as err:
            logger.warning("cannot fetch the JWK Set from %s: %s", self.config.jwks_url, err)
            raise KeySetUnavailable("the identity provider's key set cannot be fetched right now") from None
        except jwt.PyJWKClientError as err:
            if "Unable to find a signing key" in str(err):
                raise TokenRejected(
                    "unknown_key", f"the token's signing key {kid!r} is not published"
                ) from None
            logger.warning("the JWK Set at %s is unusable: %s", self.config.jwks_url, err)
            raise KeySetUnavailable("the identity provider's key set is unusable") from None
        except jwt.PyJWKSetError as err:
            logger.warning("the JWK Set at %s is unusable: %s", self.config.jwks_url, err)
            raise KeySetUnavailable("the identity provider's key set is unusable") from None
        # An RSA key verifies only RS*/PS* tokens and an EC key only ES* ones (PyJWT would raise a key error).
        if not alg.startswith(_KEY_FAMILIES.get(signing_key.key_type or "", ())):
            raise TokenRejected(
                "algorithm", f"key {kid!r} is a {signing_key.key_type} key; it cannot verify {alg}"
            )
        return signing_key.key, [alg]


def _rejection(err: Exception) -> TokenRejected:
    for exc_type, reason, message in _REASONS:
        if isinstance(err, exc_type):
            return TokenRejected(reason, message or str(err))
    return TokenRejected("malformed", f"the bearer token is invalid: {err}")


def bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header value, or None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
