"""OpenID Connect on top of ``idp.oauth``: the authorization endpoint, ID tokens,
userinfo, discovery and RP-initiated logout.

``GET|POST /authorize`` enforces, in this order (the first failing check answers):

* ``client_id`` names a registered app, and ``redirect_uri`` is present and matches one of
  its registered URIs as an exact string (RFC 6749 §3.1.2.3; for public clients with a
  loopback URI registered, any port, RFC 8252 §7.3); otherwise an error page (400), never
  a redirect to an unvalidated URI;
* the app is online (other states: an error page, audited);
* then errors go back to the app's redirect URI with ``state`` and ``iss`` (RFC 9207):
  no ``request``/``request_uri`` objects, ``response_mode`` query only, a ``nonce`` of at
  most 255 characters, ``response_type``
  ``code`` only, registered scopes only, PKCE ``S256`` always (``idp.grants``);
* no live browser session: ``prompt=none`` → ``login_required``, otherwise ``/login?next=``;
  ``prompt=login`` or an exceeded ``max_age``: ``/login`` again;
* the account may use the app (temporary accounts: only listed apps), else an error page;
* then a grant and a code (no consent screen: apps are onboarded by administrators).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import OpenIDCode
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwk import import_key

from directory import accounts
from directory import apps
from directory import audit
from directory.db import utcnow
from directory.models import Account
from directory.models import App
from directory.models import AppStatus
from directory.models import BrowserSession
from idp import claims
from idp import grants
from idp import sessions
from idp import store
from idp import tokens
from idp.runtime import runtime
from policies import apps as app_policy

bp = Blueprint("oidc", __name__)
AUTHORIZE_PATH = "/authorize"
USERINFO_PATH = "/userinfo"
END_SESSION_PATH = "/logout/end-session"
ID_TOKEN_ALG = "ES256"
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")
PROMPTS = ("none", "login")
MAX_NONCE = 255
PAGE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                           "form-action 'self'; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def redirect_uri_matches(app: App, uri: str) -> bool:
    """Exact string match; RFC 8252 §7.3: a public (native) client with a loopback URI
    registered may use any port on it, nothing else may differ."""
    registered = app.redirect_uris.splitlines()
    if uri in registered:
        return True
    if app.token_endpoint_auth_method != app_policy.PUBLIC or not uri.startswith("http://"):
        return False
    parts = urlsplit(uri)
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    if host not in LOOPBACK_HOSTS or parts.username is not None:
        return False
    portless = uri.replace(f"http://{parts.netloc}", f"http://{host}", 1)
    return portless in registered


# -- ID tokens --------------------------------------------------------------------------


class IdToken(OpenIDCode):
    """OIDC Core §2 ID tokens, ES256 with the newest active key: iss, sub (the account
    id), aud (the client), exp, iat, auth_time, nonce, amr, sid, at_hash. Scope claims
    are served by userinfo (§5.4)."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # the RP checks its nonce (§3.1.3.7); codes are single use anyway

    def _key(self) -> tuple[str, ECKey]:
        if "idp_id_key" not in g:
            rt = runtime(current_app)
            row = store.newest_signing_key(grants.db(), ID_TOKEN_ALG)
            if row is None:
                raise RuntimeError("no active signing key: run `idp init`")
            pem = rt.directory.cipher.decrypt(row.private_enc, "signing_keys.private")
            g.idp_id_key = (row.kid, import_key(pem, "EC"))
        return g.idp_id_key

    def resolve_client_private_key(self, client: Any) -> ECKey:
        return self._key()[1]

    def get_client_algorithm(self, client: Any) -> str:
        return ID_TOKEN_ALG

    def get_encode_header(self, client: Any) -> dict[str, str]:
        return {"alg": ID_TOKEN_ALG, "kid": self._key()[0], "typ": "JWT"}

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


# -- pages -------------------------------------------------------------------------------


def _lang() -> str:
    wanted = request.values.get("lang") or request.values.get("ui_locales") or ""
    return "en" if wanted.split(" ")[0].lower().startswith("en") else "zh-CN"


def page(template: str, status: int = 200, **context: Any) -> Response:
    body = render_template(f"oidc/{template}", lang=_lang(), **context)
    return Response(body, status=status, headers=PAGE_HEADERS,
                    mimetype="text/html")


def see_other(location: str) -> Response:
    """A 302 (RFC 6749 §4.1.2 examples), never cached."""
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store",
                                         "Referrer-Policy": "no-referrer"})


def error_page(error: str, status: int = 400) -> Response:
    return page("error.html", status, error=error)


def _to_client(redirect_uri: str, params: dict[str, str]) -> Response:
    """Every authorization response carries ``iss`` (RFC 9207 §2), success or error."""
    params = {**params, "iss": grants.settings().issuer}
    return see_other(add_params_to_uri(redirect_uri, list(params.items())))


