"""RFC 8693 token exchange for proxies (代理人员, DOMAIN.md §3, #4).

A person's named proxy exchanges their own access token for one acting for the principal
during the proxy period. The request, at ``/oauth/token``:

* ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, by a confidential client
  registered for it (client_secret_basic or client_secret_post);
* ``subject_token``: the proxy's own access token (our RFC 9068 JWT), issued to this
  very client; ``subject_token_type=urn:ietf:params:oauth:token-type:access_token``;
* ``requested_subject``: the principal's account id (RFC 8693 leaves naming the new
  subject open; the name is Keycloak's). ``actor_token`` is refused: the proxy is the
  one presenting ``subject_token``, so there is nothing more to prove;
* ``scope`` (optional): a subset of the subject token's scope; ``requested_token_type``
  (optional): only the access token type.

Checked in order (``CHECKS``): each failure is an RFC 6749 §5.2 error and issues nothing.
The token issued has ``sub`` = the principal, ``act: {"sub": <proxy>}`` (§4.1),
``proxy`` = the proxy record's id, the client's ``client_id``; it lives at most
``access_token_seconds``, never past the subject token's ``exp`` nor the period's end. No
refresh token. Each exchange is audited ``oauth.token_exchanged`` (actor the proxy,
on behalf of the principal); each use at the contacts API ``proxy.acted`` (``record_use``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.errors import UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants import TokenEndpointMixin
from flask import current_app
from flask import g
from flask import request as flask_request
from sqlalchemy.orm import Session

from directory import apps
from directory import audit
from directory import proxies
from directory.db import utcnow
from directory.models import Account
from directory.models import Proxy
from idp import grants
from idp import tokens
from idp.runtime import runtime

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@dataclass
class Exchange:
    """What the checks establish, in the order they establish it."""

    form: dict[str, str]
    client_id: str
    subject: tokens.AccessToken | None = None
    principal_id: uuid.UUID | None = None
    record: Proxy | None = None
    scope: str = ""


def _context(proxy_id: str, principal_id: str) -> audit.Context:
    return audit.Context(actor=f"account:{proxy_id}", on_behalf_of=f"account:{principal_id}",
                         source_ip=flask_request.remote_addr, request_id=g.get("request_id"))


def check_parameters(x: Exchange) -> None:
    """RFC 8693 §2.1: subject_token and its type are required; we take access tokens only,
    and name the principal with requested_subject; no actor_token."""
    if not x.form.get("subject_token"):
        raise InvalidRequestError("subject_token is required")
    if x.form.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise InvalidRequestError("subject_token_type must be the access token type")
    if x.form.get("actor_token") or x.form.get("actor_token_type"):
        raise InvalidRequestError("actor_token is not supported")
    if x.form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise InvalidRequestError("only access tokens are issued")
    try:
        x.principal_id = uuid.UUID(x.form.get("requested_subject", ""))
    except ValueError as exc:
        raise InvalidRequestError("requested_subject must be the principal's account id") \
            from exc


def check_subject_token(x: Exchange) -> None:
    """The proxy's own user token, ours, issued to this client, its grant alive."""
    session = grants.db()
    try:
        x.subject = tokens.verify_access_token(session, runtime(current_app).settings.issuer,
                                               x.form["subject_token"])
    except tokens.InvalidToken as exc:
        raise InvalidGrantError("subject_token is not valid") from exc
    if x.subject.client_id != x.client_id:
        raise InvalidGrantError("subject_token was issued to another client")
    if x.subject.subject == x.subject.client_id:
        raise InvalidGrantError("subject_token is an app's own token")
    if "grant" in x.subject.claims and grants.token_grant(session, x.subject) is None:
        raise InvalidGrantError("subject_token's grant is revoked")


