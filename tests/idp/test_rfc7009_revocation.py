"""Token revocation (RFC 7009): the client authenticates (public clients by client_id);
revoking a user's refresh or access token revokes its grant, so every token of the family
dies; unknown tokens answer 200 (§2.2); another client's token is refused and survives."""

from __future__ import annotations

import pytest

from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import bearer
from tests.idp.test_oidc_flow import introspect
from tests.idp.test_oidc_flow import refresh
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared
OFFLINE = "openid offline_access"


def revoke(http, client: dict, token: str, **extra):
    return http.post("/oauth/revoke", data={"token": token, **flow.client_form(client),
                                            **extra}, headers=flow.auth_headers(client))


@pytest.mark.parametrize("client_name", ["rp", "spa"])
@pytest.mark.parametrize("kind", ["refresh_token", "access_token"])
def test_revoking_one_token_kills_the_family(world, request, client_name, kind) -> None:
    app, w = world
    client = request.getfixturevalue(client_name)
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, client, scope=OFFLINE)
    r = revoke(http, client, body[kind], token_type_hint=kind)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert refresh(http, client, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert http.get("/userinfo", headers=bearer(body["access_token"])).status_code == 401
    if not client["public"]:
        assert introspect(http, client, body["access_token"]).get_json() == {"active": False}


def test_other_family_survives(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    one, two = tokens_for(http, rp, scope=OFFLINE), tokens_for(http, rp, scope=OFFLINE)
    assert revoke(http, rp, one["refresh_token"]).status_code == 200
    assert refresh(http, rp, two["refresh_token"]).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token-" + "x" * 30, "a.b.c"])
def test_unknown_token_is_200(world, rp, token) -> None:
    app, _ = world
    assert revoke(app.test_client(), rp, token).status_code == 200


def test_another_clients_token_is_refused_and_survives(world, rp, sessions, ctx) -> None:
    app, w = world
    other = _client(sessions, ctx, public=False, redirect_uris=(flow.RP_REDIRECT,))
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = revoke(http, other, body["refresh_token"])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert refresh(http, rp, body["refresh_token"]).status_code == 200


def test_client_authentication_is_required(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.post("/oauth/revoke", data={"token": body["refresh_token"]})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    r = http.post("/oauth/revoke", data={"token": body["refresh_token"],
                                         "client_id": rp["client_id"]})  # no secret
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    assert refresh(http, rp, body["refresh_token"]).status_code == 200


def test_missing_token_and_bad_hint(world, rp) -> None:
    app, _ = world
    http = app.test_client()
    r = http.post("/oauth/revoke", data={}, headers=flow.auth_headers(rp))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    r = revoke(http, rp, "x" * 43, token_type_hint="id_token")
    assert r.get_json()["error"] == "unsupported_token_type"
