"""db.insert_many: COPY on PostgreSQL from COPY_FROM rows on, an executemany otherwise;
either way the same rows as an INSERT, Python defaults and bind processing included."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy import select

from directory import audit
from directory import db
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AccountType
from directory.models import AuditEvent


def _columns(row: Account) -> dict:
    return {c.key: getattr(row, c.key) for c in Account.__table__.columns
            if c.key not in ("id", "username", "created_at", "updated_at")}


@pytest.mark.parametrize("count", [db.COPY_FROM - 1, db.COPY_FROM, 3 * db.COPY_FROM])
def test_the_same_rows_as_an_insert(sessions, count):
    """Enums, UUIDs, booleans, NULLs and Python defaults (status, created_at, version…)
    come back as an INSERT's do, on both sides of the COPY threshold."""
    rows = [{"id": uuid.uuid4(), "username": f"copy.{count}.{i}", "type": AccountType.USER,
             "must_change_password": bool(i % 2), "person_id": None} for i in range(count)]
    reference = {"id": uuid.uuid4(), "username": f"insert.{count}", "type": AccountType.USER,
                 "must_change_password": True, "person_id": None}
    with sessions.begin() as s:
        db.insert_many(s, Account.__table__, rows)
        s.connection().execute(insert(Account.__table__), [reference])
    with sessions() as s:
        got = {a.username: a for a in s.scalars(select(Account).where(
            Account.username.like(f"%.{count}%")))}
    assert len(got) == count + 1
    expected = _columns(got[f"insert.{count}"])
    assert expected["status"] == AccountStatus.ACTIVE
    for i in range(count):
        row = got[f"copy.{count}.{i}"]
        assert row.id == rows[i]["id"] and row.created_at is not None
        assert row.created_at.tzinfo is not None
        assert _columns(row) == {**expected, "must_change_password": bool(i % 2)}


def test_audit_records_of_a_large_transaction_chain(sessions):
    """Many records in one COMMIT go in through insert_many and still verify."""
    ctx = audit.Context(actor="test:copy")
    with sessions.begin() as s:
        for i in range(2 * db.COPY_FROM):
            audit.record(s, "test.copied", ctx, target_type="thing", target_id=i,
                         summary={"名字": f"第{i}条", "n": i})
    with sessions() as s:
        assert list(audit.verify(s)) == []
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "test.copied")
                                .order_by(AuditEvent.seq)))
    assert [e.target_id for e in events] == [str(i) for i in range(2 * db.COPY_FROM)]
    assert events[3].summary == '{"n": 3, "名字": "第3条"}'
