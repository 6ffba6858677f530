"""Each worker's copy of the apps' OAuth columns (``directory.app_cache``, #4): a client's
token costs no read of the database, yet every change of an app is seen as the database
sees it — made in this process (at its commit), by another process or an operator's SQL
(PostgreSQL's notification, migration 0022) — and nothing is answered from the copy
while the listening connection is missing. On SQLite there is no copy: each token reads
the file (tested too)."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from directory import app_cache
from directory import apps
from directory.db import make_engine
from tests.conftest import PG_URL
from tests.idp import test_rfc6749_client_credentials as cc_tests
from tests.idp.test_rfc6749_client_credentials import basic
from tests.idp.test_token_cache import Statements

client = cc_tests.client  # an online confidential client allowed `directory`

CC = {"grant_type": "client_credentials", "scope": "directory"}
on_postgresql = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's notifications: SQLite "
                                   "has no copy (test_sqlite_reads_the_file_each_time)")


def _token(app, pair) -> int:
    return app.test_client().post("/oauth/token", data=CC, headers=basic(*pair)).status_code


def _cache(app) -> app_cache.AppCache:
    return app.extensions["idp.oauth.apps"]


def _operator_sql(sql: str, **params: object) -> None:
    """A change made outside this process's ORM (as by another worker or an operator)."""
    other = make_engine(PG_URL or "")
    try:
        with other.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        other.dispose()


def _eventually(check, seconds: float = 2.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


@on_postgresql
def test_a_cached_client_costs_no_read(world, client) -> None:
    app, _ = world
    with Statements(app) as sql:
        assert _token(app, client) == 200
        assert sql.reading("apps") == 1 and _cache(app).listening()
        for _ in range(5):
            assert _token(app, client) == 200
    assert sql.reading("apps") == 1


@on_postgresql
def test_a_change_in_this_process_is_seen_at_its_commit(world, client, sessions, ctx) -> None:
    """No waiting for the notification: the commit itself empties the copy."""
    app, _ = world
    assert _token(app, client) == 200
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, client[0]), "offline", reason="维护")
    assert _token(app, client) == 401
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, client[0]), "online", reason="恢复")
    assert _token(app, client) == 200


@on_postgresql
def test_a_rolled_back_change_keeps_the_copy(world, client, sessions, ctx) -> None:
    app, _ = world
    assert _token(app, client) == 200
    with sessions() as s:
        apps.set_status(s, ctx, apps.get_app(s, client[0]), "offline", reason="误操作")
        s.flush()
        s.rollback()
    with Statements(app) as sql:
        assert _token(app, client) == 200
    assert sql.reading("apps") == 0


@on_postgresql
def test_another_process_change_is_seen_by_the_notification(world, client) -> None:
    """An operator's SQL (no ORM event in this process): PostgreSQL's notification reaches
    the listener, and the very request that finds it refuses the offline app."""
    app, _ = world
    assert _token(app, client) == 200
    _operator_sql("UPDATE apps SET status = 'offline' WHERE client_id = :c", c=client[0])
    assert _eventually(lambda: _token(app, client) == 401)
    assert _token(app, client) == 401  # and it stays refused: no stale row came back


@on_postgresql
def test_a_new_secret_from_elsewhere_replaces_the_old_one(world, client) -> None:
    app, _ = world
    assert _token(app, client) == 200
    new = "a-new-secret-of-forty-three-characters-abcdef"
    _operator_sql("UPDATE apps SET client_secret_hash = :h WHERE client_id = :c",
                  h=apps.secret_digest(new), c=client[0])
    assert _eventually(lambda: _token(app, client) == 401)
    assert _token(app, (client[0], new)) == 200


@on_postgresql
def test_a_lost_listener_means_reads_until_it_listens_again(world, client, monkeypatch) -> None:
    """The listening connection killed (as by a database restart): nothing is answered
    from the copy — a change made meanwhile is seen at once — and after the retry delay
    the worker listens again."""
    app, _ = world
    monkeypatch.setattr(app_cache, "RETRY_SECONDS", 3600.0)
    assert _token(app, client) == 200
    _operator_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE query LIKE 'LISTEN idp_apps%' AND pid <> pg_backend_pid()")
    assert _eventually(lambda: not _cache(app).listening())
    with Statements(app) as sql:
        assert _token(app, client) == 200
    assert sql.reading("apps") == 1
    _operator_sql("UPDATE apps SET status = 'offline' WHERE client_id = :c", c=client[0])
    assert _token(app, client) == 401  # read, not remembered
    monkeypatch.setattr(app_cache, "RETRY_SECONDS", 0.0)
    _cache(app)._retry_at = 0.0
    assert _cache(app).listening()
    assert _token(app, client) == 401


@on_postgresql
def test_unknown_clients_are_never_kept(world, client) -> None:
    app, _ = world
    for i in range(20):
        assert _token(app, (f"guess-{i}", "x")) == 401
    assert len(_cache(app)._rows) == 0
    assert _token(app, client) == 200 and len(_cache(app)._rows) == 1


@on_postgresql
def test_a_forked_worker_listens_on_its_own_connection(world, client, monkeypatch) -> None:
    app, _ = world
    assert _token(app, client) == 200
    inherited = _cache(app)._conn
    monkeypatch.setattr(os, "getpid", lambda: -1)  # "now in a child"
    assert _token(app, client) == 200
    assert _cache(app)._conn is not inherited and _cache(app)._inherited == [inherited]
    assert not inherited.dbapi_connection.closed  # the parent's is left alone
    monkeypatch.undo()
    inherited.close()  # as the parent would
    _cache(app)._conn.close()  # the "child's", whose pid was the fake one


@on_postgresql
def test_without_the_trigger_nothing_is_kept(world, client) -> None:
    """A database not migrated to 0022 would never tell: every token reads it."""
    app, _ = world
    _operator_sql("DROP TRIGGER apps_changed ON apps")
    try:
        with Statements(app) as sql:
            assert _token(app, client) == 200 and _token(app, client) == 200
        assert sql.reading("apps") == 2 and not _cache(app).listening()
    finally:
        _operator_sql("CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps "
                      "FOR EACH STATEMENT EXECUTE FUNCTION idp_apps_changed()")


def test_sqlite_reads_the_file_each_time(world, client, sessions, ctx) -> None:
    """Both databases: the offline app is refused on the next request (on SQLite by a read
    each time, on PostgreSQL through the copy's invalidation)."""
    app, _ = world
    with Statements(app) as sql:
        assert _token(app, client) == 200 and _token(app, client) == 200
    assert sql.reading("apps") == (1 if PG_URL else 2)
    assert _cache(app).enabled == bool(PG_URL)
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, client[0]), "offline", reason="维护")
    assert _token(app, client) == 401
