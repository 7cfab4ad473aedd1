"""Shared fixtures: a throwaway database (SQLite, or PostgreSQL when NU3D_TEST_DATABASE_URL is set),
settings built from a dict (never from os.environ), the app under TestClient, an S3-compatible server.

Run the suite on PostgreSQL with:
    NU3D_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test pytest
Each run creates its own database on that server and drops it afterwards.
With NU3D_TEST_DB_ONLY=1, only tests that touch the database are collected (the CI's PostgreSQL pass).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from shop_app.db import make_engine
from shop_app.settings import DatabaseSettings, Settings, load_settings

DB_FIXTURES = {"empty_database", "database_url", "db_engine", "db", "settings", "make_settings", "app_client"}

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"
TEST_SHOPIFY_API_KEY = "test-client-id"
# 32+ bytes: PyJWT warns (and the suite turns warnings into errors) on shorter HMAC keys.
TEST_SHOPIFY_API_SECRET = "test-shopify-secret-0123456789abcdef"
TEST_FERNET_KEY = Fernet.generate_key().decode()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:  # noqa: ARG001
    if os.environ.get("NU3D_TEST_DB_ONLY") != "1":
        return
    selected, deselected = [], []
    for item in items:
        uses_db = bool(DB_FIXTURES & set(getattr(item, "fixturenames", ()))) or item.get_closest_marker(
            "postgres"
        )
        (selected if uses_db else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    from shop_app import migrate

    server_url = os.environ.get("NU3D_TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'nu3d-test.db'}"
        migrate.upgrade(DatabaseSettings(database_url=url))
        yield url
        return
    admin = make_engine(DatabaseSettings(database_url=server_url), isolation_level="AUTOCOMMIT")
    name = f"nu3d_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(DatabaseSettings(database_url=server_url).database_url).set(database=name)
    url_str = url.render_as_string(hide_password=False)
    try:
        migrate.upgrade(DatabaseSettings(database_url=url_str))
        yield url_str
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(database_url=database_url))
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    from sqlmodel import SQLModel

    import shop_app.models  # noqa: F401

    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Engine]:
    """The session database, emptied after each test that uses it (and the queue caches that describe it)."""
    from shop_app.jobs.stats import clear_caches

    yield db_engine
    truncate_all(db_engine)
    clear_caches()


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path, db: Engine) -> Callable[..., Settings]:  # noqa: ARG001
    """Build Settings from a dict of NU3D_* overrides on top of test defaults."""

    def _make(**overrides: Any) -> Settings:
        environ = {
            "NU3D_ENV": "test",
            "NU3D_DATABASE_URL": database_url,
            "NU3D_STORAGE_URL": str(tmp_path / "files"),
            "NU3D_SECRET_KEY": TEST_SECRET_KEY,
            "NU3D_TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "SHOPIFY_API_KEY": TEST_SHOPIFY_API_KEY,
            "SHOPIFY_API_SECRET": TEST_SHOPIFY_API_SECRET,
            "NU3D_APP_URL": "http://testserver",
        }
        environ.update({k if k.isupper() else f"NU3D_{k.upper()}": str(v) for k, v in overrides.items()})
        return load_settings(environ)

    return _make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app_client(settings: Settings) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from shop_app.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3-compatible server on loopback; yields its endpoint URL."""
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3 reads credentials only from the environment/config files; these are the moto server's dummies.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own (migrations are run up and down on it)."""
    server = os.environ.get("NU3D_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin = make_engine(DatabaseSettings(database_url=server), isolation_level="AUTOCOMMIT")
    name = f"nu3d_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(DatabaseSettings(database_url=server).database_url).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