def _error_to_client(redirect_uri: str, error: OAuth2Error | str) -> Response:
    params = {"error": error if isinstance(error, str) else error.error}
    if isinstance(error, OAuth2Error) and error.description:
        params["error_description"] = error.description
    state = request.values.get("state")
    if state:
        params["state"] = state
    return _to_client(redirect_uri, params)


def _refused(app: App | None, reason: str) -> None:
    session = grants.db()
    audit.record(session, "oauth.authorization_refused", audit.Context(
        actor="anonymous", source_ip=request.remote_addr, request_id=g.get("request_id")),
        target_type="app", target_id=app.id if app else None,
        summary={"client_id": request.values.get("client_id", "")[:64], "reason": reason})
    session.commit()


# -- /authorize --------------------------------------------------------------------------


def _single(name: str) -> str | None:
    values = request.values.getlist(name)
    return values[0] if len(values) == 1 else None


def _check_client() -> App | Response:
    client_id = _single("client_id")
    app = apps.by_client_id(grants.db(), client_id) if client_id else None
    if app is None:
        return error_page("invalid_client")
    return app


def _check_redirect_uri(app: App) -> str | Response:
    uri = _single("redirect_uri")
    if uri is None or not redirect_uri_matches(app, uri):
        return error_page("invalid_redirect_uri")
    return uri


def _check_online(app: App) -> Response | None:
    if app.status != AppStatus.ONLINE:
        _refused(app, f"app_{app.status.value}")
        return error_page("app_unavailable", 403)
    return None


def _check_request_shape(redirect_uri: str) -> Response | None:
    """OIDC Core §6: request objects are not supported; query response mode only."""
    if "request" in request.values:
        return _error_to_client(redirect_uri, "request_not_supported")
    if "request_uri" in request.values:
        return _error_to_client(redirect_uri, "request_uri_not_supported")
    if request.values.get("response_mode", "query") != "query":
        return _error_to_client(redirect_uri, "invalid_request")
    if len(request.values.get("nonce", "")) > MAX_NONCE:  # the column's width
        return _error_to_client(redirect_uri, "invalid_request")
    return None


def _login_url(drop: tuple[str, ...] = ()) -> str:
    params = [(k, v) for k, v in request.values.items(multi=True) if k not in drop]
    return "/login?" + urlencode({"next": f"{AUTHORIZE_PATH}?{urlencode(params)}"})


def _needs_login(browser: BrowserSession | None, redirect_uri: str) -> Response | None:
    prompts = (request.values.get("prompt") or "").split()
    if browser is None:
        if "none" in prompts:
            return _error_to_client(redirect_uri, "login_required")
        return see_other(_login_url(drop=("prompt", "max_age")))
    max_age = request.values.get("max_age", "")
    stale = max_age.isdigit() and (
        utcnow() - browser.auth_time > dt.timedelta(seconds=int(max_age)))
    if "login" in prompts or stale:
        if "none" in prompts:
            return _error_to_client(redirect_uri, "login_required")
        return see_other(_login_url(drop=("prompt", "max_age")))
    return None


def _browser() -> BrowserSession | None:
    rt = runtime(current_app)
    raw = request.cookies.get(sessions.cookie_name(rt.settings))
    return sessions.current(grants.db(), rt.settings, raw)


@bp.route(AUTHORIZE_PATH, methods=["GET", "POST"])
def authorize() -> Response:
    app = _check_client()
    if isinstance(app, Response):
        return app
    redirect_uri = _check_redirect_uri(app)
    if isinstance(redirect_uri, Response):
        return redirect_uri
    refused = _check_online(app) or _check_request_shape(redirect_uri)
    if refused is not None:
        return refused
    server = current_app.extensions["idp.oauth"]
    browser = _browser()
    try:
        grant = server.get_consent_grant(end_user=browser)
    except OAuth2Error as error:
        return _error_to_client(redirect_uri, error)
    login = _needs_login(browser, redirect_uri)
    if login is not None:
        return login
    assert browser is not None  # _needs_login answered otherwise
    return _issue_code(server, grant, app, browser, redirect_uri)


def _issue_code(server: Any, grant: Any, app: App, browser: BrowserSession,
                redirect_uri: str) -> Response:
    session = grants.db()
    account = session.get(Account, browser.account_id)
    if account is None or not apps.account_may_use(session, account, app.client_id):
        _refused(app, "account_not_permitted")
        return error_page("access_denied", 403)
    try:
        grant.create_authorization_response(redirect_uri, grants.SignIn(account, browser))
    except OAuth2Error as error:
        return _error_to_client(redirect_uri, error)
    code, state = grant.issued_code, request.values.get("state")
    audit.record(session, "oauth.authorized", audit.Context(
        actor=f"account:{account.id}", source_ip=request.remote_addr,
        request_id=g.get("request_id")), target_type="app", target_id=app.id,
        summary={"client_id": app.client_id, "scope": grant.request.scope})
    session.commit()  # the code is durable before the redirect that carries it
    return _to_client(redirect_uri, {"code": code, **({"state": state} if state else {})})


# -- /userinfo ---------------------------------------------------------------------------


