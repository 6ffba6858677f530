"""The OAuth 2.0 server (authlib does the protocol): the token endpoint, introspection,
revocation, the JWKS and the RFC 8414 metadata (the same document as OIDC discovery,
``idp.oidc``).

* Grants: authorization code with PKCE S256 and ID tokens, refresh token with rotation
  and reuse detection (``idp.grants``), client credentials for confidential clients.
* Client authentication: client_secret_basic, client_secret_post, private_key_jwt
  (``idp.client_assertion``), and ``none`` for public clients (PKCE is required of everyone
  anyway); each client uses exactly its registered method. Secrets are stored as SHA-256.
* Access tokens: RFC 9068 JWTs (``idp.tokens``); a user's carry ``grant`` and ``sid`` so
  that introspection and userinfo answer for their grant family. Refresh tokens: 256
  random bits, stored hashed, only for clients registered for the refresh_token grant
  and only when ``offline_access`` was granted (OIDC Core §11).
* Only online apps obtain tokens. Every issue is logged (never the token); code
  redemptions and the security events are audited (``_save_token``).
* Fast path (#4): the signing key comes from the per-process ring (``idp.keys``) and the
  client from the worker's copy (``directory.app_cache``: PostgreSQL tells every worker of
  each change of an app); a client-credentials token then costs no statement at all; a
  refresh costs one joined read, one UPDATE, one INSERT and the commit.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from typing import Any
from typing import cast
from urllib.parse import parse_qsl

from authlib.common.security import is_secure_transport
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import OAuth2Payload
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749 import grants as authlib_grants
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from authlib.oauth2.rfc6749.errors import InvalidScopeError
from authlib.oauth2.rfc6749.errors import UnauthorizedClientError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request as flask_request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES

from directory import apps
from directory import audit
from directory.app_cache import AppCache
from directory.db import make_engine
from directory.db import utcnow
from directory.models import OAuthGrant
from directory.models import RefreshToken
from idp import grants
from idp import oidc
from idp import store
from idp import token_exchange
from idp import tokens
from idp import web
from idp.client_assertion import PrivateKeyJWT
from idp.keys import JWKS_MAX_AGE
from idp.runtime import runtime
from policies import apps as app_policy

log = logging.getLogger("idp.oauth")
bp = Blueprint("oauth", __name__)
TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/jwks.json"
INTROSPECT_PATH = "/oauth/introspect"
REVOKE_PATH = "/oauth/revoke"
# Resource servers only: confidential clients.
INTROSPECT_AUTH = ("client_secret_basic", "client_secret_post", app_policy.PRIVATE_KEY_JWT)
TOKEN_ENDPOINTS = frozenset({"token", "introspection", "revocation"})


class Client(ClientMixin):
    """An app as authlib sees a client: its columns read as one row (``apps.client_row``),
    never written through."""

    def __init__(self, app: apps.AppRow):
        self.app = app
        self.client_id = app.client_id

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OIDC Core §3.1.2.1: redirect_uri is required, never implied

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """RFC 6749 §3.3: no scope asked for → the registered scope; a scope beyond the
        registered is refused (None → invalid_scope), never silently narrowed."""
        allowed = self.app.scope.split()
        if not scope:
            return " ".join(allowed)
        asked = list(dict.fromkeys(scope.split()))
        return " ".join(asked) if set(asked) <= set(allowed) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return oidc.redirect_uri_matches(self.app, redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return apps.secret_matches(self.app, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint in TOKEN_ENDPOINTS and method == self.app.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.check_grant_type("authorization_code")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.app.grant_types.split()


class Server(AuthorizationServer):
    """authlib's server; every endpoint that admits confidential clients admits
    ``private_key_jwt`` too (the grants name the secret methods), tried first so that a
    presented assertion is always checked. ``Client.check_endpoint_auth_method`` keeps
    each client to its registered method."""

    def authenticate_client(self, request: Any, methods: list[str],
                            endpoint: str = "token") -> Any:
        if (app_policy.SECRET_METHODS & set(methods)
                and app_policy.PRIVATE_KEY_JWT not in methods):
            methods = [app_policy.PRIVATE_KEY_JWT, *methods]
        return super().authenticate_client(request, methods, endpoint)

    def create_token_response(self, request: Any = None) -> Any:
        """authlib's, with a request over plain http to anything but a loopback address
        answered as the RFC 6749 §5.2 error it is (400 ``insecure_transport``): authlib
        raises it while making its request, before its own error handling."""
        try:
            return super().create_token_response(request)
        except InsecureTransportError as error:
            return self.handle_error_response(None, error)

    def create_endpoint_response(self, name: str, request: Any = None) -> Any:
        try:
            return super().create_endpoint_response(name, request)
        except InsecureTransportError as error:
            return self.handle_error_response(None, error)

    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Any:
        """Flask's response, or on the lane (``TokenLane``) the parts of one: the lane
        writes them to WSGI itself."""
        if g.get("lane"):
            return LaneAnswer(status_code, payload, headers)
        return super().handle_response(status_code, payload, headers)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        """The lane's request (``TokenLane``, outside Flask's request context), the
        request given, else Flask's current one."""
        if isinstance(request, LaneCall):
            return LaneRequest(request.environ, request.form)
        if isinstance(request, OAuth2Request):
            return request
        return FlaskOAuth2Request(request if request is not None else flask_request)


