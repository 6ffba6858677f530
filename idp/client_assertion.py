"""Client authentication by ``private_key_jwt`` (OIDC Core §9, RFC 7523 §2.2 and §3) at the
token, introspection and revocation endpoints. authlib's ``JWTBearerClientAssertion`` reads
the request and joserfc verifies the JWT; this module supplies the keys, the algorithms, the
audiences and the replay check. Each refusal is ``invalid_client``:

* ``client_assertion_type`` is ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
  and ``sub`` names a client that may obtain tokens, registered for ``private_key_jwt``
  (a client of another method never authenticates this way, nor this one another way);
  a ``client_id`` parameter, if sent, names the same client (RFC 7521 §4.2);
* the signature verifies with the client's registered key named by ``kid`` (the only key
  when it has one and the header names none) — registered inline, or fetched from its
  ``jwks_uri`` and cached in the database (``idp.jwks_uri``: a kid not in the cached set
  has the set fetched again, at most once a minute; a set that cannot be fetched is
  refused) — with ES256, RS256 or PS256 only — never
  ``none``, never HS* — and an algorithm of that key's type (``Algorithm 'RS256' requires
  'RSA' key``);
* ``iss`` = ``sub`` = the client; ``aud`` contains the token endpoint URL or the issuer;
  ``exp`` is present, not past (``LEEWAY_SECONDS``) and at most ``MAX_LIFETIME_SECONDS``
  ahead; ``jti`` is present;
* the ``jti`` was never used (``directory.apps.first_use_of_assertion``): stored in the
  database and committed at once, so a second use on any worker is refused, and an
  assertion stays spent even when the rest of its request fails (RFC 7523 §3 (7)).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory import apps
from idp import grants
from idp import jwks_uri
from idp.tokens import LEEWAY_SECONDS  # clock skew, as for our own tokens
from policies import apps as app_policy

MAX_LIFETIME_SECONDS = 300  # an assertion is made for one request, not kept


def _refuse(description: str) -> InvalidClientError:
    return InvalidClientError(description=description)


class PrivateKeyJWT(JWTBearerClientAssertion):
    """``private_key_jwt`` for ``AuthorizationServer.register_client_auth_method``."""

    CLIENT_AUTH_METHOD = app_policy.PRIVATE_KEY_JWT

    def __init__(self, issuer: str, token_url: str, session: Callable[[], Session],
                 sessions: sessionmaker[Session]) -> None:
        super().__init__(validate_jti=True, leeway=LEEWAY_SECONDS)
        self._audiences = [token_url, issuer]
        self._session = session  # the request's
        self._sessions = sessions  # short transactions of the jwks_uri cache

    def __call__(self, query_client: Any, request: Any) -> Any:
        client = super().__call__(query_client, request)
        named = request.form.get("client_id")
        if client is not None and named is not None and named != client.get_client_id():
            raise _refuse("client_id is not the assertion's subject")
        return client

    def get_audiences(self) -> list[str]:
        """OIDC Core §9: the audience SHOULD be the token endpoint; RFC 7523 §3 allows
        the authorization server's issuer identifier."""
        return self._audiences

    def resolve_client_public_key(self, client: Any) -> Any:
        """The inline key set, or a resolver that reads the assertion's ``kid`` (joserfc
        calls it with the JWS) and answers with the key set fetched from the jwks_uri."""
        app = client.app
        if app.token_endpoint_auth_method != self.CLIENT_AUTH_METHOD or not (
                app.jwks or app.jwks_uri):
            raise _refuse("the client is not registered for private_key_jwt")
        if app.jwks:
            return KeySet.import_key_set(json.loads(app.jwks))

        def fetched(jws: Any) -> KeySet:
            keys = jwks_uri.key_set(self._session(), self._sessions, app,
                                    jws.headers().get("kid"),
                                    grants.audit_context(app.client_id))
            if keys is None:
                raise _refuse("the client's keys could not be had from its jwks_uri")
            return keys

        return fetched

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """RFC 7523 §3 (9): the signature, with the asymmetric algorithms only."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(app_policy.ASSERTION_ALGS))
        except (JoseError, ValueError) as exc:
            raise _refuse("the client assertion does not verify") from exc
        self.verify_claims(token.claims)
        return dict(token.claims)

    def verify_claims(self, claims: Any) -> None:
        """RFC 7523 §3 (4) and (7): ``exp`` and ``jti`` required, a short life; then
        authlib's ``iss``/``sub``/``aud``/``exp`` checks and the replay check."""
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise _refuse("the client assertion needs exp")
        if exp > time.time() + MAX_LIFETIME_SECONDS + self.leeway:
            raise _refuse(f"the client assertion lives at most {MAX_LIFETIME_SECONDS} s")
        if not isinstance(claims.get("jti"), str) or not claims["jti"]:
            raise _refuse("the client assertion needs jti")
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: str) -> bool:
        session = self._session()
        until = dt.datetime.fromtimestamp(claims["exp"] + self.leeway, dt.UTC)
        fresh = apps.first_use_of_assertion(session, claims["sub"], jti, until)
        session.commit()  # durable before anything is issued, whatever happens next
        return fresh
