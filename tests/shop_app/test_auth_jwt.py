"""The bearer-JWT verifier against a real JWK Set on loopback, real RS256/ES256 keys, and every rejection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest

from shop_app.auth_jwt import JwtConfig, JwtVerifier, KeySetUnavailable, TokenRejected, bearer_token
from shop_app.settings import ConfigError, load_settings
from tests.conftest import TEST_FERNET_KEY, TEST_SECRET_KEY, TEST_SHOPIFY_API_KEY, TEST_SHOPIFY_API_SECRET
from tests.idp import ISSUER, IdentityProvider, hs256_token, make_key

SECRET = "an-hs256-secret-of-at-least-32-bytes!!"


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


def verifier_for(idp: IdentityProvider, **overrides: object) -> JwtVerifier:
    config = {"jwks_url": idp.jwks_url, "issuer": ISSUER, "jwks_cooldown_s": 0.0, **overrides}
    return JwtVerifier(JwtConfig(**config))  # type: ignore[arg-type]


def rejected(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(token)
    assert info.value.message  # every rejection says why, in words
    return info.value.reason


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_token_signed_by_a_published_key_gives_its_subject_and_profile(
    idp: IdentityProvider, alg: str
) -> None:
    key = idp.add_key(alg)
    token = idp.token(
        key,
        sub="user_29w83",
        email="ada@example.com",
        given_name="Ada",
        family_name="Lovelace",
        picture="https://img/a",
    )
    principal = verifier_for(idp).verify(token)
    assert principal.subject == "user_29w83"
    assert principal.owner_id == "user_29w83"
    assert principal.issuer == ISSUER
    assert (principal.email, principal.first_name, principal.last_name, principal.image_url) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
        "https://img/a",
    )


def test_clerk_style_profile_claim_names_are_read_too(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    token = idp.token(
        key, firstName="Grace", lastName="Hopper", imageUrl="https://img/g", email_address="g@x.io"
    )
    principal = verifier_for(idp).verify(token)
    assert (principal.first_name, principal.last_name, principal.image_url, principal.email) == (
        "Grace",
        "Hopper",
        "https://img/g",
        "g@x.io",
    )


def test_the_key_set_is_cached_between_tokens(idp: IdentityProvider) -> None:
    key = idp.add_key("ES256")
    verifier = verifier_for(idp)
    for n in range(5):
        assert verifier.verify(idp.token(key, sub=f"user_{n}")).subject == f"user_{n}"
    assert idp.fetches == 1


def test_a_rotated_in_key_is_fetched_on_its_first_unknown_kid(idp: IdentityProvider) -> None:
    old = idp.add_key("RS256")
    verifier = verifier_for(idp)
    verifier.verify(idp.token(old))
    assert idp.fetches == 1
    new = idp.add_key("ES256")  # the provider rotates: the new key signs from now on
    idp.remove_key(old)
    assert verifier.verify(idp.token(new, sub="after-rotation")).subject == "after-rotation"
    assert idp.fetches == 2
    # The retired key's tokens no longer verify (the refreshed set no longer holds it).
    verifier_after = verifier_for(idp)
    assert rejected(verifier_after, idp.token(old)) == "unknown_key"


def test_unknown_kids_refetch_at_most_once_per_cooldown(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    verifier = verifier_for(idp, jwks_cooldown_s=3600.0)
    verifier.verify(idp.token(key))
    stranger = make_key("RS256", kid="never-published")
    for _ in range(5):
        assert rejected(verifier, idp.token(stranger)) == "unknown_key"
    assert idp.fetches == 1  # a flood of made-up kids does not reach the identity provider


def test_an_unpublished_kid_is_rejected_after_one_refetch(idp: IdentityProvider) -> None:
    idp.add_key("RS256")
    stranger = make_key("RS256", kid="never-published")
    assert rejected(verifier_for(idp), idp.token(stranger)) == "unknown_key"
    assert idp.fetches == 2  # the initial fetch, then one refresh looking for the kid


def test_a_token_signed_with_another_key_under_a_published_kid_is_rejected(idp: IdentityProvider) -> None:
    key = idp.add_key("ES256")
    forger = make_key("ES256", kid=key.kid)
    assert rejected(verifier_for(idp), idp.token(forger)) == "signature"


def test_an_altered_payload_is_rejected(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    header, payload, signature = idp.token(key, sub="user_a").split(".")
    other_payload = idp.token(key, sub="user_admin").split(".")[1]
    assert payload != other_payload
    assert rejected(verifier_for(idp), f"{header}.{other_payload}.{signature}") == "signature"


def test_time_window_checks(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    verifier = verifier_for(idp, leeway_s=10.0)
    assert rejected(verifier, idp.token(key, ttl_s=-60)) == "expired"
    assert rejected(verifier, idp.token(key, nbf=int(time.time()) + 600)) == "not_yet_valid"
    # Inside the leeway: a token that expired 3 s ago still passes (clock skew between us and the provider).
    assert verifier.verify(idp.token(key, ttl_s=-3)).subject


def test_issuer_audience_and_authorized_party_checks(idp: IdentityProvider) -> None:
    key = idp.add_key("ES256")
    verifier = verifier_for(idp, audience="nu3d", authorized_parties=("https://app.example",))
    good = {"aud": "nu3d", "azp": "https://app.example"}
    assert verifier.verify(idp.token(key, **good)).subject
    assert rejected(verifier, idp.token(key, **{**good, "iss": "https://evil.example"})) == "issuer"
    assert rejected(verifier, idp.token(key, **{**good, "aud": "someone-else"})) == "audience"
    assert rejected(verifier, idp.token(key, azp="https://app.example")) == "missing_claim"  # no aud at all
    assert rejected(verifier, idp.token(key, **{**good, "azp": "https://evil.example"})) == "authorized_party"


def test_without_an_audience_setting_tokens_with_any_audience_pass(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    assert verifier_for(idp).verify(idp.token(key, aud="whatever")).subject


def test_required_claims(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    verifier = verifier_for(idp)
    assert rejected(verifier, idp.token(key, sub=None)) == "missing_claim"
    assert rejected(verifier, idp.token(key, sub="  ")) == "missing_claim"
    no_exp = jwt.encode(
        {"sub": "u", "iss": ISSUER}, key.private_key, algorithm="RS256", headers={"kid": key.kid}
    )
    assert rejected(verifier, no_exp) == "missing_claim"


def test_algorithm_confusion_and_none_are_rejected(idp: IdentityProvider) -> None:
    rsa_key = idp.add_key("RS256")
    verifier = verifier_for(idp)
    unsigned = jwt.encode(
        {"sub": "u", "exp": int(time.time()) + 60}, None, algorithm="none", headers={"kid": rsa_key.kid}
    )
    assert rejected(verifier, unsigned) == "algorithm"
    hmac = jwt.encode(
        {"sub": "u", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256", headers={"kid": rsa_key.kid}
    )
    assert rejected(verifier, hmac) == "algorithm"
    # An EC signature presented under an RSA key's kid cannot be checked with that key.
    ec_key = make_key("ES256", kid=rsa_key.kid)
    assert rejected(verifier, idp.token(ec_key)) == "algorithm"
    # Algorithms outside the configured list are refused before any key lookup.
    es384 = idp.add_key("ES384")
    assert rejected(verifier, idp.token(es384)) == "algorithm"
    assert verifier_for(idp, algorithms=("ES384",)).verify(idp.token(es384)).subject


def test_malformed_tokens_and_missing_kid(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    verifier = verifier_for(idp)
    assert rejected(verifier, "not-a-jwt") == "malformed"
    assert rejected(verifier, "a.b.c") == "malformed"
    no_kid = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, key.private_key, algorithm="RS256")
    assert rejected(verifier, no_kid) == "unknown_key"


def test_an_unreachable_key_set_is_not_the_callers_fault(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    idp.status = 500
    with pytest.raises(KeySetUnavailable):
        verifier_for(idp).verify(idp.token(key))


def test_a_key_set_that_goes_down_keeps_serving_from_the_cache(idp: IdentityProvider) -> None:
    key = idp.add_key("RS256")
    verifier = verifier_for(idp)
    verifier.verify(idp.token(key))
    idp.status = 500
    assert verifier.verify(idp.token(key, sub="still-fine")).subject == "still-fine"


def test_hs256_secret() -> None:
    verifier = JwtVerifier(JwtConfig(hs256_secret=SECRET, issuer=ISSUER))
    assert verifier.verify(hs256_token(SECRET, sub="user_h", email="h@example.com")).email == "h@example.com"
    assert rejected(verifier, hs256_token("another-secret-that-is-also-32-bytes-long")) == "signature"
    assert rejected(verifier, hs256_token(SECRET, ttl_s=-60)) == "expired"
    rs = make_key("RS256")
    token = jwt.encode({"sub": "u", "exp": int(time.time()) + 60}, rs.private_key, algorithm="RS256")
    assert rejected(verifier, token) == "algorithm"


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   abc") == "abc"
    assert bearer_token("Basic dXNlcjpwYXNz") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def _environ(**extra: str) -> dict[str, str]:
    return {
        "NU3D_SECRET_KEY": TEST_SECRET_KEY,
        "NU3D_TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "SHOPIFY_API_KEY": TEST_SHOPIFY_API_KEY,
        "SHOPIFY_API_SECRET": TEST_SHOPIFY_API_SECRET,
        **extra,
    }


def test_settings_build_the_verifier(idp: IdentityProvider) -> None:
    key = idp.add_key("ES256")
    settings = load_settings(
        _environ(NU3D_JWT_JWKS_URL=idp.jwks_url, NU3D_JWT_ISSUER=ISSUER, NU3D_JWT_ALGORITHMS="ES256")
    )
    verifier = JwtVerifier.from_settings(settings)
    assert verifier is not None
    assert verifier.verify(idp.token(key)).subject
    assert JwtVerifier.from_settings(load_settings(_environ())) is None  # nothing configured: no JWT auth


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"NU3D_JWT_HS256_SECRET": "short"}, "NU3D_JWT_HS256_SECRET"),
        ({"NU3D_JWT_ALGORITHMS": "RS256,HS256"}, "NU3D_JWT_ALGORITHMS"),
        ({"NU3D_JWT_JWKS_URL": "ftp://idp/jwks"}, "NU3D_JWT_JWKS_URL"),
        ({"NU3D_JWT_JWKS_URL": "https://idp/jwks", "NU3D_JWT_HS256_SECRET": SECRET}, "NU3D_JWT_HS256_SECRET"),
    ],
)
def test_bad_jwt_settings_name_the_variable(extra: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(_environ(**extra))
