"""The audit log: append-only, hash-chained records written in the caller's transaction.

Each record holds the SHA-256 of the previous record's hash and its own canonical
content, and consecutive sequence numbers, so ``verify`` names any record that was
edited, inserted or deleted with SQL behind the server's back. Appends are serialised
(a transaction-scoped advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so two
writers never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.db import utcnow
from directory.models import AuditEvent

GENESIS_HASH = "0" * 64
_LOCK_KEY = 0x1D9A0D17
# Keys whose values never reach the audit log, whatever a caller passes.
SENSITIVE_KEYS = frozenset(
    {"password", "password_hash", "id_number", "mobile", "totp_secret", "secret", "token"}
)


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


def _canonical(event: AuditEvent) -> bytes:
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


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def record(
    session: Session,
    action: str,
    ctx: Context,
    *,
    target_type: str | None = None,
    target_id: object | None = None,
    summary: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one record to the chain inside the caller's transaction."""
    _lock_chain(session)
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    event = AuditEvent(
        seq=seq,
        at=utcnow(),
        actor=ctx.actor,
        on_behalf_of=ctx.on_behalf_of,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        summary=json.dumps(scrub(summary or {}), ensure_ascii=False, sort_keys=True, default=str),
        source_ip=ctx.source_ip,
        request_id=ctx.request_id,
        prev_hash=prev,
    )
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


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
