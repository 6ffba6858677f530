"""Declarative base, column types, engine and session factory.

SQLite is the embedded default (WAL, foreign keys on, ``BEGIN IMMEDIATE`` so two
writers never fork the audit chain); PostgreSQL is the production database. Nothing
here is PostgreSQL-only without a SQLite equivalent.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import CursorResult
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import Result
from sqlalchemy import String
from sqlalchemy import TypeDecorator
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use UTC-aware datetimes")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A tree path compares byte-wise on both databases, so "path >= p AND path < p || '~'"
# is an index range scan whatever the server's default collation is.
PathString = String(512).with_variant(String(512, collation="C"), "postgresql")

uuid_pk = Annotated[uuid.UUID, mapped_column(primary_key=True, default=uuid.uuid4)]
created_at = Annotated[dt.datetime, mapped_column(UTCDateTime, default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that BEGIN is ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A write lock from the first statement: concurrent writers queue instead of
    # failing half-way with SQLITE_BUSY_SNAPSHOT.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Engine for ``url``; creates the directory of a SQLite file when missing."""
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pool_pre_ping=True asks for SQLAlchemy's ping on every checkout instead
    engine_pings = not kwargs.get("pool_pre_ping")
    if url.startswith("postgresql"):
        # JIT-compiling a large directory query costs seconds and cannot be interrupted
        # (bench/README.md). Plans stay generic where PostgreSQL finds them as good (the
        # small per-request reads); directory.search asks for custom plans itself.
        kwargs.setdefault("connect_args", {}).setdefault("options", "-c jit=off")
    engine = create_engine(url, **kwargs)
    if engine_pings:
        event.listen(engine.pool, "checkin", _checked_in)
        event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


# A pooled connection idle longer than this is pinged before use (a restarted database or
# a dropped TCP connection then costs a reconnect, not a failed request); a busy worker's
# connections are not pinged on every request (one round trip each, ~0.25 ms).
PING_AFTER_IDLE_S = 10.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pessimistic disconnect handling with a ``checkout`` listener: raising
    ``DisconnectionError`` makes the pool discard the connection and take a fresh one."""
    checked_in = record.info.get("checked_in")  # None: a new connection, just made
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not getattr(dbapi_connection, "autocommit", True):
            dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError("connection failed its idle ping") from exc


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (the result of a DML statement is a cursor)."""
    return cast(CursorResult[Any], result).rowcount


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:values)``, one array parameter
    whatever the number of values. The statement's text is then the same for a page of 100
    ids as for one: psycopg caches the parsing of statements under 4 KB only and prepares
    a statement after five runs of the same text, and an IN of 100 bound ids is neither
    (~3 ms of Python a statement, bench/README.md)."""
    return _among(session.get_bind().dialect.name, column, None, value=list(values))


def among_param(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """``among`` with the values left to the execution (``{name: [...]}``), for a
    statement built once and run many times."""
    return _among(dialect, column, name)


def _among(dialect: str, column: Any, name: str | None, **value: Any) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(ColumnElement[bool],
                    column == any_(bindparam(name, type_=ARRAY(column.type), **value)))
    return cast(ColumnElement[bool], column.in_(bindparam(name, expanding=True, **value)))


# Fewer rows than this go in as one executemany: COPY's own round trips cost more.
COPY_FROM = 50


def _with_defaults(table: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the Python default (scalar or callable) of each column a row lacks,
    as an INSERT would fill it."""
    defaulted = [c for c in table.columns
                 if c.default is not None and (c.default.is_scalar or c.default.is_callable)]
    out = []
    for row in rows:
        full = dict(row)
        for c in defaulted:
            if c.key not in full:
                default = cast(Any, c.default)
                full[c.key] = default.arg(None) if default.is_callable else default.arg
        out.append(full)
    return out


