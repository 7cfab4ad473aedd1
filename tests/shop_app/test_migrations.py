from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import shop_app.models  # noqa: F401
from shop_app import migrate
from shop_app.db import make_engine
from shop_app.settings import DatabaseSettings


@pytest.mark.postgres
def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    settings = DatabaseSettings(database_url=empty_database)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    expected = {t.name for t in SQLModel.metadata.sorted_tables} | {"alembic_version"}
    assert set(inspect(engine).get_table_names()) == expected
    migrate.downgrade(settings, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(settings)
    assert set(inspect(engine).get_table_names()) == expected
    engine.dispose()


@pytest.mark.postgres
def test_models_and_migrations_agree(empty_database: str) -> None:
    settings = DatabaseSettings(database_url=empty_database)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; run alembic revision --autogenerate: {diff}"


def test_unreachable_database_is_one_line() -> None:
    from tests.conftest import free_port

    settings = DatabaseSettings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/x")
    with pytest.raises(migrate.MigrationError) as err:
        migrate.upgrade(settings)
    message = str(err.value)
    assert "cannot reach the database" in message
    assert "\n" not in message
