"""The key sets fetched from private_key_jwt clients' ``jwks_uri`` (``models.JwksUriCache``),
stored in the database so that every worker shares one cache and one refetch rate limit:
nothing a worker keeps in memory decides anything. ``idp.jwks_uri`` fetches and decides
when; these functions read and write in the caller's transaction and never commit.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory import audit
from directory.db import rowcount
from directory.db import utcnow
from directory.models import JwksUriCache


@dataclass(frozen=True)
class Cached:
    """What is known of one client's URI: the last good key set (None before the first
    successful fetch) and when it came, the last attempt and why it failed, if it did."""

    jwks: dict[str, Any] | None
    fetched_at: dt.datetime | None
    attempted_at: dt.datetime
    failure: str | None

    @property
    def kids(self) -> list[str | None]:
        return [] if self.jwks is None else [k.get("kid") for k in self.jwks["keys"]]


def get(session: Session, app_id: uuid.UUID, uri: str) -> Cached | None:
    row = session.execute(select(
        JwksUriCache.jwks, JwksUriCache.fetched_at, JwksUriCache.attempted_at,
        JwksUriCache.failure).where(JwksUriCache.app_id == app_id,
                                    JwksUriCache.jwks_uri == uri)).first()
    if row is None:
        return None
    return Cached(json.loads(row.jwks) if row.jwks else None, row.fetched_at,
                  row.attempted_at, row.failure)


def claim(session: Session, app_id: uuid.UUID, uri: str, now: dt.datetime,
          min_interval: dt.timedelta) -> bool:
    """The right to fetch now: at most one attempt per client and URI per ``min_interval``,
    across every worker. One upsert that inserts the row, or moves ``attempted_at`` of a
    row whose last attempt is older, and otherwise returns nothing (on PostgreSQL a
    concurrent claim waits for the first to commit, then returns nothing)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = insert(JwksUriCache).values(app_id=app_id, jwks_uri=uri, attempted_at=now)
    upsert = row.on_conflict_do_update(
        index_elements=[JwksUriCache.app_id, JwksUriCache.jwks_uri],
        set_={"attempted_at": row.excluded.attempted_at},
        where=JwksUriCache.attempted_at <= now - min_interval)
    return session.execute(upsert.returning(JwksUriCache.app_id)).first() is not None


def store(session: Session, ctx: audit.Context, app_id: uuid.UUID, uri: str,
          jwks: str) -> None:
    """Keep a fetched key set (checked JSON, ``directory.apps.check_jwks``). A set whose
    kids differ from the cached one's is audited (``app.client_keys_fetched``, the kids
    only): the client rotated its keys. Nothing is stored when the URI was replaced since
    the claim (its row is gone)."""
    before = get(session, app_id, uri)
    done = session.execute(update(JwksUriCache).where(
        JwksUriCache.app_id == app_id, JwksUriCache.jwks_uri == uri).values(
        jwks=jwks, fetched_at=utcnow(), failure=None))
    if not rowcount(done) or before is None:
        return
    kids = [k.get("kid") for k in json.loads(jwks)["keys"]]
    if kids != before.kids:
        audit.record(session, "app.client_keys_fetched", ctx, target_type="app",
                     target_id=app_id, summary={"kids": kids})


def failed(session: Session, app_id: uuid.UUID, uri: str, reason: str) -> None:
    """Record why the last attempt failed (a short code, never a body or a URL)."""
    session.execute(update(JwksUriCache).where(
        JwksUriCache.app_id == app_id, JwksUriCache.jwks_uri == uri).values(
        failure=reason[:100]))


def forget(session: Session, app_id: uuid.UUID) -> None:
    """The client's key source changed: whatever was fetched before is no longer its."""
    session.execute(delete(JwksUriCache).where(JwksUriCache.app_id == app_id))
