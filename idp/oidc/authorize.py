"""The authorization endpoint. ``GET|POST /authorize`` enforces, in this order (the first failing check answers):

* ``client_id`` names a registered app, and ``redirect_uri`` is present and matches one of
  its registered URIs as an exact string (RFC 6749 §3.1.2.3; for public clients with a
  loopback URI registered, any port, RFC 8252 §7.3); otherwise an error page (400), never
  a redirect to an unvalidated URI;
* the app is online; or testing, and then (after sign-in) the account is one of its
  testers or a temporary account assigned to it; otherwise an error page, audited;
* then errors go back to the app's redirect URI with ``state`` and ``iss`` (RFC 9207):
  no ``request``/``request_uri`` objects, ``response_mode`` query only, a ``nonce`` of at
  most 255 characters, ``response_type``
  ``code`` only, registered scopes only, PKCE ``S256`` always (``idp.grants``);
* no live browser session: ``prompt=none`` → ``login_required``, otherwise ``/login?next=``;
  ``prompt=login`` or an exceeded ``max_age``: ``/login`` again;
* the account may use the app (``policies.app_access``: temporary accounts only the apps
  listed on them, testing apps only their testers, online apps whoever their 使用范围
  admits), else the "no access to this app" page (403) and an audit record, never a code;
* then a grant and a code (no consent screen: apps are onboarded by administrators).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Response
from flask import current_app
from flask import g
from flask import request

from directory import app_access
from directory import apps
from directory import audit
from directory.db import utcnow
from directory.models import Account
from directory.models import App
from directory.models import AppStatus
from directory.models import BrowserSession
from idp import grants
from idp.oidc import AUTHORIZE_PATH
from idp.oidc import bp
from idp.oidc.pages import browser_session
from idp.oidc.pages import error_page
from idp.oidc.pages import error_to_client
from idp.oidc.pages import found
from idp.oidc.pages import refused
from idp.oidc.pages import to_client
from policies import apps as app_policy

LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")
MAX_NONCE = 255


def redirect_uri_matches(app: App | apps.AppRow, uri: str) -> bool:
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


def _check_available(app: App, browser: BrowserSession | None,
                     redirect_uri: str) -> Response | None:
    """Online apps go on. A testing app signs in first, then admits only the accounts the
    policy lets use it (its testers, temporary accounts assigned to it); everyone else,
    and every other state, gets the "unavailable" page, audited."""
    if app.status == AppStatus.ONLINE:
        return None
    if app.status == AppStatus.TESTING:
        if browser is None:
            return _needs_login(None, redirect_uri)
        session = grants.db()
        account = session.get(Account, browser.account_id)
        if account is not None and app_access.decide(session, account, app).allowed:
            return None
    refused(app, f"app_{app.status.value}")
    return error_page("app_unavailable", 403)


def _check_request_shape(redirect_uri: str) -> Response | None:
    """OIDC Core §6: request objects are not supported; query response mode only."""
    if "request" in request.values:
        return error_to_client(redirect_uri, "request_not_supported")
    if "request_uri" in request.values:
        return error_to_client(redirect_uri, "request_uri_not_supported")
    if request.values.get("response_mode", "query") != "query":
        return error_to_client(redirect_uri, "invalid_request")
    if len(request.values.get("nonce", "")) > MAX_NONCE:  # the column's width
        return error_to_client(redirect_uri, "invalid_request")
    return None


def _login_url(drop: tuple[str, ...] = ()) -> str:
    params = [(k, v) for k, v in request.values.items(multi=True) if k not in drop]
    return "/login?" + urlencode({"next": f"{AUTHORIZE_PATH}?{urlencode(params)}"})


def _needs_login(browser: BrowserSession | None, redirect_uri: str) -> Response | None:
    prompts = (request.values.get("prompt") or "").split()
    if browser is None:
        if "none" in prompts:
            return error_to_client(redirect_uri, "login_required")
        return found(_login_url(drop=("prompt", "max_age")))
    max_age = request.values.get("max_age", "")
    stale = max_age.isdigit() and (
        utcnow() - browser.auth_time > dt.timedelta(seconds=int(max_age)))
    if "login" in prompts or stale:
        if "none" in prompts:
            return error_to_client(redirect_uri, "login_required")
        return found(_login_url(drop=("prompt", "max_age")))
    return None


@bp.route(AUTHORIZE_PATH, methods=["GET", "POST"])
def authorize() -> Response:
    app = _check_client()
    if isinstance(app, Response):
        return app
    redirect_uri = _check_redirect_uri(app)
    if isinstance(redirect_uri, Response):
        return redirect_uri
    browser = browser_session()
    refused = _check_available(app, browser, redirect_uri) or _check_request_shape(
        redirect_uri)
    if refused is not None:
        return refused
    server = current_app.extensions["idp.oauth"]
    try:
        grant = server.get_consent_grant(end_user=browser)
    except OAuth2Error as error:
        return error_to_client(redirect_uri, error)
    login = _needs_login(browser, redirect_uri)
    if login is not None:
        return login
    assert browser is not None  # _needs_login answered otherwise
    return _issue_code(server, grant, app, browser, redirect_uri)


def _issue_code(server: Any, grant: Any, app: App, browser: BrowserSession,
                redirect_uri: str) -> Response:
    session = grants.db()
    account = session.get(Account, browser.account_id)
    if account is None:
        refused(app, "account_not_permitted")
        return error_page("access_denied", 403)
    decision = app_access.decide(session, account, app)
    if not decision.allowed:
        return _no_access(session, app, account, decision.rule)
    try:
        grant.create_authorization_response(redirect_uri, grants.SignIn(account, browser))
    except OAuth2Error as error:
        return error_to_client(redirect_uri, error)
    code, state = grant.issued_code, request.values.get("state")
    audit.record(session, "oauth.authorized", audit.Context(
        actor=f"account:{account.id}", source_ip=request.remote_addr,
        request_id=g.get("request_id")), target_type="app", target_id=app.id,
        summary={"client_id": app.client_id, "scope": grant.request.scope})
    session.commit()  # the code is durable before the redirect that carries it
    return to_client(redirect_uri, {"code": code, **({"state": state} if state else {})})


def _no_access(session: Any, app: App, account: Account, rule: str) -> Response:
    """使用范围应按需开放: a clear page and an audit record naming the rule, no code."""
    audit.record(session, "oauth.authorization_refused", audit.Context(
        actor=f"account:{account.id}", source_ip=request.remote_addr,
        request_id=g.get("request_id")), target_type="app", target_id=app.id,
        summary={"client_id": app.client_id, "reason": "no_access", "rule": rule})
    session.commit()
    return error_page("access_denied", 403)