def insert_many(session: Session, table: Any, rows: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """Insert ``rows`` (dicts of column keys; a column a row lacks gets its Python
    default, else NULL, or its server default when no row has it) in the session's
    transaction. On PostgreSQL, from
    ``COPY_FROM`` rows on, one ``COPY … FROM STDIN`` stream: a tenth of the work of an
    executemany of single-row INSERTs on both sides (SCIM Bulk, bench/README.md); values
    pass through the columns' own bind processing, as an INSERT's do. Elsewhere, and for
    fewer rows, one executemany. Returns the rows as written (``_with_defaults``)."""
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    rows = _with_defaults(table, rows)
    given = set().union(*(r.keys() for r in rows))
    columns = [c for c in table.columns if c.key in given]
    if dialect.name != "postgresql" or len(rows) < COPY_FROM:  # the same keys in each row
        connection.execute(sa_insert(table), [{c.key: r.get(c.key) for c in columns}
                                              for r in rows])
        return rows
    processors = [(c.key, c.type._cached_bind_processor(dialect)) for c in columns]
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    raw = connection.connection.dbapi_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
            f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([None if (v := row.get(key)) is None else
                            process(v) if process is not None else v
                            for key, process in processors])
    return rows


class Fast:
    """A Core statement run on the DBAPI cursor of the session's connection, for the few
    statements of the hottest paths (the token endpoint, #4). SQLAlchemy's execution
    machinery (execution context, result metadata from ``cursor.description``) costs
    ~100 µs of CPU a statement on top of the driver's ~40 µs (bench/README.md); this runs
    the same SQL, compiled once per dialect, with the same bind and result processing
    (each type's own ``bind_processor``/``result_processor`` for the dialect), in the session's
    transaction. Rows come back as tuples in the order of the statement's columns (a
    SELECT's or a RETURNING's); ``run`` returns the DBAPI rowcount. The driver's errors are
    raised as SQLAlchemy's (``_translated``)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Any) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect)
        return found

    def _cursor(self, session: Session, params: dict[str, Any]) -> tuple[Any, _Compiled]:
        connection = session.connection()
        compiled = self._compiled(connection.dialect)
        raw = connection.connection.dbapi_connection
        assert raw is not None
        cursor, parameters = raw.cursor(), compiled.parameters(params)
        events = connection.dispatch  # the engine's cursor events fire as for any statement
        if events.before_cursor_execute:
            events.before_cursor_execute(connection, cursor, compiled.sql, parameters, None,
                                         False)
        try:
            cursor.execute(compiled.sql, parameters)
        except connection.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _translated(connection, raw, compiled.sql, parameters, exc) from exc
        if events.after_cursor_execute:
            events.after_cursor_execute(connection, cursor, compiled.sql, parameters, None,
                                        False)
        return cursor, compiled

    def first(self, session: Session, params: dict[str, Any]) -> tuple[Any, ...] | None:
        cursor, compiled = self._cursor(session, params)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else compiled.row(row)

    def all(self, session: Session, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        cursor, compiled = self._cursor(session, params)
        try:
            return [compiled.row(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def run(self, session: Session, params: dict[str, Any]) -> int:
        cursor, _compiled = self._cursor(session, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


def _translated(connection: Any, raw: Any, sql: str, parameters: Any,
                exc: Exception) -> StatementError:
    """The driver's error as SQLAlchemy raises it (``IntegrityError``, ``DataError``…, so a
    refused write reads the same whoever ran it); a lost connection is invalidated, so that
    the pool does not hand it out again."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(exc, raw, None)
    error = DBAPIError.instance(sql, parameters, exc, dialect.loaded_dbapi.Error,
                                connection_invalidated=lost, dialect=dialect)
    if lost:
        connection.invalidate(exc)
    return error


_NO_VALUE = object()


class _Compiled:
    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if any(b.expanding or b.literal_execute for b in compiled.binds.values()):
            raise ValueError("db.Fast runs statements whose parameters are all plain binds")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("db.Fast computes no column defaults: give every column a value")
        self.sql: str = compiled.string
        # by the name rendered in the SQL; a literal's bind (``Node.status == ACTIVE``)
        # keeps its value, a ``bindparam("x")`` takes the caller's ``x``
        rendered = {compiled.bind_names[b]: b for b in compiled.binds.values()}
        names = list(compiled.positiontup or []) if dialect.positional else list(rendered)
        self.positional = bool(dialect.positional)
        self.binds = [(name, rendered[name].key,
                       _NO_VALUE if rendered[name].required else rendered[name].effective_value,
                       rendered[name].type.dialect_impl(dialect).bind_processor(dialect))
                      for name in names]
        columns = list(getattr(statement, "exported_columns", ()))
        self.results = [(i, p) for i, c in enumerate(columns)
                        if (p := c.type.dialect_impl(dialect).result_processor(dialect, None))
                        is not None]

    def parameters(self, params: dict[str, Any]) -> Any:
        values = []
        for name, key, default, process in self.binds:
            value = params[key] if default is _NO_VALUE or key in params else default
            values.append((name, value if process is None or value is None
                           else process(value)))
        return tuple(v for _n, v in values) if self.positional else dict(values)

    def row(self, row: Any) -> tuple[Any, ...]:
        if not self.results:
            return tuple(row)
        values = list(row)
        for i, process in self.results:
            if values[i] is not None:
                values[i] = process(values[i])
        return tuple(values)


# Rows up to this many go in as one multi-row INSERT on the driver's cursor (insert_rows),
# of at most FEW_SHAPES shapes (table, columns, rows) kept: the columns follow the fields
# a client sets, so the shapes are bounded here, not by what clients send.
FEW = 8
FEW_SHAPES = 512
_FEW: dict[tuple[Any, tuple[str, ...], int], Fast] = {}


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]
                ) -> list[dict[str, Any]]:
    """``insert_many``; up to ``FEW`` rows as one multi-row INSERT compiled once per table,
    columns and number of rows and run by ``Fast`` (what one created SCIM User writes a
    table, #5: SQLAlchemy's executemany costs ~0.2 ms of CPU a statement more). A refusal
    by the database raises SQLAlchemy's exception for it (``IntegrityError``,
    ``DataError``…), as an INSERT through SQLAlchemy would."""
    if not rows or len(rows) > FEW:
        return insert_many(session, table, rows)
    rows = _with_defaults(table, rows)
    given = set().union(*(r.keys() for r in rows))
    keys = tuple(c.key for c in table.columns if c.key in given)
    stmt = _FEW.get((table, keys, len(rows)))
    if stmt is None:
        if len(_FEW) >= FEW_SHAPES:
            return insert_many(session, table, rows)
        stmt = _FEW[(table, keys, len(rows))] = Fast(sa_insert(table).values(
            [{k: bindparam(f"{k}_{i}", type_=table.c[k].type) for k in keys}
             for i in range(len(rows))]))
    stmt.run(session, {f"{k}_{i}": row.get(k) for i, row in enumerate(rows) for k in keys})
    return rows
