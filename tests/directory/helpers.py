"""Read-back helpers for the directory tests: each opens and closes its own session.

On SQLite every transaction starts with ``BEGIN IMMEDIATE``, so call these only while the
test's own ``session`` has no transaction open (outside ``with session.begin():``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory.models import AuditEvent


def count(sessions: sessionmaker[Session], model: Any, *where: Any) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_events(sessions: sessionmaker[Session]) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    return [e.action for e in audit_events(sessions)]


def last_audit(sessions: sessionmaker[Session]) -> AuditEvent:
    return audit_events(sessions)[-1]


def summary(event: AuditEvent) -> dict[str, Any]:
    return json.loads(event.summary)
