"""Fixtures: the whole suite runs on SQLite by default and on PostgreSQL when
``IDP_TEST_DATABASE_URL`` is set (``.ci/run`` sets it, so CI runs both)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory import audit
from directory.db import Base
from directory.db import make_engine
from directory.db import make_sessionmaker
from directory.migrate import upgrade
from directory.settings import DirectorySettings
from idp import config
from tests.factories import TEST_SECRETS

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")


def reset_database(engine: Engine) -> None:
    """An empty database: every table (and Alembic's) dropped."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    reset_database(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_sessionmaker(engine)
    _truncate(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One open unit of work; the test commits or rolls back as it needs."""
    with sessions() as s:
        yield s


@pytest.fixture(scope="session")
def settings(db_url: str) -> config.Settings:
    return config.Settings(database_url=db_url, testing=True, **TEST_SECRETS)


@pytest.fixture(scope="session")
def dsettings(settings: config.Settings) -> DirectorySettings:
    return settings.directory()


@pytest.fixture
def ctx() -> audit.Context:
    return audit.Context(actor="test:admin", source_ip="127.0.0.1", request_id="req-test")


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
