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
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
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


def _db(session: Session) -> str:
    return str(session.get_bind().engine.url)


def signing_key(session: Session, cipher: FieldCipher, alg: str = "ES256",
                ) -> tuple[str, keys.Key]:
    """The key that signs now, from the per-process ring: no query and no decryption on
    the hot path (``idp.keys``)."""
    info = keys.choose(keys.RING.keys(_db(session), lambda: store.key_infos(session)), alg,
                       utcnow())
    if info is None:
        raise RuntimeError("no active signing key: run `idp init`")
    return info.kid, keys.RING.private_key(
        info, lambda enc: cipher.decrypt(enc, "signing_keys.private"))


def mint_access_token(session: Session, cipher: FieldCipher, issuer: str, *, subject: str,
                      client_id: str, scope: str, ttl: int = 600, alg: str = "ES256",
                      extra: dict[str, Any] | None = None) -> str:
    kid, key = signing_key(session, cipher, alg)
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": issuer, "client_id": client_id,
              "scope": scope, "iat": now, "nbf": now, "exp": now + ttl,
              "jti": uuid.uuid4().hex, **(extra or {})}
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


def verify_access_token(session: Session, issuer: str, token: str) -> AccessToken:
    key, alg = _public_key(session, token)
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
        JWTClaimsRegistry(leeway=LEEWAY_SECONDS, iss={"essential": True, "value": issuer},
                          sub={"essential": True}, exp={"essential": True}).validate(
            decoded.claims)
    except (JoseError, ValueError) as exc:
        raise InvalidToken("invalid token") from exc
    claims = dict(decoded.claims)
    return AccessToken(subject=str(claims["sub"]), client_id=str(claims.get("client_id", "")),
                       scope=frozenset(str(claims.get("scope", "")).split()), claims=claims)
