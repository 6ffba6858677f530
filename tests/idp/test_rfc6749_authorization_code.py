"""The authorization code grant (RFC 6749 §4.1) as enforced here: response_type code only
(no implicit, no hybrid), registered scopes only, state returned, RFC 9207 ``iss`` in every
authorization response, and a code redeemed once: a second redemption, sequential or in
parallel, fails and revokes the grant, so the tokens of the first die (§4.1.2)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy import update

from directory.db import utcnow
from directory.models import AuthorizationCode
from directory.models import OAuthGrant
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import ISSUER
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import bearer
from tests.idp.test_oidc_flow import exchange
from tests.idp.test_oidc_flow import get_code
from tests.idp.test_oidc_flow import introspect
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import refresh
from tests.idp.test_oidc_flow import signed_in

rp, spa = flow.rp, flow.spa  # the fixtures, shared


def test_sequential_replay_fails_and_kills_the_first_tokens(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp, scope="openid offline_access")
    first = exchange(http, rp, code, verifier).get_json()
    assert introspect(http, rp, first["access_token"]).get_json()["active"] is True
    again = exchange(http, rp, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert introspect(http, rp, first["access_token"]).get_json() == {"active": False}
    r = refresh(http, rp, first["refresh_token"])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert http.get("/userinfo", headers=bearer(first["access_token"])).status_code == 401
    with sessions() as s:
        grant = s.scalars(select(OAuthGrant)).one()
        assert grant.revoked_at is not None and grant.revoke_reason == "code_replayed"


def test_twenty_parallel_redemptions_one_success(world, spa, sessions) -> None:
    app, w = world
    code, verifier = get_code(signed_in(app, w["clerk_account"]), spa,
                              scope="openid offline_access")

    def redeem(_: int):
        r = exchange(app.test_client(), spa, code, verifier)
        return r.status_code, r.get_json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(redeem, range(20)))
    ok = [body for status, body in results if status == 200]
    refused = [body["error"] for status, body in results if status != 200]
    assert len(ok) == 1 and refused == ["invalid_grant"] * 19
    http = app.test_client()
    r = refresh(http, spa, ok[0]["refresh_token"])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert http.get("/userinfo", headers=bearer(ok[0]["access_token"])).status_code == 401


def test_expired_code_is_invalid_grant(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp)
    with sessions.begin() as s:
        s.execute(update(AuthorizationCode).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
    r = exchange(http, rp, code, verifier)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"


def test_code_of_another_client_is_invalid_grant(world, rp, sessions, ctx) -> None:
    app, w = world
    other = _client(sessions, ctx, public=False, redirect_uris=(rp["redirect_uri"],))
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp)
    r = exchange(http, other, code, verifier)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert exchange(http, rp, code, verifier).status_code == 200  # not burnt by the attempt


def test_unknown_code_is_invalid_grant(world, rp) -> None:
    app, _ = world
    r = exchange(app.test_client(), rp, "x" * 48, "v" * 43)
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"


def test_confidential_client_must_authenticate(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp)
    r = exchange(http, {**rp, "public": True}, code, verifier)  # client_id only, no secret
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token",
                                           "code token", "none", "code code"])
def test_only_response_type_code(world, rp, response_type) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp,
                          response_type=response_type))
    assert got["error"] == "unsupported_response_type" and "code" not in got
    assert got["state"] == "st-123" and got["iss"] == ISSUER


def test_client_without_the_code_grant_is_unauthorized(world, sessions, ctx) -> None:
    app, w = world
    client = _client(sessions, ctx, public=False, redirect_uris=("https://cc.example/cb",),
                     grant_types=("client_credentials",), scope=("openid", "directory"))
    got = query(authorize(signed_in(app, w["clerk_account"]), client))
    assert got["error"] == "unauthorized_client" and got["iss"] == ISSUER


def test_scope_beyond_the_registered_is_refused(world, rp) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, scope="openid directory"))
    assert got["error"] == "invalid_scope" and got["state"] == "st-123"


def test_no_scope_means_the_registered_scope(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp, scope="")
    body = exchange(http, rp, code, verifier).get_json()
    assert set(body["scope"].split()) == {"openid", "profile", "phone", "email", "org",
                                          "offline_access"}


@pytest.mark.parametrize("param,error", [("request", "request_not_supported"),
                                         ("request_uri", "request_uri_not_supported")])
def test_request_objects_are_not_supported(world, rp, param, error) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, **{param: "eyJ.x.y"}))
    assert got["error"] == error and got["iss"] == ISSUER


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_query_response_mode_only(world, rp, mode) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, response_mode=mode))
    assert got["error"] == "invalid_request"


def test_overlong_nonce_is_refused(world, rp) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, nonce="n" * 256))
    assert got["error"] == "invalid_request" and got["state"] == "st-123"


def test_no_state_no_state_back(world, rp) -> None:
    app, w = world
    got = query(authorize(signed_in(app, w["clerk_account"]), rp, drop=("state",)))
    assert "state" not in got and got["code"] and got["iss"] == ISSUER


def test_code_and_tokens_are_stored_hashed(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    code, verifier = get_code(http, rp, scope="openid offline_access")
    body = exchange(http, rp, code, verifier).get_json()
    with sessions() as s:
        row = s.scalars(select(AuthorizationCode)).one()
        assert row.code_hash != code and code not in row.code_hash
        assert row.redeemed_at is not None and row.nonce == "n-456"
        from directory.models import RefreshToken

        assert s.scalars(select(RefreshToken.token_hash)).one() != body["refresh_token"]


def test_temporary_account_not_listed_gets_no_code(world, rp, sessions, ctx,
                                                   dsettings) -> None:
    from directory import accounts

    app, w = world
    with sessions.begin() as s:
        temp = accounts.create(s, dsettings, ctx, username="temp01", account_type="temporary",
                               person_id=w["leader"], expires_at=utcnow() + dt.timedelta(days=5))
        temp_id = temp.id
    r = authorize(signed_in(app, temp_id), rp)
    assert r.status_code == 403 and "Location" not in r.headers
    assert 'data-error="access_denied"' in r.get_data(as_text=True)
