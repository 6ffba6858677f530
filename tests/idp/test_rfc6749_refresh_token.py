"""Refresh tokens (RFC 6749 §6) as issued here: only to clients registered for the
refresh_token grant and only when ``offline_access`` was granted; rotated at every use;
a used one presented again revokes its whole family (RFC 9700 §4.14.2); refused once the
grant is revoked or the account is frozen or deactivated."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from directory import accounts
from directory.models import AuditEvent
from directory.models import OAuthGrant
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import bearer
from tests.idp.test_oidc_flow import introspect
from tests.idp.test_oidc_flow import refresh
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared
OFFLINE = "openid profile offline_access"


@pytest.mark.parametrize("client_name", ["rp", "spa"])
def test_rotation(world, request, client_name) -> None:
    app, w = world
    client = request.getfixturevalue(client_name)
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, client, scope=OFFLINE)
    second = refresh(http, client, first["refresh_token"])
    assert second.status_code == 200 and second.headers["Cache-Control"] == "no-store"
    body = second.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"] and body["scope"] == OFFLINE
    assert "id_token" not in body
    third = refresh(http, client, body["refresh_token"])
    assert third.status_code == 200
    info = http.get("/userinfo", headers=bearer(third.get_json()["access_token"]))
    assert info.status_code == 200 and info.get_json()["sub"] == str(w["clerk_account"])


def test_reuse_revokes_the_family(world, rp, sessions) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    second = refresh(http, rp, first["refresh_token"]).get_json()
    replay = refresh(http, rp, first["refresh_token"])
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    after = refresh(http, rp, second["refresh_token"])  # the thief's or the owner's: dead
    assert after.status_code == 400 and after.get_json()["error"] == "invalid_grant"
    for token in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert introspect(http, rp, token).get_json() == {"active": False}
    with sessions() as s:
        assert s.scalars(select(OAuthGrant.revoke_reason)).one() == "refresh_reused"
        # served by idp.oauth.TokenLane, outside Flask's request context: the security
        # event still names the client, the address and the request
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "oauth.grant_revoked")).one()
    assert event.actor == f"app:{rp['client_id']}" and event.source_ip == "127.0.0.1"
    assert event.request_id == replay.headers["X-Request-ID"]


def test_parallel_use_of_one_refresh_token_succeeds_once(world, spa) -> None:
    app, w = world
    first = tokens_for(signed_in(app, w["clerk_account"]), spa, scope=OFFLINE)

    def use(_: int) -> int:
        return refresh(app.test_client(), spa, first["refresh_token"]).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(use, range(8)))
    assert statuses == [200] + [400] * 7


def test_refresh_token_of_another_client_is_invalid_grant(world, rp, sessions, ctx) -> None:
    app, w = world
    other = _client(sessions, ctx, public=False, redirect_uris=(rp["redirect_uri"],))
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    r = refresh(http, other, first["refresh_token"])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert refresh(http, rp, first["refresh_token"]).status_code == 200


def test_narrower_scope_on_refresh_keeps_the_family_scope(world, rp) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    narrow = refresh(http, rp, first["refresh_token"], scope="openid").get_json()
    assert narrow["scope"] == "openid"
    again = refresh(http, rp, narrow["refresh_token"]).get_json()
    assert again["scope"] == OFFLINE
    wider = refresh(http, rp, again["refresh_token"], scope="openid phone")
    assert wider.status_code == 400 and wider.get_json()["error"] == "invalid_scope"


def test_client_without_refresh_grant_gets_none(world, sessions, ctx) -> None:
    app, w = world
    client = _client(sessions, ctx, public=False, redirect_uris=(flow.RP_REDIRECT,),
                     grant_types=("authorization_code",))
    body = tokens_for(signed_in(app, w["clerk_account"]), client, scope=OFFLINE)
    assert "refresh_token" not in body


@pytest.mark.parametrize("how", ["freeze", "deactivate-account"])
def test_frozen_account_refresh_refused_and_tokens_inactive(world, rp, sessions, ctx,
                                                           how) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    with sessions.begin() as s:
        if how == "freeze":
            accounts.freeze(s, ctx, w["clerk_account"])
        else:
            account = accounts.get_account(s, w["clerk_account"])
            account.status = accounts.AccountStatus.DEACTIVATED
    r = refresh(http, rp, first["refresh_token"])
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_grant"
    assert introspect(http, rp, first["access_token"]).get_json() == {"active": False}
    assert introspect(http, rp, first["refresh_token"]).get_json() == {"active": False}
    assert http.get("/userinfo", headers=bearer(first["access_token"])).status_code == 401


def test_refresh_survives_the_end_of_the_browser_session(world, rp, sessions) -> None:
    """Documented choice: the browser session's idle timeout or lifetime does not end a
    grant; logout (RP-initiated) and freeze do."""
    from directory.models import BrowserSession
    from idp import sessions as browser_sessions

    app, w = world
    http = signed_in(app, w["clerk_account"])
    first = tokens_for(http, rp, scope=OFFLINE)
    with sessions.begin() as s:
        browser_sessions.end(s, s.scalars(select(BrowserSession.id)).one(), "idle")
    assert refresh(http, rp, first["refresh_token"]).status_code == 200


def test_unknown_and_missing_refresh_token(world, rp) -> None:
    app, _ = world
    http = app.test_client()
    assert refresh(http, rp, "x" * 43).get_json()["error"] == "invalid_grant"
    r = http.post("/oauth/token", data={"grant_type": "refresh_token"},
                  headers=flow.auth_headers(rp))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"


def test_temporary_account_delisted_from_the_app_loses_its_grant(world, rp, sessions, ctx,
                                                                 dsettings) -> None:
    import datetime as dt

    from directory import apps
    from directory.db import utcnow

    app, w = world
    with sessions.begin() as s:
        temp = accounts.create(s, dsettings, ctx, username="temp02", account_type="temporary",
                               person_id=w["leader"], expires_at=utcnow() + dt.timedelta(days=5))
        apps.set_account_apps(s, ctx, temp, [rp["client_id"]])
        temp_id = temp.id
    http = signed_in(app, temp_id)
    first = tokens_for(http, rp, scope=OFFLINE)
    assert http.get("/userinfo", headers=bearer(first["access_token"])).status_code == 200
    with sessions.begin() as s:
        apps.set_account_apps(s, ctx, accounts.get_account(s, temp_id), [])
    assert refresh(http, rp, first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert http.get("/userinfo", headers=bearer(first["access_token"])).status_code == 401