def _bearer_error(status: int, error: str) -> Response:
    response = jsonify(error=error)
    response.status_code = status
    scope = ', scope="openid"' if error == "insufficient_scope" else ""
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}"{scope}'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(USERINFO_PATH, methods=["GET", "POST"])
def userinfo() -> Response:
    """OIDC Core §5.3 with an RFC 6750 §2.1 bearer token of a live grant."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return _bearer_error(401, "invalid_token")
    session, rt = grants.db(), runtime(current_app)
    try:
        token = tokens.verify_access_token(session, rt.settings.issuer, header[7:].strip())
    except tokens.InvalidToken:
        return _bearer_error(401, "invalid_token")
    grant = grants.token_grant(session, token)
    if grant is None:
        return _bearer_error(401, "invalid_token")
    if "openid" not in token.scope:
        return _bearer_error(403, "insufficient_scope")
    account = session.get(Account, grant.account_id)
    assert account is not None and accounts.usable(account)
    body = claims.userinfo(session, rt.directory, account, token.scope, token.client_id)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- discovery ---------------------------------------------------------------------------


def metadata(issuer: str) -> dict[str, Any]:
    """OIDC Discovery §3 / RFC 8414 §2: what is implemented and enforced, nothing more."""
    base = issuer.rstrip("/")
    from idp import oauth

    return {
        "issuer": issuer,
        "authorization_endpoint": base + AUTHORIZE_PATH,
        "token_endpoint": base + oauth.TOKEN_PATH,
        "userinfo_endpoint": base + USERINFO_PATH,
        "jwks_uri": base + oauth.JWKS_PATH,
        "end_session_endpoint": base + END_SESSION_PATH,
        "introspection_endpoint": base + oauth.INTROSPECT_PATH,
        "revocation_endpoint": base + oauth.REVOKE_PATH,
        "scopes_supported": [*app_policy.OIDC_SCOPES, "directory"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": sorted(app_policy.GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": sorted(app_policy.AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": sorted(oauth.INTROSPECT_AUTH),
        "revocation_endpoint_auth_methods_supported": sorted(app_policy.AUTH_METHODS),
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
        "subject_types_supported": ["public"],
        "claims_supported": claims.SUPPORTED_CLAIMS,
        "prompt_values_supported": list(PROMPTS),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": False,
        "frontchannel_logout_supported": False,
        "ui_locales_supported": ["zh-CN", "en"],
    }


@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    response = jsonify(metadata(runtime(current_app).settings.issuer))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# -- RP-initiated logout -----------------------------------------------------------------


def _logout_target(hint: dict[str, Any] | None) -> tuple[str | None, Response | None]:
    """RP-Initiated Logout §2–§3: the client is the hint's audience (and ``client_id``
    must agree); ``post_logout_redirect_uri`` must exactly match one of its registered
    redirect URIs and needs a valid ``id_token_hint``; otherwise no redirection."""
    client_id, uri = request.values.get("client_id"), request.values.get(
        "post_logout_redirect_uri")
    aud = hint.get("aud") if hint else None
    if client_id and aud is not None and aud != client_id and client_id not in (aud or []):
        return None, error_page("invalid_request")
    if not uri:
        return None, None
    app = apps.by_client_id(grants.db(), aud if isinstance(aud, str) else "")
    if hint is None or app is None or uri not in app.redirect_uris.splitlines():
        return None, error_page("invalid_post_logout_redirect_uri")
    state = request.values.get("state")
    return (add_params_to_uri(uri, [("state", state)]) if state else uri), None


@bp.route(END_SESSION_PATH, methods=["GET", "POST"])
def end_session() -> Response:
    raw_hint = request.values.get("id_token_hint")
    hint = decode_id_token_hint(raw_hint) if raw_hint else None
    if raw_hint and hint is None:
        return error_page("invalid_id_token_hint")
    target, refused = _logout_target(hint)
    if refused is not None:
        return refused
    browser = _browser()
    if hint is None and request.method == "GET" and browser is not None:
        # §6: without a hint, ask; the form posts to us (SameSite=Lax: a cross-site
        # POST carries no session cookie, so it cannot log anyone out)
        return page("confirm_logout.html", fields=list(request.values.items(multi=True)))
    if browser is not None and (hint is None or hint.get("sub") == str(browser.account_id)):
        _end_browser_session(browser)
    response = see_other(target) if target else page("logged_out.html")
    sessions.clear_cookie(response, runtime(current_app).settings)
    return response


def _end_browser_session(browser: BrowserSession) -> None:
    session = grants.db()
    sessions.end(session, browser.id, "logout")
    clients = grants.revoke_session_grants(session, browser.id, "logout")
    audit.record(session, "session.ended", audit.Context(
        actor=f"account:{browser.account_id}", source_ip=request.remote_addr,
        request_id=g.get("request_id")), target_type="account", target_id=browser.account_id,
        summary={"reason": "rp_logout", "clients": clients})
    session.commit()
