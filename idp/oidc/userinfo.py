"""The userinfo endpoint (OIDC Core §5.3)."""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from directory import accounts
from directory.models import Account
from idp import claims
from idp import grants
from idp import tokens
from idp.oidc import USERINFO_PATH
from idp.oidc import bp
from idp.runtime import runtime


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
