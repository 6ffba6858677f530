"""Each worker's copy of the apps' OAuth columns (``apps.AppRow``), kept only while the
database says nothing changed (#4: reading the client was two thirds of a
client-credentials token's CPU).

The database stays the one source of truth, as in Keycloak's client cache with its
cluster invalidation:

* PostgreSQL notifies ``idp_apps`` at the commit of every statement that writes ``apps``
  (a trigger, migration 0022: our code, a migration or an operator's SQL alike). Each
  process listens on a connection of its own and, before every answer from the copy,
  takes what has arrived on it without waiting (one ``poll`` of the socket): any
  notification empties the copy.
* A commit in this process that wrote an app empties every copy in the process at once
  (ORM events), without waiting for the notification to come back.
* A row read while a notification was on its way is not kept (a generation count), and
  nothing is answered from the copy while the listening connection is not there: not yet
  made, lost (the database restarted), inherited across a fork, or the trigger missing.
  Then every lookup reads the database, and listening is tried again after
  ``RETRY_SECONDS``.
* Unknown client ids are never kept (no one fills the copy with guesses); at most
  ``MAX_ROWS`` apps are, the oldest dropped first.

So another worker's change is seen as soon as PostgreSQL's notification reaches this
one: at its commit plus the time to cross loopback or the network, as a row read at
the same moment would be. SQLite has no notifications: there every lookup reads the file.
"""

from __future__ import annotations

import os
import select
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from psycopg import pq
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import object_session

from directory.apps import AppRow
from directory.models import App

CHANNEL = "idp_apps"
TRIGGER = "apps_changed"
MAX_ROWS = 4096
RETRY_SECONDS = 5.0


class _Local:
    """Commits of this process that wrote an app (``_note_write`` / ``_count_commit``)."""

    generation = 0


def _note_write(_mapper: Any, _connection: Any, target: App) -> None:
    session = object_session(target)
    if session is not None:
        session.info["apps_written"] = True


def _count_commit(session: Session) -> None:
    """A mark left by a write that was rolled back only empties the copies once more at
    the session's next commit: harmless, where forgetting it at a savepoint's rollback
    could forget a write flushed before the savepoint."""
    if session.info.pop("apps_written", False):
        _Local.generation += 1


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(App, _name, _note_write)
event.listen(Session, "after_commit", _count_commit)


def _close_in(pid: int, conn: Any) -> None:
    """Close the listening connection when its cache goes (or at exit), only in the
    process that opened it: a forked child closing it would end it for the parent."""
    if os.getpid() == pid:
        try:
            conn.close()
        except Exception:  # noqa: BLE001, S110 - it is gone either way
            pass


class AppCache:
    """The copy for one engine, shared by the threads of a process (a lock around the
    copy and the listening connection; the database read itself is outside it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.enabled = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._rows: OrderedDict[str, AppRow] = OrderedDict()
        self._generation = 0
        self._local = _Local.generation
        self._conn: Any = None  # SQLAlchemy's detached pooled connection
        self._poller: Any = None
        self._pid = 0
        self._retry_at = 0.0
        self._inherited: list[Any] = []
        self._finalizer: weakref.finalize[Any, Any] | None = None
        if self.enabled:
            event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def row(self, client_id: str, load: Callable[[], AppRow | None]) -> AppRow | None:
        """The app's row from the copy when the copy may answer, else ``load()``'s (kept
        when nothing changed meanwhile)."""
        if not self.enabled:
            return load()
        with self._lock:
            fresh = self._fresh()
            if fresh:
                hit = self._rows.get(client_id)
                if hit is not None:
                    return hit
            generation = self._generation
        row = load()
        if row is None or not fresh:
            return row
        with self._lock:
            if self._fresh() and self._generation == generation:
                self._rows[client_id] = row
                if len(self._rows) > MAX_ROWS:
                    self._rows.popitem(last=False)
        return row

    def listening(self) -> bool:
        """Whether the copy may answer now (tests)."""
        with self._lock:
            return self._fresh()

    def close(self) -> None:
        with self._lock:
            self._drop()
            self._retry_at = 0.0

    # -- under the lock ---------------------------------------------------------------

    def _clear(self) -> None:
        self._rows.clear()
        self._generation += 1

    def _fresh(self) -> bool:
        if self._local != _Local.generation:
            self._local = _Local.generation
            self._clear()
        if self._pid != os.getpid():
            self._forget_inherited()
        if self._conn is None and not self._listen():
            return False
        try:
            if self._poller.poll(0):
                pgconn = self._conn.dbapi_connection.pgconn
                pgconn.consume_input()
                changed = False
                while pgconn.notifies() is not None:
                    changed = True
                if changed:
                    self._clear()
                if pgconn.status != pq.ConnStatus.OK:
                    raise OSError("the listening connection is gone")
        except Exception:  # noqa: BLE001 - any failure: stop answering from the copy
            self._drop()
            return False
        return True

    def _listen(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        self._retry_at = time.monotonic() + RETRY_SECONDS
        try:
            conn = self.engine.raw_connection()
        except Exception:  # noqa: BLE001 - the database is down: read it when it is back
            return False
        try:
            conn.detach()  # ours until closed, never back in the pool
            dbapi: Any = conn.dbapi_connection
            dbapi.autocommit = True
            cursor = dbapi.cursor()
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s "
                           "AND tgrelid = to_regclass('apps')", (TRIGGER,))
            if cursor.fetchone() is None:  # not migrated: nobody would tell us
                conn.close()
                return False
            cursor.execute(f"LISTEN {CHANNEL}")
            cursor.close()
        except Exception:  # noqa: BLE001
            conn.close()
            return False
        self._conn, self._pid = conn, os.getpid()
        self._finalizer = weakref.finalize(self, _close_in, self._pid, conn)
        self._poller = select.poll()
        self._poller.register(dbapi.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        self._clear()  # whatever was kept before listening is not trusted
        return True

    def _drop(self) -> None:
        self._conn, self._poller = None, None
        self._clear()
        if self._finalizer is not None:
            self._finalizer()  # closes it (in the process that opened it)
            self._finalizer = None

    def _forget_inherited(self) -> None:
        """A forked worker never uses (nor closes: that would end it for the parent) the
        parent's connection; it listens on its own."""
        if self._conn is not None:
            self._inherited.append(self._conn)
        if self._finalizer is not None:
            self._finalizer.detach()
        self._conn, self._poller, self._finalizer = None, None, None
        self._pid = os.getpid()
        self._retry_at = 0.0
        self._clear()
