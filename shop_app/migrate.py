"""Run Alembic programmatically (used by `nu3d db ...`, the demo and tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from shop_app.settings import DatabaseSettings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class MigrationError(Exception):
    """The database could not be migrated; the message says why in one line."""


def alembic_config(settings: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser interpolation syntax; URLs with percent-escapes need doubling.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade(settings: DatabaseSettings, revision: str = "head") -> None:
    _run(command.upgrade, settings, revision)


def downgrade(settings: DatabaseSettings, revision: str) -> None:
    _run(command.downgrade, settings, revision)


def _run(fn, settings: DatabaseSettings, revision: str) -> None:  # noqa: ANN001
    try:
        fn(alembic_config(settings), revision)
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise MigrationError(f"cannot reach the database ({_safe_url(settings)}): {reason}") from None
    except Exception as err:
        if type(err).__module__.startswith("alembic"):
            raise MigrationError(f"migration to {revision!r} failed: {err}") from None
        raise


def _safe_url(settings: DatabaseSettings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def check_at_head(settings: DatabaseSettings) -> None:
    """Raise MigrationError unless the database answers and is migrated to this code's head revision.

    Processes call it at start-up so an unreachable or unmigrated database is a one-line error, not a
    stream of failing requests.
    """
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from shop_app.db import make_engine

    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise MigrationError(f"cannot reach the database ({_safe_url(settings)}): {reason}") from None
    finally:
        engine.dispose()
    expected = set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())
    if current != expected:
        at = ", ".join(sorted(current)) or "an empty schema"
        raise MigrationError(
            f"the database is at {at} but this version needs {', '.join(sorted(expected))}; run 'nu3d db upgrade'"
        )
