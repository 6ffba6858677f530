"""OpenID Connect Back-Channel Logout 1.0: when sessions end (RP-initiated logout,
``/logout``, freeze, deactivation), every app that had a grant on them and registered a
``backchannel_logout_uri`` receives a logout token, POSTed after the commit.

* §2.4: a JWT signed like the client's ID tokens (its ``id_token_signed_response_alg``,
  ES256 by default or RS256; the newest signing key of that algorithm, verifiable with the
  JWKS) with ``iss``, ``aud`` (the client), ``iat``, ``exp`` (two minutes), ``jti``,
  ``sub`` (the account), ``sid`` (as in the ID token: ``grants.public_sid``) and
  ``events`` {"http://schemas.openid.net/event/backchannel-logout": {}}; header ``typ``
  ``logout+jwt`` (§2.4, RFC 8725 §3.11); never a ``nonce`` (§2.4).
* §2.5: ``application/x-www-form-urlencoded`` POST of ``logout_token``; redirects are not
  followed; a short timeout (``TIMEOUT``), the apps in parallel.
* §2.8: a failure (network error, timeout, a status other than 200/204) is audited as
  ``oidc.backchannel_logout_failed`` and does not fail the logout that caused it.

``collect`` (before the commit, while the grants are still live) names what to send;
``deliver`` (after it) sends.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import current_app
from flask import g
from flask import request
from joserfc import jwt
from joserfc.jwk import import_key
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from directory import app_access
from directory import audit
from directory.crypto import FieldCipher
from directory.models import App
from idp import grants
from idp import store
from idp.oidc.id_token import ID_TOKEN_ALG
from idp.oidc.id_token import ID_TOKEN_ALGS
from idp.runtime import runtime

log = logging.getLogger("idp.backchannel")
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYPE = "logout+jwt"
TIMEOUT = 3.0  # seconds per app
TOKEN_SECONDS = 120
MAX_PARALLEL = 8


@dataclass(frozen=True)
class Notice:
    """One logout token to send: to ``uri`` of ``client_id``, for ``sub``'s session."""

    client_id: str
    uri: str
    sub: str
    sid: str
    alg: str = ID_TOKEN_ALG  # the client's ID token algorithm


def collect(session: Session, account_id: uuid.UUID,
            pairs: list[tuple[str, str]]) -> list[Notice]:
    """The notices for (client_id, browser session id) pairs, for apps with a URI."""
    uris = app_access.backchannel_uris(session, [c for c, _ in pairs])
    algs: dict[str, str] = {}
    if uris:
        algs = {c: alg for c, alg in session.execute(
            select(App.client_id, App.id_token_signed_response_alg)
            .where(App.client_id.in_(list(uris)))) if alg in ID_TOKEN_ALGS}
    return [Notice(c, uris[c], str(account_id), grants.public_sid(s),
                   algs.get(c, ID_TOKEN_ALG))
            for c, s in sorted(set(pairs)) if c in uris]


def for_session(session: Session, account_id: uuid.UUID, session_id: str) -> list[Notice]:
    """Before ending one browser session: its apps' notices."""
    return collect(session, account_id, [
        (c, session_id) for c in app_access.session_clients(session, session_id)])


def for_account(session: Session, account_id: uuid.UUID) -> list[Notice]:
    """Before a freeze or deactivation: the notices for every session of the account."""
    return collect(session, account_id, app_access.live_session_clients(session, account_id))


def logout_token(session: Session, cipher: FieldCipher, issuer: str, notice: Notice) -> str:
    row = store.newest_signing_key(session, notice.alg)
    if row is None:
        raise RuntimeError(f"no active {notice.alg} signing key: run `idp init`")
    key = import_key(cipher.decrypt(row.private_enc, "signing_keys.private"),
                     "EC" if notice.alg.startswith("ES") else "RSA")
    now = int(time.time())
    claims = {"iss": issuer, "aud": notice.client_id, "iat": now, "exp": now + TOKEN_SECONDS,
              "jti": uuid.uuid4().hex, "sub": notice.sub, "sid": notice.sid,
              "events": {EVENT: {}}}
    return jwt.encode({"alg": notice.alg, "kid": row.kid, "typ": TOKEN_TYPE}, claims, key)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(uri: str, token: str, timeout: float = TIMEOUT) -> str | None:
    """POST one logout token; None on success (§2.8: 200 or 204), else why not."""
    request = urllib.request.Request(
        uri, data=urlencode({"logout_token": token}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cache-Control": "no-store"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, timeout, DNS, bad URL
        return type(exc).__name__
    return None if status in (200, 204) else f"status_{status}"


def deliver(sessions: sessionmaker[Session], cipher: FieldCipher, issuer: str,
            notices: list[Notice], ctx: audit.Context) -> dict[str, str | None]:
    """Send every notice (after the commit that ended the sessions); audit failures.
    Returns client_id → None (delivered) or the failure, for tests and logs."""
    if not notices:
        return {}
    with sessions() as session:
        signed = [(n, logout_token(session, cipher, issuer, n)) for n in notices]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(signed))) as pool:
        outcomes = list(pool.map(lambda item: post(item[0].uri, item[1]), signed))
    failed = [(n, why) for n, why in zip(notices, outcomes, strict=True) if why is not None]
    if failed:
        with sessions.begin() as session:
            for notice, error in failed:
                audit.record(session, "oidc.backchannel_logout_failed", ctx,
                             target_type="account", target_id=notice.sub,
                             summary={"client_id": notice.client_id, "error": error})
    for notice, why in zip(notices, outcomes, strict=True):
        log.info("back-channel logout", extra={"client_id": notice.client_id,
                                               "outcome": why or "delivered"})
    return {n.client_id: why for n, why in zip(notices, outcomes, strict=True)}


def send(notices: list[Notice], actor: str) -> dict[str, str | None]:
    """``deliver`` from a request, with the request's settings and audit context."""
    if not notices:
        return {}
    rt = runtime(current_app)
    return deliver(rt.sessions, rt.directory.cipher, rt.settings.issuer, notices,
                   audit.Context(actor=actor, source_ip=request.remote_addr,
                                 request_id=g.get("request_id")))


def deliver_revoked(sessions: sessionmaker[Session], cipher: FieldCipher, issuer: str,
                    revoked: list[tuple[uuid.UUID, list[tuple[str, str]]]],
                    actor: str) -> dict[str, str | None]:
    """``deliver`` for the (account, [(client, session)]) pairs that
    ``directory.accounts.revoke_everything`` recorded, after the commit (SCIM)."""
    with sessions() as session:
        notices = [n for account_id, pairs in revoked
                   for n in collect(session, account_id, pairs)]
    return deliver(sessions, cipher, issuer, notices, audit.Context(actor=actor))
