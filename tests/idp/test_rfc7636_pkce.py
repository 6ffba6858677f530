"""RFC 7636 (PKCE) as enforced here: S256 for every client, confidential or public
(RFC 9700 §2.1.1); ``plain`` and a missing method (which means plain, §4.3) refused at the
authorization endpoint; the verifier checked before any token (§4.6); a verifier for a code
that has no challenge refused (RFC 9700 §4.8.2)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from directory.db import utcnow
from directory.models import AuthorizationCode
from directory.models import OAuthGrant
from idp import grants
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import ISSUER
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import exchange
from tests.idp.test_oidc_flow import get_code
from tests.idp.test_oidc_flow import pkce
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import signed_in

rp, spa = flow.rp, flow.spa  # the fixtures, shared


@pytest.mark.parametrize("client_name", ["rp", "spa"])
@pytest.mark.parametrize("case", [
    pytest.param({"drop": ("code_challenge", "code_challenge_method")}, id="no-challenge"),
    pytest.param({"code_challenge_method": "plain"}, id="plain"),
    pytest.param({"drop": ("code_challenge_method",)}, id="no-method-means-plain"),
    pytest.param({"code_challenge_method": "S512"}, id="unknown-method"),
    pytest.param({"code_challenge": "short"}, id="malformed-challenge"),
])
def test_authorization_request_without_s256_is_refused(world, request, client_name,
                                                       case) -> None:
    app, w = world
    client = request.getfixturevalue(client_name)
    r = authorize(signed_in(app, w["clerk_account"]), client, **case)
    got = query(r)
    assert got["error"] == "invalid_request" and "code" not in got
    assert got["state"] == "st-123" and got["iss"] == ISSUER


@pytest.mark.parametrize("client_name", ["rp", "spa"])
def test_wrong_verifier_is_invalid_grant(world, request, client_name) -> None:
    app, w = world
    client = request.getfixturevalue(client_name)
    http = signed_in(app, w["clerk_account"])
    code, _verifier = get_code(http, client)
    r = exchange(http, client, code, pkce()[0])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("client_name", ["rp", "spa"])
def test_missing_verifier_is_refused(world, request, client_name) -> None:
    app, w = world
    client = request.getfixturevalue(client_name)
    http = signed_in(app, w["clerk_account"])
    code, _verifier = get_code(http, client)
    r = exchange(http, client, code, None)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"


def test_malformed_verifier_is_refused(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, _verifier = get_code(http, rp)
    r = exchange(http, rp, code, "too-short")
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"


def test_verifier_for_a_code_without_challenge_is_refused(world, rp, sessions) -> None:
    """No code is ever issued without a challenge; one planted in storage still cannot be
    redeemed, with or without a verifier."""
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code = "planted-" + uuid.uuid4().hex
    with sessions.begin() as s:
        grant = OAuthGrant(client_id=rp["client_id"], account_id=w["clerk_account"],
                           scope="openid", expires_at=utcnow() + dt.timedelta(days=1))
        s.add(grant)
        s.flush()
        s.add(AuthorizationCode(code_hash=grants.digest(code), grant_id=grant.id,
                                client_id=rp["client_id"], redirect_uri=rp["redirect_uri"],
                                scope="openid", code_challenge="", code_challenge_method="",
                                expires_at=utcnow() + dt.timedelta(seconds=60)))
    for verifier in (pkce()[0], None):
        r = exchange(http, rp, code, verifier)
        assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"


def test_right_verifier_succeeds_once_even_after_a_wrong_one(world, spa) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, spa)
    assert exchange(http, spa, code, pkce()[0]).get_json()["error"] == "invalid_grant"
    assert exchange(http, spa, code, verifier).status_code == 200


def test_metadata_advertises_s256_only(world) -> None:
    app, _ = world
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        assert app.test_client().get(path).get_json()["code_challenge_methods_supported"] == [
            "S256"]
