"""Alembic environment: URL from the caller (shop_app.migrate) or from settings; metadata from SQLModel."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import shop_app.models  # noqa: F401  (registers every table)
from shop_app.db import make_engine
from shop_app.settings import load_database_settings

config = context.config


def _engine():
    url = config.get_main_option("sqlalchemy.url")
    settings = load_database_settings({"NU3D_DATABASE_URL": url}) if url else load_database_settings()
    return make_engine(settings)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=SQLModel.metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            compare_type=True,
            # SQLite cannot ALTER most things in place; batch mode rebuilds the table.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