def check_proxy(x: Exchange) -> None:
    """policies.proxies.check_acting: an unrevoked period now, active parties, no chains
    (a token already acting for someone is never exchanged again)."""
    assert x.subject is not None and x.principal_id is not None
    try:
        proxy_id = uuid.UUID(x.subject.subject)
    except ValueError as exc:
        raise InvalidGrantError("subject_token has no account") from exc
    x.record, decision = proxies.active_proxy(grants.db(), x.principal_id, proxy_id,
                                              already_acting="act" in x.subject.claims)
    if x.record is None:
        raise InvalidGrantError(decision.rule)


def check_app(x: Exchange) -> None:
    """The principal may use this app (its access policy, temporary accounts' lists)."""
    session = grants.db()
    assert x.record is not None
    principal = session.get(Account, x.record.principal_id)
    if principal is None or not apps.account_may_use(session, principal, x.client_id):
        raise InvalidGrantError("the principal may not use this app")


def check_scope(x: Exchange) -> None:
    """RFC 8693 §2.1 scope: never wider than the subject token's (no scope: the same)."""
    assert x.subject is not None
    asked = x.form.get("scope", "").split()
    if not asked:
        x.scope = " ".join(sorted(x.subject.scope))
    elif set(asked) <= x.subject.scope:
        x.scope = " ".join(dict.fromkeys(asked))
    else:
        raise InvalidScopeError("scope wider than the subject token's")


CHECKS: list[Callable[[Exchange], None]] = [
    check_parameters, check_subject_token, check_proxy, check_app, check_scope]


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 token exchange, proxies only (module docstring)."""

    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError()
        self.request.client = client
        form = {k: v for k, v in self.request.form.items() if isinstance(v, str)}
        self.exchange = Exchange(form, client.get_client_id())
        for check in CHECKS:
            check(self.exchange)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        x = self.exchange
        assert x.subject is not None and x.record is not None
        rt, session = runtime(current_app), grants.db()
        now = int(time.time())
        ttl = min(rt.settings.access_token_seconds, int(x.subject.claims["exp"]) - now,
                  int((x.record.ends_at - utcnow()).total_seconds()))
        if ttl <= 0:
            raise InvalidGrantError("subject_token or proxy period ends now")
        principal, proxy = str(x.record.principal_id), str(x.record.proxy_id)
        extra: dict[str, Any] = {"act": {"sub": proxy}, "proxy": str(x.record.id)}
        if "auth_time" in x.subject.claims:
            extra["auth_time"] = x.subject.claims["auth_time"]
        access = tokens.mint_access_token(session, rt.directory.cipher, rt.settings.issuer,
                                          subject=principal, client_id=x.client_id,
                                          scope=x.scope, ttl=ttl, extra=extra)
        audit.record(session, "oauth.token_exchanged", _context(proxy, principal),
                     target_type="account", target_id=principal,
                     summary={"client_id": x.client_id, "scope": x.scope,
                              "proxy_record": str(x.record.id), "expires_in": ttl})
        session.commit()
        body = {"access_token": access, "issued_token_type": ACCESS_TOKEN_TYPE,
                "token_type": "Bearer", "expires_in": ttl, "scope": x.scope}
        return 200, body, self.TOKEN_RESPONSE_HEADER


def record_use(session: Session, token: tokens.AccessToken, path: str) -> bool:
    """A token carrying ``act`` used at the contacts API: True (and ``proxy.acted`` audited,
    committed) while its proxy still acts for its subject now, else False."""
    act = token.claims.get("act")
    try:
        proxy_id = uuid.UUID(str(act.get("sub") if isinstance(act, dict) else ""))
        principal_id = uuid.UUID(token.subject)
    except ValueError:
        return False
    record, _ = proxies.active_proxy(session, principal_id, proxy_id)
    if record is None or str(record.id) != token.claims.get("proxy"):
        return False
    audit.record(session, "proxy.acted", _context(str(proxy_id), str(principal_id)),
                 target_type="account", target_id=principal_id,
                 summary={"client_id": token.client_id, "path": path,
                          "proxy_record": str(record.id)})
    session.commit()
    return True
