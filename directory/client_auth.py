"""How an OAuth client authenticates at the token endpoint, changed after registration
(``idp client set-keys``, the admin API): its method, its private_key_jwt keys — inline
(``jwks``) or fetched from a ``jwks_uri`` — and the algorithm of its ID tokens. The checks
are registration's (``directory.apps``); callers have checked the admin's grant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from directory import apps
from directory import audit
from directory import jwks_cache
from directory.errors import invalid
from directory.models import App
from policies import apps as app_policy

CLIENT_AUTH_FIELDS = ("token_endpoint_auth_method", "jwks", "jwks_uri",
                      "id_token_signed_response_alg")


def public_jwks(app: App) -> dict[str, Any] | None:
    """The client's inline keys as shown to anyone: public members only (none other is
    ever registered, ``check_jwks``; filtered here all the same)."""
    if not app.jwks:
        return None
    keys = json.loads(app.jwks)["keys"]
    return {"keys": [{k: v for k, v in key.items() if k not in app_policy.PRIVATE_MEMBERS}
                     for key in keys]}


def _key_source(app: App, changes: Mapping[str, Any], method: str) -> tuple[Any, Any]:
    """The (jwks, jwks_uri) the client has after ``changes``: a value given replaces the
    registered one (``None`` clears it), a key source given replaces the other one, and a
    client leaving private_key_jwt keeps no keys it was not given."""
    jwks: Any = public_jwks(app) if "jwks" not in changes else changes["jwks"]
    uri: Any = app.jwks_uri if "jwks_uri" not in changes else changes["jwks_uri"]
    if "jwks" in changes and changes["jwks"] is not None and "jwks_uri" not in changes:
        uri = None
    if "jwks_uri" in changes and changes["jwks_uri"] is not None and "jwks" not in changes:
        jwks = None
    if method != app_policy.PRIVATE_KEY_JWT:
        jwks = jwks if "jwks" in changes else None
        uri = uri if "jwks_uri" in changes else None
    return jwks, uri


def set_client_auth(session: Session, ctx: audit.Context, app: App,
                    changes: Mapping[str, Any]) -> str | None:
    """Change how a client authenticates (RFC 7591 names: ``token_endpoint_auth_method``,
    ``jwks``, ``jwks_uri``, ``id_token_signed_response_alg``; those given). Keys rotate
    by registering old and new together, then the new alone. Checked as at registration,
    all before anything is written; audited with kids and URIs, never key material:
    ``app.client_keys_set``, and ``app.client_auth_method_changed`` for a new method.
    Returns a new secret (shown once, stored as its digest) when a private_key_jwt client
    moves to a secret method; a client moving to private_key_jwt loses its secret."""
    unknown = [k for k in changes if k not in CLIENT_AUTH_FIELDS]
    if unknown:
        raise invalid("directory.app.unknown_field", f"unknown field {unknown[0]!r}",
                      unknown[0])
    if not changes:
        raise invalid("directory.app.nothing_to_change",
                      "give keys (jwks or jwks_uri), a method or an ID token algorithm",
                      "jwks")
    old = app.token_endpoint_auth_method
    method = changes.get("token_endpoint_auth_method", old)
    problem = app_policy.auth_method_change_problem(old, method)
    if problem is not None:
        raise invalid(f"directory.app.{problem}", apps.REFUSALS[problem],
                      "token_endpoint_auth_method")
    jwks, uri = _key_source(app, changes, method)
    apps.check_key_source(method, jwks, uri)
    stored_jwks = None if jwks is None else apps.check_jwks(jwks)
    uri = None if uri is None else apps.check_jwks_uri(uri)
    alg = apps.check_id_token_alg(changes.get("id_token_signed_response_alg",
                                          app.id_token_signed_response_alg))
    secret = _set_method(session, ctx, app, method)
    summary: dict[str, Any] = {}
    if stored_jwks != app.jwks:
        summary["kids"] = None if jwks is None else [k.get("kid") for k in jwks["keys"]]
    if uri != app.jwks_uri:
        summary["jwks_uri"] = uri
        jwks_cache.forget(session, app.id)
    if alg != app.id_token_signed_response_alg:
        summary["id_token_signed_response_alg"] = alg
    app.jwks, app.jwks_uri, app.id_token_signed_response_alg = stored_jwks, uri, alg
    if summary:
        audit.record(session, "app.client_keys_set", ctx, target_type="app",
                     target_id=app.id, summary=summary)
    session.flush()
    return secret


def _set_method(session: Session, ctx: audit.Context, app: App, method: str) -> str | None:
    old = app.token_endpoint_auth_method
    if method == old:
        return None
    secret = None
    if method in app_policy.SECRET_METHODS and old not in app_policy.SECRET_METHODS:
        secret = apps.new_secret(app)
    elif method not in app_policy.SECRET_METHODS:
        app.client_secret_hash = None
    app.token_endpoint_auth_method = method
    audit.record(session, "app.client_auth_method_changed", ctx, target_type="app",
                 target_id=app.id, summary={"from": old, "to": method,
                                            "secret_issued": secret is not None})
    return secret
