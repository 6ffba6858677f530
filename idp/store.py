"""Server-side state of the identity provider (signing keys now; codes, tokens and
sessions with the OIDC issue, TODO #4)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import audit
from directory.crypto import FieldCipher
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
