"""Cache tokens (``CacheVersion``): writers change a data set's token in their own
transaction; readers keep a per-process copy only while the token matches. So a worker may
cache what every request needs (the hidden nodes) and still see another worker's change on
its very next request: the database stays the one source of truth."""

from __future__ import annotations

import uuid

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.db import rowcount
from directory.models import CacheVersion

HIDDEN = "hidden"
RULES = "rules"


def token(session: Session, name: str) -> str | None:
    return session.scalar(select(CacheVersion.token).where(CacheVersion.name == name))


def tokens(session: Session, *names: str) -> dict[str, str]:
    """Several tokens in one read (a missing one is absent from the answer)."""
    rows = session.execute(select(CacheVersion.name, CacheVersion.token)
                           .where(CacheVersion.name.in_(names)))
    return {name: token for name, token in rows}


def bump(session: Session, name: str) -> None:
    """A new random token (never a counter: a database re-created at the same URL must not
    match a copy cached from the old one)."""
    new = uuid.uuid4().hex
    if rowcount(session.execute(update(CacheVersion).where(CacheVersion.name == name)
                                .values(token=new))) == 0:
        session.execute(insert(CacheVersion).values(name=name, token=new))


def ensure(session: Session, *names: str) -> None:
    """Create the token rows that do not exist yet (``idp init``): without one, readers
    cannot keep a copy and load afresh on every request."""
    have = set(tokens(session, *names))
    for name in names:
        if name not in have:
            session.execute(insert(CacheVersion).values(name=name, token=uuid.uuid4().hex))
