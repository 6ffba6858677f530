"""db.Fast: a Core statement on the driver's cursor gives what SQLAlchemy's execution
gives (the types' bind and result processing on both databases), in the session's
transaction, with the engine's cursor events."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from directory import db
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AccountType

_COLUMNS = (Account.id, Account.username, Account.type, Account.status,
            Account.expires_at, Account.must_change_password)
BY_NAME = db.Fast(select(*_COLUMNS).where(Account.username == bindparam("name")))
FREEZE = db.Fast(update(Account).where(Account.username == bindparam("name"),
                                       Account.status == bindparam("from_status"))
                 .values(status=bindparam("to_status"), updated_at=bindparam("now")))


def _account(sessions, name: str, expires: dt.datetime) -> uuid.UUID:
    key = uuid.uuid4()
    with sessions.begin() as s:  # a temporary account, so that it has an expiry
        s.execute(insert(Account), [{"id": key, "username": name, "type": AccountType.TEMPORARY,
                                     "expires_at": expires, "must_change_password": True}])
    return key


def test_a_row_comes_back_as_through_sqlalchemy(sessions) -> None:
    expires = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    key = _account(sessions, "fast.one", expires)
    with sessions() as s:
        fast = BY_NAME.first(s, {"name": "fast.one"})
        core = s.execute(select(*_COLUMNS).where(Account.username == "fast.one")).one()
        assert BY_NAME.first(s, {"name": "nobody"}) is None
    assert fast == tuple(core)
    assert fast is not None
    assert fast[0] == key and isinstance(fast[0], uuid.UUID)
    assert fast[2] is AccountType.TEMPORARY and fast[3] is AccountStatus.ACTIVE
    assert fast[4] == expires and fast[4].tzinfo is not None
    assert fast[5] is True


def test_all_rows_come_back_in_order_as_through_sqlalchemy(sessions) -> None:
    later = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    _account(sessions, "fast.b", later)
    _account(sessions, "fast.a", later)
    statement = (select(*_COLUMNS).where(or_(Account.username == "fast.a",
                                             Account.username == "fast.b",
                                             Account.username == "x"))
                 .order_by(Account.username))
    with sessions() as s:
        fast = db.Fast(statement).all(s, {})
        core = [tuple(row) for row in s.execute(statement)]
        none = db.Fast(select(*_COLUMNS).where(Account.username == bindparam("n"))).all(
            s, {"n": "nobody"})
    assert fast == core and [row[1] for row in fast] == ["fast.a", "fast.b"]
    assert none == []


def test_a_write_is_in_the_session_transaction_and_counts_rows(sessions) -> None:
    _account(sessions, "fast.two", dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    params = {"name": "fast.two", "from_status": AccountStatus.ACTIVE,
              "to_status": AccountStatus.FROZEN, "now": dt.datetime.now(dt.UTC)}
    with sessions() as s:
        assert FREEZE.run(s, params) == 1
        assert FREEZE.run(s, params) == 0  # no longer active
        s.rollback()
    with sessions() as s:
        assert BY_NAME.first(s, {"name": "fast.two"})[3] is AccountStatus.ACTIVE
        assert FREEZE.run(s, params) == 1
        s.commit()
    with sessions() as s:
        assert BY_NAME.first(s, {"name": "fast.two"})[3] is AccountStatus.FROZEN


def test_the_engine_cursor_events_fire(sessions, engine) -> None:
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.split(None, 1)[0])

    event.listen(engine, "before_cursor_execute", before)
    try:
        with sessions() as s:
            BY_NAME.first(s, {"name": "nobody"})
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert seen[-1:] == ["SELECT"]  # SQLite's BEGIN IMMEDIATE before it


def test_what_it_cannot_run_is_refused(sessions) -> None:
    """Expanding parameters and column defaults are SQLAlchemy's execution's work."""
    expanding = db.Fast(select(Account.id).where(
        Account.username.in_(bindparam("names", expanding=True))))
    defaulted = db.Fast(update(Account).where(Account.username == bindparam("name"))
                        .values(status=bindparam("to_status")))  # updated_at's onupdate
    with sessions() as s:
        with pytest.raises(ValueError, match="plain binds"):
            expanding.first(s, {"names": ["a"]})
        with pytest.raises(ValueError, match="column defaults"):
            defaulted.run(s, {"name": "a", "to_status": AccountStatus.FROZEN})


def test_a_refusal_is_sqlalchemy_s_exception(sessions) -> None:
    """The driver's error comes out as SQLAlchemy's (a taken key is an IntegrityError
    wherever it was written), and the transaction can be rolled back and go on."""
    from sqlalchemy.exc import IntegrityError

    _account(sessions, "fast.three", dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    again = db.Fast(insert(Account).values(
        id=bindparam("id"), username=bindparam("name"), type=bindparam("type"),
        status=bindparam("status"), expires_at=bindparam("expires"),
        must_change_password=bindparam("must"), created_at=bindparam("now"),
        updated_at=bindparam("now"), version=bindparam("version")))
    now = dt.datetime.now(dt.UTC)
    with sessions() as s:
        with pytest.raises(IntegrityError):
            again.run(s, {"id": uuid.uuid4(), "name": "fast.three", "now": now,
                          "type": AccountType.TEMPORARY, "status": AccountStatus.ACTIVE,
                          "expires": now, "must": True, "version": 1})
        s.rollback()
        assert BY_NAME.first(s, {"name": "fast.three"}) is not None
