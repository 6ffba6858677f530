"""PostgreSQL connections are pinged before use only after being idle (directory.db):
a connection the server dropped while it sat in the pool is replaced, not handed to a
request; a busy worker's connections are not pinged on every request."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from directory import db
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="a server-side connection to drop: "
                                "PostgreSQL only (the suite's PostgreSQL pass runs it)")


def _kill_pooled_connection(engine: object) -> int:
    """Check a connection out and in again, then end its backend from another connection."""
    with engine.connect() as conn:  # type: ignore[attr-defined]
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = db.make_engine(PG_URL or "")
    with killer.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    killer.dispose()
    return int(pid)


def test_an_idle_connection_dropped_by_the_server_is_replaced(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    engine = db.make_engine(PG_URL or "", pool_size=1)
    try:
        dead = _kill_pooled_connection(engine)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long enough"
        with engine.connect() as conn:
            alive = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert alive != dead
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_not_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ping the dropped connection reaches the caller (which is what the ping
    prevents after an idle period); SQLAlchemy then invalidates it and the next use works."""
    engine = db.make_engine(PG_URL or "", pool_size=1)
    try:
        _kill_pooled_connection(engine)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
        with pytest.raises(OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_pool_pre_ping_still_pings_every_checkout() -> None:
    engine = db.make_engine(PG_URL or "", pool_size=1, pool_pre_ping=True)
    try:
        dead = _kill_pooled_connection(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead
    finally:
        engine.dispose()
