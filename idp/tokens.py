"""JWT access tokens (RFC 9068) signed with the server's keys (joserfc).

The OIDC provider (#4) issues them; the contacts API (#3) verifies them. Keys come from
the per-process ring of ``idp.keys`` (imported once per ``kid``), not from a query per
token. Verification
checks, in order: the header's ``typ`` is ``at+jwt`` (RFC 9068 §4), the key id is ours
and the algorithm is the key's own (no ``alg`` confusion), the signature, then ``iss``,
``exp`` / ``iat`` with a small leeway, and a present ``sub``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from directory.crypto import FieldCipher
from directory.db import utcnow
from idp import keys
from idp import store

ACCESS_TOKEN_TYPE = "at+jwt"
LEEWAY_SECONDS = 30


class InvalidToken(Exception):
    """The bearer token is not one of ours, or no longer valid (RFC 6750 invalid_token)."""


@dataclass(frozen=True)
class AccessToken:
    subject: str
    client_id: str
    scope: frozenset[str]
    claims: dict[str, Any]


_DATABASE_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def database_key(engine: Engine) -> str:
    """What the ring files a database's keys under: its URL (rendered once an engine)."""
    key = _DATABASE_KEYS.get(engine)
    if key is None:
        key = _DATABASE_KEYS[engine] = str(engine.url)
    return key


def _db(session: Session) -> str:
    return database_key(session.get_bind().engine)


@dataclass(frozen=True)
class KeySource:
    """Where the ring reads the keys when it must (``idp.keys``): the database's key and a
    way to a session, opened only then (a token endpoint's, ``idp.oauth``)."""

    db: str
    session: Callable[[], Session]

    @classmethod
    def of(cls, session: Session) -> KeySource:
        return cls(_db(session), lambda: session)


def signing_key(source: Session | KeySource, cipher: FieldCipher, alg: str = "ES256",
                ) -> tuple[str, keys.Key]:
    """The key that signs now, from the per-process ring: no query and no decryption on
    the hot path (``idp.keys``)."""
    if isinstance(source, Session):
        source = KeySource.of(source)
    opener = source.session
    info = keys.RING.signer(source.db, lambda: store.key_infos(opener()), alg)
    if info is None:
        raise RuntimeError("no active signing key: run `idp init`")
    return info.kid, keys.RING.private_key(
        info, lambda enc: cipher.decrypt(enc, "signing_keys.private"))


def mint_access_token(source: Session | KeySource, cipher: FieldCipher, issuer: str, *,
                      subject: str, client_id: str, scope: str, ttl: int = 600,
                      alg: str = "ES256", extra: dict[str, Any] | None = None) -> str:
    kid, key = signing_key(source, cipher, alg)
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": issuer, "client_id": client_id,
              "scope": scope, "iat": now, "nbf": now, "exp": now + ttl,
              "jti": secrets.token_hex(16), **(extra or {})}
    header = {"alg": alg, "kid": kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(header, claims, key)


def _public_key(session: Session, token: str) -> tuple[keys.Key, str]:
    try:
        header = json.loads(_b64url(token.split(".", 1)[0]))
    except (ValueError, IndexError) as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("not an access token")
    info = keys.RING.find(_db(session), lambda: store.key_infos(session),
                          str(header.get("kid", "")))
    if info is None or not info.published(utcnow()) or header.get("alg") != info.alg:
        raise InvalidToken("unknown key")
    key = keys.RING.public_key(info)
    if key is None:
        raise InvalidToken("unsupported key")
    return key, info.alg


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# Tokens whose signature this process has checked, by database, issuer and the token's
# SHA-256 (at most VERIFIED_MAX, the oldest dropped first). A signature's check is the same
# every time; what can change is checked at every use all the same: the key is still
# published with that algorithm (``_public_key``) and the times (``exp``, ``nbf``, ``iat``).
# Revocation is the callers' (the grant, the app's status), as before. ES256's verification
# was ~40% of an API request's token check (#3, #5).
VERIFIED_MAX = 8192
_VERIFIED: dict[tuple[str, str, bytes], AccessToken] = {}
_VERIFIED_LOCK = threading.Lock()


def verify_access_token(session: Session, issuer: str, token: str) -> AccessToken:
    key, alg = _public_key(session, token)
    known_as = (_db(session), issuer, hashlib.sha256(token.encode()).digest())
    known = _VERIFIED.get(known_as)
    try:
        claims = (known.claims if known is not None
                  else dict(jwt.decode(token, key, algorithms=[alg]).claims))
        JWTClaimsRegistry(leeway=LEEWAY_SECONDS, iss={"essential": True, "value": issuer},
                          sub={"essential": True}, exp={"essential": True}).validate(claims)
    except (JoseError, ValueError) as exc:
        raise InvalidToken("invalid token") from exc
    if known is not None:
        return replace(known, claims=dict(known.claims))
    access = AccessToken(subject=str(claims["sub"]), client_id=str(claims.get("client_id", "")),
                         scope=frozenset(str(claims.get("scope", "")).split()), claims=claims)
    with _VERIFIED_LOCK:
        _VERIFIED[known_as] = replace(access, claims=dict(claims))
        if len(_VERIFIED) > VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]
    return access
