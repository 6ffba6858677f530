"""Deleting protocol state that can no longer be used (#4): expired authorization codes,
refresh tokens and grants, ended or expired browser sessions, expired replay-cache
entries. Without it those tables only grow (Keycloak runs the same clean-up on a timer).

What a deleted row answers is what the expired or revoked row answered: a user's access
token whose grant is gone is refused and introspects inactive (``grants.token_grant``
finds no live grant either way), an unknown code or refresh token is ``invalid_grant``,
an unknown session cookie is signed out. Rows stay for ``grace`` after they died (one day
by default), so a replay just after expiry still meets its row and its reuse detection.

Deletes run in bounded batches, each its own short transaction (``DELETE … WHERE key IN
(SELECT key … LIMIT n)`` on both databases), so a purge never holds locks for long.
Workers stay stateless: ``due`` takes a database lease, so among all workers and machines
one purge runs per interval (``idp serve`` runs it in the background; ``idp purge``
runs it by hand or from cron).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory.db import rowcount
from directory.db import utcnow
from directory.models import AuthorizationCode
from directory.models import BrowserSession
from directory.models import OAuthGrant
from directory.models import RefreshToken
from directory.models import SeenOnce
from idp import store

log = logging.getLogger(__name__)

GRACE = dt.timedelta(days=1)
BATCH = 5000
INTERVAL_SECONDS = 900  # one purge per 15 minutes among all workers
LEASE_KEY = "purge:lease"


@dataclass
class Purged:
    codes: int = 0
    refresh_tokens: int = 0
    grants: int = 0
    sessions: int = 0
    seen_once: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _batches(sessions: sessionmaker[Session], key: InstrumentedAttribute[Any],
             where: Callable[[], ColumnElement[bool]], batch: int) -> int:
    """Delete the rows matching ``where`` ``batch`` at a time, one transaction each."""
    table, total = key.class_, 0
    while True:
        with sessions.begin() as session:
            picked = select(key).where(where()).limit(batch).scalar_subquery()
            done = rowcount(session.execute(
                delete(table).where(key.in_(picked)).execution_options(
                    synchronize_session=False)))
        total += done
        if done < batch:
            return total


def purge_expired(sessions: sessionmaker[Session], *, now: dt.datetime | None = None,
                  grace: dt.timedelta = GRACE, batch: int = BATCH) -> Purged:
    """Delete what died more than ``grace`` before ``now``; returns the counts."""
    now = now or utcnow()
    cutoff = now - grace
    dead_grant = or_(OAuthGrant.expires_at < cutoff, OAuthGrant.revoked_at < cutoff)
    dead_grants = select(OAuthGrant.id).where(dead_grant)
    out = Purged()
    out.codes = _batches(sessions, AuthorizationCode.code_hash, lambda: or_(
        AuthorizationCode.expires_at < cutoff, AuthorizationCode.grant_id.in_(dead_grants)),
        batch)
    out.refresh_tokens = _batches(sessions, RefreshToken.token_hash, lambda: or_(
        RefreshToken.expires_at < cutoff, RefreshToken.grant_id.in_(dead_grants)), batch)
    # a grant goes once nothing refers to it any more (a code or refresh token made
    # between the two steps above keeps it for the next purge)
    out.grants = _batches(sessions, OAuthGrant.id, lambda: dead_grant & ~OAuthGrant.id.in_(
        select(AuthorizationCode.grant_id)) & ~OAuthGrant.id.in_(
        select(RefreshToken.grant_id)), batch)
    out.sessions = _batches(sessions, BrowserSession.id, lambda: or_(
        BrowserSession.expires_at < cutoff, BrowserSession.ended_at < cutoff), batch)
    out.seen_once = _batches(sessions, SeenOnce.key, lambda: SeenOnce.expires_at < now,
                             batch)
    return out


def due(sessions: sessionmaker[Session], interval_seconds: int = INTERVAL_SECONDS) -> bool:
    """True for exactly one caller per interval, across every worker and machine: the
    first to count in the interval's window of a shared counter (``store.consume``)."""
    with sessions.begin() as session:
        return store.consume(session, LEASE_KEY, 1, interval_seconds) == 1


def run_if_due(sessions: sessionmaker[Session],
               interval_seconds: int = INTERVAL_SECONDS) -> Purged | None:
    if not due(sessions, interval_seconds):
        return None
    purged = purge_expired(sessions)
    log.info("purged expired protocol state", extra={"purged": purged.as_dict()})
    return purged


def start_background(sessions: sessionmaker[Session],
                     interval_seconds: int = INTERVAL_SECONDS) -> threading.Event:
    """A daemon thread that tries ``run_if_due`` every interval; set the returned event
    to stop it. A failed purge is logged and tried again at the next interval."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_seconds):
            try:
                run_if_due(sessions, interval_seconds)
            except Exception:  # logged, never fatal to the worker
                log.exception("purge of expired protocol state failed")

    threading.Thread(target=loop, name="idp-purge", daemon=True).start()
    return stop
