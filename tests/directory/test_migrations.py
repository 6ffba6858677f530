"""Migrations from an empty database: upgrade, downgrade, upgrade; the models agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from directory.db import Base
from directory.migrate import current_revision
from directory.migrate import downgrade
from directory.migrate import head_revision
from directory.migrate import upgrade
from tests.conftest import reset_database


def test_upgrade_from_empty_then_down_and_up(engine) -> None:
    reset_database(engine)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    downgrade(engine)
    assert not {t.name for t in Base.metadata.sorted_tables} & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)


def test_models_match_migrations(engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
