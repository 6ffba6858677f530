"""The audit log: append-only, hash-chained records written in the caller's transaction.

Each record holds the SHA-256 of the previous record's hash and its own canonical
content, and consecutive sequence numbers, so ``verify`` names any record that was
edited, inserted or deleted with SQL behind the server's back.

``record`` only queues a record on the session; the records of a transaction are chained
when it commits (``before_commit``): its other writes are flushed first, then the chain is
locked (a transaction-scoped advisory lock on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises writers), its head read, and this transaction's records numbered,
linked and inserted in one statement just before COMMIT. Two writers never fork the chain,
and the lock is held for that last step only instead of from a transaction's first record
to its end (which made every writing transaction wait for the one before, #5). A record
queued inside a savepoint that rolls back is dropped with it. A read of ``audit_events``
through the session (``audit.head``, ``verify``, any ``select(AuditEvent…)``) chains what
is queued first, so a transaction sees its own records, numbered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session
from sqlalchemy.orm import SessionTransaction

from directory.db import Fast
from directory.db import insert_rows
from directory.db import utcnow
from directory.models import AuditEvent

GENESIS_HASH = "0" * 64
_LOCK_KEY = 0x1D9A0D17
_PENDING = "audit.pending"  # session.info key: [(transaction queued in, record), …]
# Keys whose values never reach the audit log, whatever a caller passes.
SENSITIVE_KEYS = frozenset(
    {"password", "password_hash", "id_number", "mobile", "totp_secret", "secret", "token"}
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """Who acts, for whom, from where: carried by every write."""

    actor: str
    on_behalf_of: str | None = None
    source_ip: str | None = None
    request_id: str | None = None


SYSTEM = Context(actor="system")


def scrub(summary: dict[str, Any]) -> dict[str, Any]:
    """Replace sensitive values by a marker saying only that they were set or changed."""
    clean: dict[str, Any] = {}
    for key, value in summary.items():
        if key in SENSITIVE_KEYS:
            clean[key] = "[set]" if value else "[cleared]"
        elif isinstance(value, dict):
            clean[key] = scrub(value)
        else:
            clean[key] = value
    return clean


@dataclass(slots=True)
class Queued:
    """A record waiting for its transaction's COMMIT to join the chain: the columns of an
    ``AuditEvent`` row, as a plain object (a Bulk of 1,000 Users queues 3,000)."""

    at: dt.datetime
    actor: str
    on_behalf_of: str | None
    action: str
    target_type: str | None
    target_id: str | None
    summary: str
    source_ip: str | None
    request_id: str | None
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""


def _canonical(event: AuditEvent | Queued) -> bytes:
    body = [
        event.seq,
        event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        event.actor,
        event.on_behalf_of,
        event.action,
        event.target_type,
        event.target_id,
        event.summary,
        event.source_ip,
        event.request_id,
        event.prev_hash,
    ]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def compute_hash(event: AuditEvent | Queued) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _row(e: Queued) -> dict[str, Any]:
    """The ``audit_events`` row of a chained record (a Bulk of 1,000 Users writes 3,000)."""
    return {"seq": e.seq, "at": e.at, "actor": e.actor, "on_behalf_of": e.on_behalf_of,
            "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
            "summary": e.summary, "source_ip": e.source_ip, "request_id": e.request_id,
            "prev_hash": e.prev_hash, "hash": e.hash}


def record(
    session: Session,
    action: str,
    ctx: Context,
    *,
    target_type: str | None = None,
    target_id: object | None = None,
    summary: dict[str, Any] | None = None,
) -> Queued:
    """Queue one record in the caller's transaction; it joins the chain at COMMIT (its
    ``seq``, ``prev_hash`` and ``hash`` are set then, or at the first read of the chain
    through this session)."""
    event = Queued(
        at=utcnow(),
        actor=ctx.actor,
        on_behalf_of=ctx.on_behalf_of,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        summary=json.dumps(scrub(summary or {}), ensure_ascii=False, sort_keys=True, default=str),
        source_ip=ctx.source_ip,
        request_id=ctx.request_id,
    )
    queued = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((queued, event))
    return event


# The chain's statements, compiled once per dialect and run on the driver's cursor
# (db.Fast): every writing request runs them.
_LOCK = Fast(select(func.pg_advisory_xact_lock(bindparam("k"))))
_HEAD = Fast(select(AuditEvent.seq, AuditEvent.hash).where(
    AuditEvent.seq == select(func.max(AuditEvent.seq)).scalar_subquery()))


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _LOCK.first(session, {"k": _LOCK_KEY})


def _chain(session: Session) -> None:
    """Append the queued records: flush the transaction's other writes, then lock, read
    the head, number and link the records, insert them (one statement)."""
    queued = session.info.pop(_PENDING, None)
    if not queued:
        return
    session.flush()
    _lock_chain(session)
    head_row = _HEAD.first(session, {})
    seq, prev = (head_row[0], head_row[1]) if head_row else (0, GENESIS_HASH)
    rows = []
    for _tx, event in queued:
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = prev = compute_hash(event)
        rows.append(_row(event))
    insert_rows(session, AuditEvent.__table__, rows)


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.get_nested_transaction() is None:  # a SAVEPOINT's release chains nothing
        _chain(session)


@sa_event.listens_for(Session, "do_orm_execute")
def _before_read(state: ORMExecuteState) -> None:
    if state.session.info.get(_PENDING) and state.is_select and any(
            m.class_ is AuditEvent for m in state.all_mappers):
        _chain(state.session)


def _inside(tx: SessionTransaction | None, outer: SessionTransaction) -> bool:
    if tx is None:  # queued before the session began: belongs to the outer transaction
        return outer.parent is None
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    """The records queued in a transaction or savepoint that rolled back go with it."""
    queued = session.info.get(_PENDING)
    if queued:
        session.info[_PENDING] = [(tx, e) for tx, e in queued if not _inside(tx, previous)]


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is None and session.info.get(_PENDING):
        # only a COMMIT of the outer transaction while a savepoint was open gets here
        log.error("audit records were queued but not chained: commit with a savepoint open")


@sa_event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # closed without COMMIT: nothing queued outlives it
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Finding:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.problem}"


def verify(session: Session) -> Iterator[Finding]:
    """Walk the chain in order and yield every record that does not fit."""
    expected_seq, expected_prev = 1, GENESIS_HASH
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(
        yield_per=2000))
    for event in rows:
        if event.seq != expected_seq:
            missing = (
                f"{expected_seq}" if event.seq == expected_seq + 1
                else f"{expected_seq}..{event.seq - 1}"
            )
            yield Finding(event.seq, f"record(s) {missing} before it were deleted")
        elif event.prev_hash != expected_prev:
            yield Finding(event.seq, "previous-hash link broken (a record before it was altered)")
        if compute_hash(event) != event.hash:
            yield Finding(event.seq, "contents do not match its hash (edited or inserted)")
        expected_seq, expected_prev = event.seq + 1, event.hash


def head(session: Session) -> tuple[int, str]:
    """The last (seq, hash): anchor it outside the database to detect truncation."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)
