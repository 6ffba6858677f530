"""Server-side state of the identity provider: signing keys (and their rotation) and the
shared rate counters. Codes, grants and refresh tokens are ``idp.grants``'s."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory import audit
from directory.crypto import FieldCipher
from directory.db import utcnow
from directory.models import RateCounter
from directory.models import SigningKey
from idp import keys


def _published(now: dt.datetime) -> ColumnElement[bool]:
    return and_(SigningKey.status == "active",
                or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now))


def active_signing_keys(session: Session, now: dt.datetime | None = None) -> Sequence[SigningKey]:
    """The published keys (the JWKS): created, not yet retired."""
    return session.scalars(select(SigningKey).where(_published(now or utcnow()))
                           .order_by(SigningKey.created_at)).all()


def key_infos(session: Session) -> list[keys.KeyInfo]:
    """Every key that may still be published, for ``keys.RING`` (which compares the times
    with the clock at each use)."""
    rows = session.execute(select(
        SigningKey.kid, SigningKey.alg, SigningKey.public_jwk, SigningKey.private_enc,
        SigningKey.created_at, SigningKey.signs_from, SigningKey.retired_at)
        .where(SigningKey.status == "active")).all()
    return [keys.KeyInfo(kid=r.kid, alg=r.alg, public_jwk=r.public_jwk,
                         private_enc=r.private_enc, created_at=r.created_at,
                         signs_from=r.signs_from or r.created_at,
                         retired_at=r.retired_at) for r in rows]


def _add_key(session: Session, cipher: FieldCipher, ctx: audit.Context, alg: str,
             signs_from: dt.datetime | None, action: str) -> str:
    new = keys.generate(alg)
    session.add(SigningKey(kid=new.kid, alg=alg, public_jwk=new.public_jwk,
                           private_enc=cipher.encrypt(new.private_pem, "signing_keys.private"),
                           signs_from=signs_from))
    session.flush()
    audit.record(session, action, ctx, target_type="key", target_id=new.kid,
                 summary={"alg": alg, "signs_from": signs_from})
    keys.RING.forget()
    return new.kid


def ensure_signing_keys(session: Session, cipher: FieldCipher, ctx: audit.Context,
                        algs: tuple[str, ...] = ("ES256", "RS256")) -> list[str]:
    """Create one active key per algorithm that has none; returns the new key ids."""
    have = {k.alg for k in active_signing_keys(session)}
    return [_add_key(session, cipher, ctx, alg, None, "key.created")
            for alg in algs if alg not in have]


@dataclass(frozen=True)
class Rotation:
    kid: str
    alg: str
    signs_from: dt.datetime
    retiring: dict[str, dt.datetime]  # older kid -> when it leaves the JWKS


def rotate_signing_key(session: Session, cipher: FieldCipher, ctx: audit.Context, alg: str, *,
                       grace_seconds: int, token_seconds: int, leeway_seconds: int,
                       now: dt.datetime | None = None) -> Rotation:
    """``idp keys rotate`` for one algorithm: a new key, published now and signing after
    ``grace_seconds``; every older published key of the algorithm leaves the JWKS once the
    last token it may sign has expired (an earlier retirement already set is kept)."""
    now = now or utcnow()
    signs_from = now + dt.timedelta(seconds=grace_seconds)
    retire_at = keys.retire_time(signs_from, token_seconds, leeway_seconds)
    older = [k for k in active_signing_keys(session, now) if k.alg == alg]
    kid = _add_key(session, cipher, ctx, alg, signs_from, "key.rotated")
    retiring = {}
    for row in older:
        if row.retired_at is None or row.retired_at > retire_at:
            row.retired_at = retire_at
        retiring[row.kid] = row.retired_at
    session.flush()
    return Rotation(kid, alg, signs_from, retiring)


def mark_retired(session: Session, ctx: audit.Context, now: dt.datetime | None = None) -> list[str]:
    """Keys past their ``retired_at`` become ``retired`` (kept for the record, never used)."""
    now = now or utcnow()
    rows = session.scalars(select(SigningKey).where(
        SigningKey.status == "active", SigningKey.retired_at <= now)).all()
    for row in rows:
        row.status = "retired"
        audit.record(session, "key.retired", ctx, target_type="key", target_id=row.kid)
    session.flush()
    keys.RING.forget()
    return [row.kid for row in rows]


def all_signing_keys(session: Session) -> Sequence[SigningKey]:
    return session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()


def signing_key(session: Session, kid: str) -> SigningKey | None:
    """A published key by id (a retired one verifies nothing)."""
    return session.scalar(select(SigningKey).where(SigningKey.kid == kid,
                                                   _published(utcnow())))


def newest_signing_key(session: Session, alg: str) -> SigningKey | None:
    """The key that signs now (``keys.choose`` over the database)."""
    now = utcnow()
    infos = [k for k in key_infos(session) if k.alg == alg]
    chosen = keys.choose(infos, alg, now)
    return session.get(SigningKey, chosen.kid) if chosen is not None else None


def window_of(window_seconds: int) -> int:
    """The number of the current fixed window of ``window_seconds``."""
    return int(time.time()) // window_seconds


def consume(session: Session, key: str, amount: int, window_seconds: int = 60) -> int:
    """Add ``amount`` to the counter of the current window; returns the new total.

    One atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) on both databases, so
    concurrent workers never lose an increment.
    """
    window = window_of(window_seconds)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    upsert = insert(RateCounter).values(key=key, window_no=window, count=amount)
    stmt = upsert.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_no],
        set_={"count": RateCounter.count + amount}).returning(RateCounter.count)
    total = session.execute(stmt).scalar_one()
    session.execute(delete(RateCounter).where(RateCounter.key == key,
                                              RateCounter.window_no < window))
    return int(total)
