"""Browser sessions (#4): server-side rows (``directory.models.BrowserSession``), a cookie
holding 256 random bits of which only the SHA-256 is stored.

* ``__Host-`` prefixed, Secure, HttpOnly, SameSite=Lax when the issuer is https; a plain
  http issuer is only allowed on loopback (``idp.config.validate``), and then the cookie
  drops the Secure flag and the prefix, which browsers refuse without https.
* Idle timeout and absolute lifetime from the settings; a new id at every sign-in
  (``start`` ends the browser's previous session: no session fixation).
* ``current`` answers None for an ended, idle, expired session or one whose account is
  no longer active (frozen, deactivated, expired): a frozen account is dead on every path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence

from flask import Response
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory.db import rowcount
from directory.db import utcnow
from directory.models import Account
from directory.models import AccountStatus
from directory.models import BrowserSession
from idp.config import Settings

PLAIN_COOKIE = "idp_session"
SECURE_COOKIE = "__Host-idp_session"
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most once a minute


def secure(settings: Settings) -> bool:
    return settings.issuer.startswith("https://")


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if secure(settings) else PLAIN_COOKIE


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def start(db: Session, settings: Settings, account: Account, *, amr: str = "pwd",
          user_agent: str | None = None, source_ip: str | None = None,
          replacing: str | None = None) -> tuple[BrowserSession, str]:
    """A new session for ``account``; returns it and the raw cookie value. ``replacing`` is
    the browser's current raw cookie, if any: that session ends (rotation at sign-in)."""
    if replacing:
        end(db, digest(replacing), "replaced")
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    row = BrowserSession(
        id=digest(raw), account_id=account.id, created_at=now, last_seen_at=now,
        auth_time=now, expires_at=now + dt.timedelta(hours=settings.session_max_hours),
        amr=amr, user_agent=(user_agent or "")[:200] or None, source_ip=source_ip)
    db.add(row)
    db.flush()
    return row, raw


def alive(row: BrowserSession, settings: Settings, now: dt.datetime) -> bool:
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    return row.ended_at is None and now < row.expires_at and now - row.last_seen_at < idle


def current(db: Session, settings: Settings, raw: str | None, *,
            touch: bool = True) -> BrowserSession | None:
    """The live session behind a cookie value, or None. Touches ``last_seen_at``."""
    if not raw or len(raw) > 100:
        return None
    row = db.get(BrowserSession, digest(raw))
    now = utcnow()
    if row is None or not alive(row, settings, now):
        return None
    account = db.get(Account, row.account_id)
    if account is None or account.status != AccountStatus.ACTIVE or (
            account.expires_at is not None and account.expires_at <= now):
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.flush()
    return row


def end(db: Session, session_id: str, reason: str) -> bool:
    """End one session; False when it had already ended."""
    return rowcount(db.execute(
        update(BrowserSession).where(BrowserSession.id == session_id,
                                     BrowserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
        .execution_options(synchronize_session=False))) > 0


def end_all(db: Session, account_id: uuid.UUID, reason: str,
            *, keep: str | None = None) -> list[str]:
    """End every live session of an account (except ``keep``); returns their ids."""
    stmt = select(BrowserSession.id).where(BrowserSession.account_id == account_id,
                                           BrowserSession.ended_at.is_(None))
    if keep is not None:
        stmt = stmt.where(BrowserSession.id != keep)
    ids = list(db.scalars(stmt))
    if ids:
        db.execute(update(BrowserSession).where(BrowserSession.id.in_(ids))
                   .values(ended_at=utcnow(), end_reason=reason)
                   .execution_options(synchronize_session=False))
    return ids


def live_sessions(db: Session, settings: Settings, account_id: uuid.UUID
                  ) -> Sequence[BrowserSession]:
    """An account's live sessions, newest first (the "my devices" page)."""
    now = utcnow()
    rows = db.scalars(select(BrowserSession).where(
        BrowserSession.account_id == account_id, BrowserSession.ended_at.is_(None),
        BrowserSession.expires_at > now).order_by(BrowserSession.created_at.desc())).all()
    return [r for r in rows if alive(r, settings, now)]


def set_cookie(response: Response, settings: Settings, raw: str) -> None:
    response.set_cookie(cookie_name(settings), raw, httponly=True, secure=secure(settings),
                        samesite="Lax", path="/",
                        max_age=settings.session_max_hours * 3600)


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings), path="/", secure=secure(settings),
                           httponly=True, samesite="Lax")
