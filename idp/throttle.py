"""Sign-in throttling shared by every worker: counters and locks are database rows.

* Per account: ``login_max_failures`` failed passwords or codes within
  ``login_lockout_minutes`` lock the account for ``login_lockout_minutes`` from the last
  of them (default 5 then 15 minutes: at most ~20 guesses an hour). A lock is a
  ``rate_counters`` row ``login:lock:<account id>`` whose count is the unlock time in
  seconds since ``EPOCH`` (window 0); a success or an operator's password reset clears it.
* Per source address: ``IP_MAX_FAILURES`` failures per ``IP_WINDOW_SECONDS`` fixed window
  (``store.consume``); beyond it every attempt from that address is refused.
* A refusal here looks exactly like a wrong password to the caller (``idp.login``).

The lock rows are written here rather than in ``idp.store`` because they are this
module's concept; the SQL is one upsert, one select and one delete on ``RateCounter``
(a sign-in that succeeds: one select and the delete of ``reset``).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory.models import RateCounter
from idp import store
from idp.config import Settings

IP_MAX_FAILURES = 30
IP_WINDOW_SECONDS = 15 * 60
EPOCH = 1_700_000_000  # lock times are stored relative to this, so they fit 32 bits


def _now() -> int:
    return int(time.time())


def _failures_key(account_id: uuid.UUID) -> str:
    return f"login:fail:{account_id}"


def _lock_key(account_id: uuid.UUID) -> str:
    return f"login:lock:{account_id}"


def _ip_key(source_ip: str | None) -> str:
    return f"login:ip:{(source_ip or 'unknown')[:64]}"


def locked_until(db: Session, account_id: uuid.UUID) -> dt.datetime | None:
    """When the account's lock ends, or None when it is not locked."""
    return _lock_end(db.scalar(select(RateCounter.count).where(
        RateCounter.key == _lock_key(account_id), RateCounter.window_no == 0)))


def _lock_end(value: int | None) -> dt.datetime | None:
    """A lock row's count as the time the lock ends, or None when it has ended."""
    if value is None or EPOCH + value <= _now():
        return None
    return dt.datetime.fromtimestamp(EPOCH + value, dt.UTC)


def refused(db: Session, account_id: uuid.UUID | None, source_ip: str | None) -> bool:
    """True when this attempt must be refused whatever its credentials: the source's
    failures in this window and the account's lock, read in one statement (a read: the
    counters only grow on failures, ``failed``)."""
    wanted = [(_ip_key(source_ip), store.window_of(IP_WINDOW_SECONDS))]
    if account_id is not None:
        wanted.append((_lock_key(account_id), 0))
    found: dict[str, int] = {key: count for key, count in db.execute(
        select(RateCounter.key, RateCounter.count).where(or_(*(
            and_(RateCounter.key == key, RateCounter.window_no == window)
            for key, window in wanted))))}
    if found.get(wanted[0][0], 0) >= IP_MAX_FAILURES:
        return True
    return account_id is not None and _lock_end(found.get(_lock_key(account_id))) is not None


def _lock(db: Session, account_id: uuid.UUID, until: int) -> None:
    dialect = db.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    value = until - EPOCH
    stmt = insert(RateCounter).values(key=_lock_key(account_id), window_no=0, count=value)
    db.execute(stmt.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_no], set_={"count": value}))


def failed(db: Session, settings: Settings, account_id: uuid.UUID | None,
           source_ip: str | None) -> bool:
    """Count one failure; True when it locked the account."""
    store.consume(db, _ip_key(source_ip), 1, IP_WINDOW_SECONDS)
    if account_id is None:
        return False
    window = settings.login_lockout_minutes * 60
    total = store.consume(db, _failures_key(account_id), 1, window)
    if total < settings.login_max_failures:
        return False
    _lock(db, account_id, _now() + window)
    db.execute(delete(RateCounter).where(RateCounter.key == _failures_key(account_id)))
    return True


def reset(db: Session, account_id: uuid.UUID) -> None:
    """Forget the account's failures and lock (a success, an operator's reset)."""
    db.execute(delete(RateCounter).where(
        RateCounter.key.in_([_failures_key(account_id), _lock_key(account_id)])))
