"""Server-side state of the identity provider (signing keys now; codes, tokens and
sessions with the OIDC issue, TODO #4)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from directory import audit
from directory.crypto import FieldCipher
from directory.models import RateCounter
from directory.models import SigningKey
from idp import keys


def active_signing_keys(session: Session) -> Sequence[SigningKey]:
    return session.scalars(
        select(SigningKey).where(SigningKey.status == "active").order_by(SigningKey.created_at)
    ).all()


def ensure_signing_keys(session: Session, cipher: FieldCipher, ctx: audit.Context,
                        algs: tuple[str, ...] = ("ES256", "RS256")) -> list[str]:
    """Create one active key per algorithm that has none; returns the new key ids."""
    have = {k.alg for k in active_signing_keys(session)}
    created = []
    for alg in algs:
        if alg in have:
            continue
        new = keys.generate(alg)
        session.add(SigningKey(kid=new.kid, alg=alg, public_jwk=new.public_jwk,
                               private_enc=cipher.encrypt(new.private_pem, "signing_keys.private")))
        session.flush()
        audit.record(session, "key.created", ctx, target_type="key", target_id=new.kid,
                     summary={"alg": alg})
        created.append(new.kid)
    return created


def signing_key(session: Session, kid: str) -> SigningKey | None:
    return session.get(SigningKey, kid)


def newest_signing_key(session: Session, alg: str) -> SigningKey | None:
    return session.scalar(select(SigningKey).where(
        SigningKey.status == "active", SigningKey.alg == alg)
        .order_by(SigningKey.created_at.desc()).limit(1))


def consume(session: Session, key: str, amount: int, window_seconds: int = 60) -> int:
    """Add ``amount`` to the counter of the current window; returns the new total.

    One atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) on both databases, so
    concurrent workers never lose an increment.
    """
    window = int(time.time()) // window_seconds
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
