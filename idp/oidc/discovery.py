"""Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2): one document for both paths."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify

from idp import claims
from idp.oidc import AUTHORIZE_PATH
from idp.oidc import END_SESSION_PATH
from idp.oidc import USERINFO_PATH
from idp.oidc import bp
from idp.oidc.id_token import SUPPORTED_ALGS
from idp.runtime import runtime
from policies import apps as app_policy

PROMPTS = ("none", "login")


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
        "token_endpoint_auth_signing_alg_values_supported": list(app_policy.ASSERTION_ALGS),
        "introspection_endpoint_auth_methods_supported": sorted(oauth.INTROSPECT_AUTH),
        "introspection_endpoint_auth_signing_alg_values_supported":
            list(app_policy.ASSERTION_ALGS),
        "revocation_endpoint_auth_methods_supported": sorted(app_policy.AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported":
            list(app_policy.ASSERTION_ALGS),
        "id_token_signing_alg_values_supported": SUPPORTED_ALGS,
        "subject_types_supported": ["public"],
        "claims_supported": claims.SUPPORTED_CLAIMS,
        "prompt_values_supported": list(PROMPTS),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,  # Back-Channel Logout 1.0 §2.1
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "ui_locales_supported": ["zh-CN", "en"],
    }


@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    response = jsonify(metadata(runtime(current_app).settings.issuer))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
