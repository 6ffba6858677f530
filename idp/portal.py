"""The portal (统一移动工作门户, DOMAIN.md §6): ``GET /portal`` lists the online apps the
signed-in user may open (``directory.app_access.portal_apps``: the same decision as
/authorize), with name, icon and address. Simplified Chinese.

* No live browser session (``idp.sessions.current``): 303 to ``/login?next=/portal``.
* The auth pages' headers (``idp.csrf.HEADERS``: no-store, frame-ancestors 'none',
  no-referrer), except that icons may come from the apps' own https hosts (``img-src``).
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import render_template
from flask import request

from directory import app_access
from directory.models import Account
from idp import csrf
from idp import sessions
from idp.runtime import runtime

bp = Blueprint("portal", __name__)
PORTAL_PATH = "/portal"
CONTENT_SECURITY_POLICY = csrf.CONTENT_SECURITY_POLICY.replace(
    "img-src 'self' data:", "img-src 'self' data: https:")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _headers(response: Response) -> Response:
    for name, value in csrf.HEADERS.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@bp.get(PORTAL_PATH)
def portal() -> Response:
    rt = runtime(current_app)
    raw = request.cookies.get(sessions.cookie_name(rt.settings))
    with rt.sessions.begin() as db:
        row = sessions.current(db, rt.settings, raw)
        account = db.get(Account, row.account_id) if row is not None else None
        if account is None:
            return _headers(Response(status=303, headers={
                "Location": "/login?next=" + PORTAL_PATH}))
        listed = [{"name": a.name, "url": a.url, "icon": a.icon_url, "client_id": a.client_id}
                  for a in app_access.portal_apps(db, account)]
        username = account.username
    body = render_template("portal/portal.html", apps=listed, username=username,
                           csrf_token=csrf.token(request, rt.settings))
    # csrf.protect: the headers and the sign-out form's nonce cookie when this page made it
    response = csrf.protect(Response(body, 200, mimetype="text/html"), rt.settings)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
