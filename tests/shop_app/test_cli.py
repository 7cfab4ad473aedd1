"""The `nu3d` command as a user runs it: a real subprocess, real exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import free_port


def run_nu3d(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NU3D_", "SHOPIFY_"))}
    return subprocess.run(
        [sys.executable, "-m", "shop_app.cli", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_command() -> None:
    result = run_nu3d("--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "scheduler", "devstore", "demo", "generate", "db", "apikey"):
        assert command in result.stdout


def test_unknown_option_is_one_line(tmp_path: Path) -> None:
    result = run_nu3d("--frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unrecognized arguments: --frobnicate" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_secrets_names_them(tmp_path: Path) -> None:
    result = run_nu3d("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "NU3D_SECRET_KEY is required" in result.stderr
    assert "SHOPIFY_API_SECRET is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_unwritable_storage(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("x")
    env = {
        "NU3D_SECRET_KEY": "a-real-secret-value",
        "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": "id",
        "SHOPIFY_API_SECRET": "a-real-shopify-secret",
        "NU3D_STORAGE_URL": str(tmp_path / "blocker" / "files"),
        "NU3D_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    result = run_nu3d("serve", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "NU3D_STORAGE_URL: cannot create directory" in result.stderr
    assert "Traceback" not in result.stderr


def _serve_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "NU3D_SECRET_KEY": "a-real-secret-value",
        "NU3D_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": "id",
        "SHOPIFY_API_SECRET": "a-real-shopify-secret",
        "NU3D_STORAGE_URL": str(tmp_path / "files"),
        "NU3D_DATABASE_URL": database_url,
    }


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_unreachable_database_stops_start_up(tmp_path: Path, command: str) -> None:
    url = f"postgresql://nu3d:pw-not-shown@127.0.0.1:{free_port()}/nu3d"
    result = run_nu3d(command, env=_serve_env(tmp_path, url), cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "pw-not-shown" not in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_unmigrated_database(tmp_path: Path) -> None:
    result = run_nu3d("serve", env=_serve_env(tmp_path, f"sqlite:///{tmp_path / 'new.db'}"), cwd=tmp_path)
    assert result.returncode == 1
    assert "run 'nu3d db upgrade'" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_unreachable_database(tmp_path: Path) -> None:
    env = {"NU3D_DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/nu3d"}
    result = run_nu3d("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_malformed_url(tmp_path: Path) -> None:
    result = run_nu3d("db", "upgrade", env={"NU3D_DATABASE_URL": "oracle://x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "NU3D_DATABASE_URL is invalid" in result.stderr


@pytest.mark.slow
def test_db_downgrade_base_then_upgrade_and_apikey(tmp_path: Path, empty_database: str) -> None:
    env = {"NU3D_DATABASE_URL": empty_database}
    assert run_nu3d("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    down = run_nu3d("db", "downgrade", "base", env=env, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    # With no tables, creating a key fails with advice rather than a traceback.
    failed = run_nu3d("apikey", "create", "--name", "ci", env=env, cwd=tmp_path)
    assert failed.returncode == 1
    assert "nu3d db upgrade" in failed.stderr
    assert run_nu3d("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    created = run_nu3d("apikey", "create", "--name", "ci", "--scope", "admin", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("nu3d_") and len(key) > 40
    assert "scopes: admin" in created.stderr
    assert run_nu3d("apikey", "create", "--scope", "root", env=env, cwd=tmp_path).returncode == 2


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_processes_without_secrets_fail_in_one_line(tmp_path: Path, command: str) -> None:
    result = run_nu3d(command, cwd=tmp_path)
    assert result.returncode == 2
    assert "NU3D_SECRET_KEY is required" in result.stderr
    assert "Traceback" not in result.stderr
