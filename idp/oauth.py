"""The OAuth 2.0 token endpoint (authlib does the protocol) and the metadata around it.

Implemented so far: the client credentials grant (RFC 6749 §4.4) for confidential clients
authenticating with client_secret_basic or client_secret_post, issuing RFC 9068 JWT
access tokens signed with the server's keys (``idp.tokens``); the JWKS; and the RFC 8414
metadata, which advertises exactly this and nothing more. Only online apps obtain tokens.
"""

from __future__ import annotations

import json
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request as flask_request
from sqlalchemy.orm import Session

from directory import apps
from directory import audit
from directory.models import App
from idp import store
from idp import tokens
from idp.runtime import runtime
from policies import apps as app_policy

bp = Blueprint("oauth", __name__)
TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/jwks.json"
ACCESS_TOKEN_TTL = 600


class Client(ClientMixin):
    """An app as authlib sees a client."""

    def __init__(self, app: App):
        self.app = app
        self.client_id = app.client_id

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.app.redirect_uris.splitlines()
        return uris[0] if uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = self.app.scope.split()
        if not scope:
            return " ".join(allowed)
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris.splitlines()

    def check_client_secret(self, client_secret: str) -> bool:
        return apps.secret_matches(self.app, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == self.app.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return False  # no authorization endpoint yet

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.app.grant_types.split()


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = sorted(app_policy.AUTH_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = set((self.request.payload.scope or "").split())
        allowed = set(self.request.client.app.scope.split())
        if requested - allowed:
            raise InvalidScopeError()  # RFC 6749 §5.2: refuse, never silently narrow


def _session() -> Session:
    if "oauth_session" not in g:
        g.oauth_session = runtime(current_app).sessions()
    return g.oauth_session


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    session = g.pop("oauth_session", None)
    if session is not None:
        session.close()


def _query_client(client_id: str) -> Client | None:
    app = apps.by_client_id(_session(), client_id)
    if app is None or not app_policy.may_issue_tokens(app.status.value):
        return None
    return Client(app)


def _save_token(token: dict[str, Any], request: Any) -> None:
    """JWT access tokens are self-contained; the issue is audited, the token never is."""
    session = _session()
    audit.record(session, "oauth.token_issued", audit.Context(
        actor=f"app:{request.client.get_client_id()}", source_ip=flask_request.remote_addr,
        request_id=g.get("request_id")),
        target_type="app", target_id=request.client.app.id,
        summary={"grant_type": request.payload.grant_type if request.payload else None,
                 "scope": token.get("scope")})
    session.commit()


def _generate_token(grant_type: str, client: Client, user: Any = None,
                    scope: str | None = None, expires_in: int | None = None,
                    include_refresh_token: bool = True) -> dict[str, Any]:
    rt = runtime(current_app)
    ttl = expires_in or ACCESS_TOKEN_TTL
    if not scope:  # RFC 6749 §3.3: no scope asked for: the client's registered default
        scope = client.get_allowed_scope(None)
    subject = client.get_client_id() if user is None else str(user)
    access = tokens.mint_access_token(_session(), rt.directory.cipher, rt.settings.issuer,
                                      subject=subject, client_id=client.get_client_id(),
                                      scope=scope or "", ttl=ttl)
    token = {"token_type": "Bearer", "access_token": access, "expires_in": ttl}
    if scope:
        token["scope"] = scope
    return token


def init_app(app: Flask) -> None:
    server = AuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.register_token_generator("default", _generate_token)
    server.register_grant(ClientCredentialsGrant)
    app.extensions["idp.oauth"] = server
    app.register_blueprint(bp)


@bp.post(TOKEN_PATH)
def token() -> Response:
    server: AuthorizationServer = current_app.extensions["idp.oauth"]
    response: Response = server.create_token_response()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get(JWKS_PATH)
def jwks() -> Response:
    """Every active signing key's public part (private parts never leave the database)."""
    keys = []
    for row in store.active_signing_keys(_session()):
        jwk = json.loads(row.public_jwk)
        keys.append({**jwk, "kid": row.kid, "alg": row.alg, "use": "sig"})
    response = jsonify(keys=keys)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414 metadata: what is implemented and enforced, nothing more."""
    issuer = runtime(current_app).settings.issuer.rstrip("/")
    return jsonify(
        issuer=runtime(current_app).settings.issuer, token_endpoint=issuer + TOKEN_PATH,
        jwks_uri=issuer + JWKS_PATH, grant_types_supported=sorted(app_policy.GRANT_TYPES),
        token_endpoint_auth_methods_supported=sorted(app_policy.AUTH_METHODS),
        response_types_supported=[], scopes_supported=["directory"])