class ClientCredentialsGrant(authlib_grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(INTROSPECT_AUTH)  # confidential clients only

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if not app_policy.may_use_client_credentials(self.request.client.app.status.value):
            raise UnauthorizedClientError()  # a testing app: its testers' grants only
        if self.request.client.get_allowed_scope(self.request.payload.scope) is None:
            raise InvalidScopeError()  # RFC 6749 §5.2: refuse, never silently narrow


def _session() -> Session:
    return grants.db()


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    session = g.pop("oauth_session", None)
    if session is not None:
        session.close()


def _query_client(client_id: str) -> Client | None:
    presented = g.get("presented_refresh_token")  # the lane's refresh: one read for both
    if presented is None:
        cache: AppCache = current_app.extensions["idp.oauth.apps"]
        app = cache.row(client_id, lambda: apps.client_row(_session(), client_id))
    else:
        app = grants.client_prefetching_family(_session(), client_id, presented)
    if app is None or not app_policy.may_issue_tokens(app.status.value):
        return None
    return Client(app)


def _save_token(token: dict[str, Any], request: Any) -> None:
    """JWT access tokens are self-contained: nothing to store. Every issue goes to the
    structured log (request id, client, grant type, scope; never a token). Only a code's
    redemption — a person's sign-in reaching an app — is also a hash-chained audit record:
    client credentials and refresh rotation are machine traffic, and a record each would
    cost a write, the chain's lock and a commit per token (#4 benchmark). The security
    events stay audited: authorizations, refusals, code replay, refresh reuse, revocation,
    logout, freeze."""
    client_id = request.client.get_client_id()
    grant_type = request.payload.grant_type if request.payload else None
    user = request.user if isinstance(request.user, grants.User) else None
    if log.isEnabledFor(logging.INFO):  # the record's fields are made only when it is kept
        log.info("oauth.token_issued", extra={
            "request_id": g.get("request_id"), "client_id": client_id,
            "grant_type": grant_type, "scope": token.get("scope"),
            "grant": str(user.grant.id) if user else None,
            "refresh_token": "refresh_token" in token})
    if user is None:
        return  # client credentials: nothing was written, nothing to commit
    session = _session()
    if grant_type == "authorization_code":
        audit.record(session, "oauth.token_issued", grants.audit_context(client_id),
                     target_type="account", target_id=user.account.id,
                     summary={"grant_type": grant_type, "scope": token.get("scope"),
                              "grant": str(user.grant.id),
                              "refresh_token": "refresh_token" in token})
    if not session.info.get("autocommit"):  # the lane's rotation committed by itself
        session.commit()  # the redemption (code or used refresh token), the new refresh token


def _generate_token(grant_type: str, client: Client, user: grants.User | None = None,
                    scope: str | None = None, expires_in: int | None = None,
                    include_refresh_token: bool = True) -> dict[str, Any]:
    rt = runtime(current_app)
    ttl = expires_in or rt.settings.access_token_seconds
    if not scope:  # RFC 6749 §3.3: no scope asked for: the client's registered default
        scope = client.get_allowed_scope(None)
    subject, extra = client.get_client_id(), None
    if user is not None:
        subject = str(user.account.id)
        extra = {"grant": str(user.grant.id), "auth_time": int(user.grant.auth_time.timestamp())}
        if user.grant.session_id:
            extra["sid"] = grants.public_sid(user.grant.session_id)
    access = tokens.mint_access_token(current_app.extensions["idp.oauth.keys"],
                                      rt.directory.cipher, rt.settings.issuer,
                                      subject=subject, client_id=client.get_client_id(),
                                      scope=scope or "", ttl=ttl, extra=extra)
    token: dict[str, Any] = {"token_type": "Bearer", "access_token": access, "expires_in": ttl}
    if scope:
        token["scope"] = scope
    if user is not None and user.refresh_token is not None:
        token["refresh_token"] = user.refresh_token  # a refresh's rotation stored it
    elif (user is not None and include_refresh_token
            and "offline_access" in user.grant.scope.split()):
        token["refresh_token"] = grants.issue_refresh_token(_session(), rt.settings,
                                                            user.grant)
    return token


# -- introspection (RFC 7662) and revocation (RFC 7009) ---------------------------------


@dataclass
class TokenView:
    """A presented token as both endpoints see it."""

    kind: str  # access_token | refresh_token
    client_id: str
    alive: bool
    grant: OAuthGrant | None = None
    access: tokens.AccessToken | None = None
    refresh: RefreshToken | None = None

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def is_expired(self) -> bool:
        return False  # expired JWTs fail verification; refresh expiry is in ``alive``

    def is_revoked(self) -> bool:
        return not self.alive


def _find_token(raw: str, _hint: str | None) -> TokenView | None:
    """The hint is only a hint (RFC 7009 §2.1): both kinds are looked up."""
    session = _session()
    if raw.count(".") == 2:
        try:
            access = tokens.verify_access_token(session, runtime(current_app).settings.issuer,
                                                raw)
        except tokens.InvalidToken:
            return None
        grant = grants.live_grant(session, access.claims.get("grant"))
        return TokenView("access_token", access.client_id,
                         grants.access_token_alive(session, access), grant, access=access)
    row = grants.find_refresh_token(session, raw)
    if row is None:
        return None
    grant = session.get(OAuthGrant, row.grant_id)
    if grant is None:
        return None
    alive = (row.used_at is None and row.expires_at > utcnow()
             and grants.live_grant(session, grant.id) is not None)
    return TokenView("refresh_token", grant.client_id, alive, grant, refresh=row)


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = list(INTROSPECT_AUTH)

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return _find_token(token_string, token_type_hint)

    def check_permission(self, token: TokenView, client: Client, request: Any) -> bool:
        return token.check_client(client)  # a client introspects its own tokens only

    def introspect_token(self, token: TokenView) -> dict[str, Any]:
        issuer = runtime(current_app).settings.issuer
        if token.access is not None:
            c = token.access.claims
            return {"active": True, "token_type": "Bearer", "client_id": token.client_id,
                    "scope": c.get("scope", ""), "sub": c["sub"], "iss": issuer,
                    "aud": c.get("aud"), "exp": c.get("exp"), "iat": c.get("iat"),
                    "jti": c.get("jti"), **({"sid": c["sid"]} if "sid" in c else {})}
        assert token.refresh is not None and token.grant is not None
        return {"active": True, "token_type": "refresh_token", "client_id": token.client_id,
                "scope": token.grant.scope, "sub": str(token.grant.account_id), "iss": issuer,
                "exp": int(token.refresh.expires_at.timestamp()),
                "iat": int(token.refresh.created_at.timestamp())}


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = grants.ALL_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenView | None:
        return _find_token(token_string, token_type_hint)

    def revoke_token(self, token: TokenView, request: Any) -> None:
        """RFC 7009 §2.1: revoking a user's access or refresh token revokes its grant (the
        whole family). An app's own client-credentials token has no grant: it lives its
        ten minutes (or until the app goes offline)."""
        if token.grant is not None:
            grants.revoke_audited(_session(), token.grant.id, token.client_id,
                                  "revoked_by_client")


def init_app(app: Flask) -> None:
    server = Server()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    issuer = runtime(app).settings.issuer
    server.register_client_auth_method(app_policy.PRIVATE_KEY_JWT, PrivateKeyJWT(
        issuer, issuer.rstrip("/") + TOKEN_PATH, _session, runtime(app).sessions))
    server.register_token_generator("default", _generate_token)
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(grants.AuthorizationCodeGrant,
                          [grants.S256Challenge(required=True), oidc.IdToken()])
    server.register_grant(grants.RefreshTokenGrant)
    server.register_grant(token_exchange.TokenExchangeGrant)  # RFC 8693, proxies
    server.register_endpoint(Introspection)
    server.register_endpoint(Revocation)
    app.extensions["idp.oauth"] = server
    engine = runtime(app).engine
    app.extensions["idp.oauth.apps"] = AppCache(engine)
    app.extensions["idp.oauth.keys"] = tokens.KeySource(tokens.database_key(engine), _session)
    if engine.dialect.name == "postgresql":
        app.extensions["idp.oauth.lane"] = sessionmaker(
            bind=_lane_engine(engine), expire_on_commit=False, info={"autocommit": True})
    app.register_blueprint(bp)
    app.register_blueprint(oidc.bp)
    app.wsgi_app = TokenLane(app, server, app.wsgi_app)  # type: ignore[method-assign]


def _lane_engine(engine: Engine) -> Engine:
    """The token lane's own pool on PostgreSQL, of connections in autocommit from the
    start: switching a pooled connection in and out of autocommit at each checkout was
    ~35 µs a token (#4). It connects on first use and goes when the app's engine is
    disposed."""
    lane = make_engine(engine.url.render_as_string(hide_password=False),
                       isolation_level="AUTOCOMMIT")
    event.listen(engine, "engine_disposed", lambda _engine: lane.dispose())
    return lane


# The machine traffic of the token endpoint: an app's own tokens and refresh rotation.
LANE_GRANTS = frozenset({"client_credentials", "refresh_token"})
_LANE_MAX_BODY = 16 * 1024
StartResponse = Callable[..., Any]


class TokenLane:
    """Client-credentials and refresh requests to the token endpoint (``LANE_GRANTS``),
    served by the same authlib server,
    grant and callbacks but outside Flask's request machinery (#4: Flask's request context,
    routing and hooks cost more CPU than the token itself). It runs in an app context
    (``current_app`` and ``g`` work) and answers with the headers Flask's hooks would add:
    the request id, ``nosniff`` and ``no-store``. Anything else (another path or method,
    another grant, a body that is not a small form) goes to Flask untouched: the body read
    here is handed on as a fresh stream."""

    def __init__(self, app: Flask, server: Server,
                 inner: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app, self.server, self.inner = app, server, inner

    def __call__(self, environ: dict[str, Any], start_response: StartResponse,
                 ) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") != TOKEN_PATH or environ.get("REQUEST_METHOD") != "POST"
                or not str(environ.get("CONTENT_TYPE", "")).startswith(
                    "application/x-www-form-urlencoded")):
            return self.inner(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return self.inner(environ, start_response)
        if not 0 < length <= _LANE_MAX_BODY:
            return self.inner(environ, start_response)
        body = environ["wsgi.input"].read(length)
        try:
            form = LanePayload(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            form = None
        if form is None or form.data.get("grant_type") not in LANE_GRANTS:
            environ["wsgi.input"] = BytesIO(body)
            return self.inner(environ, start_response)
        with self.app.app_context():
            g.lane = True
            answer = self._token(environ, form)
            if isinstance(answer, Response):
                return _no_store(web.stamp(answer))(environ, start_response)
            rid = g.request_id
        body = (answer.payload if isinstance(answer.payload, str)
                else json.dumps(answer.payload)).encode()
        headers = [(k, v) for k, v in answer.headers if k not in _LANE_HEADERS]
        headers += [("Content-Type", "application/json"), *NO_STORE,
                    ("Content-Length", str(len(body))), *web.stamps(rid)]
        start_response(f"{answer.status} {HTTP_STATUS_CODES[answer.status].upper()}", headers)
        return [body]

    def _token(self, environ: dict[str, Any], form: LanePayload) -> LaneAnswer | Response:
        g.request_id = web.request_id(environ.get("HTTP_X_REQUEST_ID"))
        g.remote_addr = environ.get("REMOTE_ADDR")
        if form.data.get("grant_type") == "refresh_token":
            g.presented_refresh_token = form.data.get("refresh_token") or ""
        autocommit = self.app.extensions.get("idp.oauth.lane")
        if autocommit is not None:  # PostgreSQL: reads, and a refresh's one write
            g.oauth_sessions = autocommit  # opened on first use: never by a cached client's
        try:
            answer: LaneAnswer | Response = self.server.create_token_response(
                LaneCall(environ, form))
        except Exception:  # noqa: BLE001 - as Flask's handler in ``idp.app``
            answer = web.unexpected()
        finally:
            _close(None)
        return answer


_LANE_HEADERS = frozenset({"Content-Type", "Cache-Control", "Pragma", "Content-Length"})


@dataclass(frozen=True)
class LaneAnswer:
    """What authlib would make a Flask response of (``Server.handle_response``)."""

    status: int
    payload: Any
    headers: list[tuple[str, str]]


@dataclass(frozen=True)
class LaneCall:
    """What the lane hands authlib's server: ``Server.create_oauth2_request`` makes the
    ``LaneRequest`` of it, inside authlib's token response, so that a refused transport is
    answered there as on the Flask path."""

    environ: dict[str, Any]
    form: LanePayload


class LanePayload(OAuth2Payload):
    """The form as authlib reads it: each parameter's first value (``data``, as Flask's
    ``MultiDict`` gives it) and all of them (``datalist``), as plain dicts (a
    ``MultiDict``'s ``get`` of a missing key raises and catches an exception, several times
    a request)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class LaneRequest(OAuth2Request):
    """authlib's request made straight from the WSGI environ and the form the lane parsed
    (``urllib.parse.parse_qsl``), as ``FlaskOAuth2Request`` makes it from Flask's request:
    the method, the URL, the headers, the form as payload, no query arguments (the token
    endpoint takes none)."""

    def __init__(self, environ: dict[str, Any], payload: LanePayload) -> None:
        url = (f"{environ.get('wsgi.url_scheme', 'http')}://"
               f"{environ.get('HTTP_HOST') or environ.get('SERVER_NAME', '')}"
               f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}")
        # OAuth2Request.__init__'s fields, set here so that its transport check runs once
        # per URL (``_secure``) instead of parsing the URL and its address every request
        if not _secure(url):
            raise InsecureTransportError()
        self.method, self.uri, self.headers = "POST", url, _Headers(environ)
        self._body = None
        self.client = self.auth_method = self.user = self.authorization_code = None
        self.refresh_token = self.credential = self._scope = None
        self.payload = payload
        self.remote_addr: str | None = environ.get("REMOTE_ADDR")

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return cast(LanePayload, self.payload).data


@lru_cache(maxsize=64)
def _secure(url: str) -> bool:
    """authlib's transport check (https, or http to a loopback address) of one URL: the
    same answer every time, so kept for the few URLs (one a Host) the endpoint is called
    at."""
    return is_secure_transport(url)


class _Headers(EnvironHeaders):
    """The request's headers, true as a whole without being counted (authlib's
    ``headers or {}`` made werkzeug's walk every WSGI variable)."""

    def __bool__(self) -> bool:
        return True


NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def _no_store(response: Response) -> Response:
    response.headers.update(NO_STORE)
    return response


def _server() -> Server:
    server: Server = current_app.extensions["idp.oauth"]
    return server


@bp.post(TOKEN_PATH)
def token() -> Response:
    """The grants of people's sign-ins (code, token exchange), and any request the lane
    passes on (a body too large or not a form: authlib answers it)."""
    return _no_store(_server().create_token_response())


@bp.post(INTROSPECT_PATH)
def introspect() -> Response:
    return _no_store(_server().create_endpoint_response(Introspection.ENDPOINT_NAME))


@bp.post(REVOKE_PATH)
def revoke() -> Response:
    response = _server().create_endpoint_response(Revocation.ENDPOINT_NAME)
    if response.status_code == 200:
        _session().commit()
    return _no_store(response)


@bp.get(JWKS_PATH)
def jwks() -> Response:
    """Every published key's public part (private parts never leave the database): keys
    waiting out their grace period and retiring keys whose tokens may still be live."""
    keys = []
    for row in store.active_signing_keys(_session()):
        jwk = json.loads(row.public_jwk)
        keys.append({**jwk, "kid": row.kid, "alg": row.alg, "use": "sig"})
    response = jsonify(keys=keys)
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414: the same document as OIDC discovery (``idp.oidc.metadata``)."""
    response = jsonify(oidc.metadata(runtime(current_app).settings.issuer))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
