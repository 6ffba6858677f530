"""Our pages (error, logout confirmation, signed out: zh-CN, ``?lang=en``) and the
redirects back to a validated client URI, each with ``iss`` (RFC 9207)."""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import OAuth2Error
from flask import Response
from flask import current_app
from flask import g
from flask import render_template
from flask import request

from directory import audit
from directory.models import App
from directory.models import BrowserSession
from idp import grants
from idp import sessions
from idp.runtime import runtime

PAGE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache",
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                           "form-action 'self'; frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def lang() -> str:
    wanted = request.values.get("lang") or request.values.get("ui_locales") or ""
    return "en" if wanted.split(" ")[0].lower().startswith("en") else "zh-CN"


def page(template: str, status: int = 200, **context: Any) -> Response:
    body = render_template(f"oidc/{template}", lang=lang(), **context)
    return Response(body, status=status, headers=PAGE_HEADERS,
                    mimetype="text/html")


def found(location: str) -> Response:
    """A 302 (RFC 6749 §4.1.2 examples), never cached."""
    return Response(status=302, headers={"Location": location, "Cache-Control": "no-store",
                                         "Referrer-Policy": "no-referrer"})


def error_page(error: str, status: int = 400) -> Response:
    return page("error.html", status, error=error)


def to_client(redirect_uri: str, params: dict[str, str]) -> Response:
    """Every authorization response carries ``iss`` (RFC 9207 §2), success or error."""
    params = {**params, "iss": grants.settings().issuer}
    return found(add_params_to_uri(redirect_uri, list(params.items())))


def error_to_client(redirect_uri: str, error: OAuth2Error | str) -> Response:
    params = {"error": error if isinstance(error, str) else error.error}
    if isinstance(error, OAuth2Error) and error.description:
        params["error_description"] = error.description
    state = request.values.get("state")
    if state:
        params["state"] = state
    return to_client(redirect_uri, params)


def refused(app: App | None, reason: str) -> None:
    session = grants.db()
    audit.record(session, "oauth.authorization_refused", audit.Context(
        actor="anonymous", source_ip=request.remote_addr, request_id=g.get("request_id")),
        target_type="app", target_id=app.id if app else None,
        summary={"client_id": request.values.get("client_id", "")[:64], "reason": reason})
    session.commit()



def browser_session() -> BrowserSession | None:
    rt = runtime(current_app)
    raw = request.cookies.get(sessions.cookie_name(rt.settings))
    return sessions.current(grants.db(), rt.settings, raw)
