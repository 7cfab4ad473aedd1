from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shop_app.settings import ConfigError, load_database_settings, load_settings

GOOD = {
    "NU3D_SECRET_KEY": "s3cret-value-for-tests",
    "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "SHOPIFY_API_KEY": "client-id",
    "SHOPIFY_API_SECRET": "shopify-secret-value",
}


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings(GOOD)
    assert settings.database_url == "sqlite:///./var/nu3d.db"
    assert settings.storage_url == "./var/files"
    assert settings.is_sqlite


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_missing_secret_names_the_variable(missing: str) -> None:
    environ = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_settings(environ)
    assert missing in str(err.value)
    assert "required" in str(err.value)


def test_placeholder_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="SHOPIFY_API_SECRET is invalid.*placeholder"):
        load_settings({**GOOD, "SHOPIFY_API_SECRET": "changeme"})


def test_bad_fernet_key_explains_how_to_make_one() -> None:
    with pytest.raises(ConfigError, match="NU3D_TOKEN_ENCRYPTION_KEY is invalid.*Fernet.generate_key"):
        load_settings({**GOOD, "NU3D_TOKEN_ENCRYPTION_KEY": "not-a-key"})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "expected a URL"),
        ("mysql://root@localhost/db", "unsupported database scheme 'mysql'"),
    ],
)
def test_malformed_database_url(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_database_settings({"NU3D_DATABASE_URL": url})
    assert "NU3D_DATABASE_URL is invalid" in str(err.value)
    assert message in str(err.value)


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_database_settings({"NU3D_DATABASE_URL": "postgresql://u@h:5432/db"})
    assert settings.database_url == "postgresql+psycopg://u@h:5432/db"
    assert not settings.is_sqlite


def test_secrets_never_appear_in_repr() -> None:
    settings = load_settings(GOOD)
    text = repr(settings) + str(settings)
    for name in ("NU3D_SECRET_KEY", "SHOPIFY_API_SECRET", "NU3D_TOKEN_ENCRYPTION_KEY"):
        assert GOOD[name] not in text
    assert settings.shopify_api_secret.get_secret_value() == GOOD["SHOPIFY_API_SECRET"]


def test_storage_url_validation() -> None:
    with pytest.raises(ConfigError, match="NU3D_STORAGE_URL is invalid.*bucket"):
        load_settings({**GOOD, "NU3D_STORAGE_URL": "s3:///nobucket"})
    with pytest.raises(ConfigError, match="NU3D_STORAGE_URL is invalid"):
        load_settings({**GOOD, "NU3D_STORAGE_URL": "ftp://host/x"})
    assert load_settings({**GOOD, "NU3D_STORAGE_URL": "s3://b/p"}).storage_url == "s3://b/p"


def test_url_passwords_never_appear_in_repr() -> None:
    settings = load_settings(
        {
            **GOOD,
            "NU3D_DATABASE_URL": "postgresql://nu3d:HUNTER2@db.internal:5432/nu3d",
            "NU3D_REDIS_URL": "redis://:REDISPW@cache:6379/0",
        }
    )
    text = repr(settings) + str(settings)
    assert "HUNTER2" not in text and "REDISPW" not in text
    assert "nu3d:***@db.internal:5432" in text
    assert settings.database_url == "postgresql+psycopg://nu3d:HUNTER2@db.internal:5432/nu3d"  # still usable
