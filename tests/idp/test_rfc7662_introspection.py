"""Token introspection (RFC 7662): confidential clients authenticate (basic or post) and
see only their own tokens; everything else, and every dead token (expired, revoked grant,
frozen or deactivated account, app offline), answers ``{"active": false}``."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from directory import accounts
from directory import apps
from tests.idp import test_oidc_flow as flow
from tests.idp.support import app_bearer
from tests.idp.test_oidc_flow import ISSUER
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import introspect
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared
OFFLINE = "openid profile offline_access"


def test_active_access_token(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = introspect(http, rp, body["access_token"])
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    got = r.get_json()
    assert got["active"] is True and got["client_id"] == rp["client_id"]
    assert got["sub"] == str(w["clerk_account"]) and got["scope"] == OFFLINE
    assert got["iss"] == ISSUER and got["exp"] > got["iat"] and got["token_type"] == "Bearer"
    assert got["sid"] and got["jti"]


def test_active_refresh_token(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    for hint in ({}, {"token_type_hint": "access_token"}, {"token_type_hint": "refresh_token"}):
        r = http.post("/oauth/introspect", data={"token": body["refresh_token"], **hint},
                      headers=flow.auth_headers(rp))
        got = r.get_json()
        assert got["active"] is True and got["token_type"] == "refresh_token"
        assert got["sub"] == str(w["clerk_account"]) and got["client_id"] == rp["client_id"]


def test_used_refresh_token_is_inactive(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    assert flow.refresh(http, rp, body["refresh_token"]).status_code == 200
    assert introspect(http, rp, body["refresh_token"]).get_json() == {"active": False}


def test_another_clients_token_is_inactive_for_me(world, rp, sessions, ctx) -> None:
    app, w = world
    other = _client(sessions, ctx, public=False, redirect_uris=(flow.RP_REDIRECT,))
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    for token in (body["access_token"], body["refresh_token"]):
        assert introspect(http, other, token).get_json() == {"active": False}


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 43, ""])
def test_unknown_tokens_are_inactive(world, rp, token) -> None:
    app, _ = world
    assert introspect(app.test_client(), rp, token).get_json() == {"active": False}


def test_expired_access_token_is_inactive(world, rp) -> None:
    from idp import tokens
    from idp.app import runtime

    app, w = world
    rt = runtime(app)
    with rt.sessions() as s:
        old = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                       subject=rp["client_id"], client_id=rp["client_id"],
                                       scope="", ttl=-120)
    assert introspect(app.test_client(), rp, old).get_json() == {"active": False}


def test_client_authentication_is_required(world, rp, spa) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.post("/oauth/introspect", data={"token": body["access_token"]})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    bad = base64.b64encode(f"{rp['client_id']}:wrong".encode()).decode()
    r = http.post("/oauth/introspect", data={"token": body["access_token"]},
                  headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    r = http.post("/oauth/introspect", data={"token": body["access_token"],  # public client
                                             "client_id": spa["client_id"]})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("how", ["freeze", "deactivate", "expire-temporary"])
def test_dead_account_makes_tokens_inactive(world, rp, sessions, ctx, how) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    with sessions.begin() as s:
        account = accounts.get_account(s, w["clerk_account"])
        if how == "freeze":
            accounts.freeze(s, ctx, account.id)
        elif how == "deactivate":
            account.status = accounts.AccountStatus.DEACTIVATED
        else:
            account.expires_at = accounts.utcnow() - dt.timedelta(minutes=1)
    for token in (body["access_token"], body["refresh_token"]):
        assert introspect(http, rp, token).get_json() == {"active": False}


def test_offline_app_tokens_are_refused_until_it_is_online_again(world, rp, sessions,
                                                                 ctx) -> None:
    """An offline app cannot authenticate (so it introspects nothing) and its users'
    tokens are refused at userinfo; maintenance does not revoke grants."""
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, rp["client_id"]), "offline", reason="维护")
    assert introspect(http, rp, body["access_token"]).status_code == 401
    assert http.get("/userinfo", headers=flow.bearer(body["access_token"])).status_code == 401
    with sessions.begin() as s:
        apps.set_status(s, ctx, apps.get_app(s, rp["client_id"]), "online", reason="恢复")
    assert introspect(http, rp, body["access_token"]).get_json()["active"] is True


def test_app_own_token_introspects_while_online(world, rp) -> None:
    app, _ = world
    header = app_bearer(app, rp["client_id"], scope="")
    token = header["Authorization"][7:]
    got = introspect(app.test_client(), rp, token).get_json()
    assert got["active"] is True and got["sub"] == rp["client_id"]


def test_id_token_is_not_an_access_token(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    assert introspect(http, rp, body["id_token"]).get_json() == {"active": False}


@pytest.mark.parametrize("path", ["/oauth/introspect", "/oauth/revoke"])
def test_plain_http_to_another_host_is_insecure_transport(world, rp, path) -> None:
    """authlib refuses these endpoints over plain http except to a loopback host: an RFC 6749
    error (400 ``insecure_transport``), not an unhandled exception."""
    app, _ = world
    r = app.test_client().post(path, base_url="http://idp.example.gov.cn",
                               data={"token": "x" * 40}, headers=flow.auth_headers(rp))
    assert r.status_code == 400 and r.get_json()["error"] == "insecure_transport"
    r = app.test_client().post(path, data={"token": "x" * 40}, headers=flow.auth_headers(rp))
    assert r.status_code == 200
