"""OpenID Connect on top of ``idp.oauth`` (docs/oidc.md): the authorization endpoint
(``authorize``), ID tokens (``id_token``), ``userinfo``, ``discovery`` and RP-initiated
``logout``; ``pages`` renders our error and logout pages."""

from __future__ import annotations

from flask import Blueprint

bp: Blueprint = Blueprint("oidc", __name__)
AUTHORIZE_PATH = "/authorize"
USERINFO_PATH = "/userinfo"
END_SESSION_PATH = "/logout/end-session"

from idp.oidc import logout  # noqa: E402,F401 - registers its routes on bp
from idp.oidc import userinfo  # noqa: E402,F401
from idp.oidc.authorize import redirect_uri_matches  # noqa: E402
from idp.oidc.discovery import metadata  # noqa: E402
from idp.oidc.id_token import IdToken  # noqa: E402

__all__ = ["AUTHORIZE_PATH", "END_SESSION_PATH", "USERINFO_PATH", "IdToken", "bp",
           "metadata", "redirect_uri_matches"]
