"""RP-Initiated Logout 1.0 (``end_session_endpoint``); see docs/oidc.md."""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Response
from flask import current_app
from flask import g
from flask import request

from directory import apps
from directory import audit
from directory.models import BrowserSession
from idp import grants
from idp import sessions
from idp.oidc import END_SESSION_PATH
from idp.oidc import backchannel
from idp.oidc import bp
from idp.oidc.id_token import decode_id_token_hint
from idp.oidc.pages import browser_session
from idp.oidc.pages import error_page
from idp.oidc.pages import found
from idp.oidc.pages import page
from idp.runtime import runtime


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
    browser = browser_session()
    if hint is None and request.method == "GET" and browser is not None:
        # §6: without a hint, ask; the form posts to us (SameSite=Lax: a cross-site
        # POST carries no session cookie, so it cannot log anyone out)
        return page("confirm_logout.html", fields=list(request.values.items(multi=True)))
    if browser is not None and (hint is None or hint.get("sub") == str(browser.account_id)):
        _end_browser_session(browser)
    response = found(target) if target else page("logged_out.html")
    sessions.clear_cookie(response, runtime(current_app).settings)
    return response


def _end_browser_session(browser: BrowserSession) -> None:
    session = grants.db()
    notices = backchannel.for_session(session, browser.account_id, browser.id)
    sessions.end(session, browser.id, "logout")
    clients = grants.revoke_session_grants(session, browser.id, "logout")
    audit.record(session, "session.ended", audit.Context(
        actor=f"account:{browser.account_id}", source_ip=request.remote_addr,
        request_id=g.get("request_id")), target_type="account", target_id=browser.account_id,
        summary={"reason": "rp_logout", "clients": clients})
    session.commit()
    backchannel.send(notices, f"account:{browser.account_id}")  # after the commit
