"""ID tokens (OIDC Core §2) and the logout hint that must be one of them."""

from __future__ import annotations

import json
import time
from typing import Any

from authlib.oidc.core import OpenIDCode
from flask import current_app
from flask import g
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from joserfc.jwk import import_key

from idp import grants
from idp import store
from idp import tokens
from idp.runtime import runtime
from policies.apps import ID_TOKEN_ALGS

ID_TOKEN_ALG = "ES256"  # unless the client registered RS256
SUPPORTED_ALGS = list(ID_TOKEN_ALGS)


class IdToken(OpenIDCode):
    """OIDC Core §2 ID tokens, signed with the key that signs now for the client's
    ``id_token_signed_response_alg`` (OIDC Registration §2: ES256 by default, RS256 on
    request): iss, sub (the account id), aud (the client), exp, iat, auth_time, nonce,
    amr, sid, at_hash. Scope claims are served by userinfo (§5.4)."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # the RP checks its nonce (§3.1.3.7); codes are single use anyway

    def _key(self, alg: str) -> tuple[str, ECKey | RSAKey]:
        cache = g.setdefault("idp_id_keys", {})
        if alg not in cache:
            rt = runtime(current_app)
            row = store.newest_signing_key(grants.db(), alg)
            if row is None:
                raise RuntimeError(f"no active {alg} signing key: run `idp init`")
            pem = rt.directory.cipher.decrypt(row.private_enc, "signing_keys.private")
            key = import_key(pem, "EC" if alg.startswith("ES") else "RSA")
            assert isinstance(key, ECKey | RSAKey)
            cache[alg] = (row.kid, key)
        found: tuple[str, ECKey | RSAKey] = cache[alg]
        return found

    def resolve_client_private_key(self, client: Any) -> ECKey | RSAKey:
        return self._key(self.get_client_algorithm(client))[1]

    def get_client_algorithm(self, client: Any) -> str:
        alg = client.app.id_token_signed_response_alg or ID_TOKEN_ALG
        return alg if alg in ID_TOKEN_ALGS else ID_TOKEN_ALG

    def get_encode_header(self, client: Any) -> dict[str, str]:
        alg = self.get_client_algorithm(client)
        return {"alg": alg, "kid": self._key(alg)[0], "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict[str, Any]:
        settings = grants.settings()
        now = int(time.time())
        return {"iss": settings.issuer, "aud": client.get_client_id(), "iat": now,
                "exp": now + settings.access_token_seconds}

    def get_authorization_code_claims(self, authorization_code: Any) -> dict[str, Any]:
        out: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if authorization_code.grant.session_id:
            out["sid"] = grants.public_sid(authorization_code.grant.session_id)
        return out

    def generate_user_info(self, user: grants.User, scope: str) -> dict[str, str]:
        return {"sub": str(user.account.id)}


def decode_id_token_hint(token: str) -> dict[str, Any] | None:
    """An ID token we issued (signature with our key of its ``kid`` and that key's own
    algorithm, ``typ`` JWT, our ``iss``); expiry is not checked (RP-Initiated Logout §2)."""
    try:
        header = json.loads(tokens._b64url(token.split(".", 1)[0]))
        row = store.signing_key(grants.db(), str(header.get("kid", "")))
        if row is None or header.get("alg") != row.alg or header.get("typ") != "JWT":
            return None
        decoded = jwt.decode(token, import_key(json.loads(row.public_jwk)),
                             algorithms=[row.alg])
    except (JoseError, ValueError, IndexError):
        return None
    if decoded.claims.get("iss") != grants.settings().issuer:
        return None
    return dict(decoded.claims)
