"""OpenID Connect Back-Channel Logout 1.0 against a real receiver on a loopback port:
the logout token's signature checked with our JWKS, its claims (§2.4), and delivery on
RP-initiated logout, /logout and freeze; a failing receiver is audited and the logout
still succeeds (§2.8)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from directory import app_access
from directory import apps
from directory.models import AuditEvent
from idp.oidc import backchannel
from tests.idp import test_oidc_flow as flow
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import text
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp = flow.rp  # the fixture, shared
OFFLINE = "openid offline_access"


class Receiver:
    """An RP's back-channel logout endpoint: records each POST, answers ``status``."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.content_types: list[str] = []
        self.status = 200
        self.server = make_server("127.0.0.1", 0, self.wsgi)
        self.uri = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.content_types.append(request.content_type or "")
        self.tokens.append(request.form.get("logout_token", ""))
        return Response(status=self.status)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    thread.join(5)


def _register(sessions, ctx, client_id: str, uri: str) -> None:
    with sessions.begin() as s:
        app_access.set_profile(s, ctx, apps.get_app(s, client_id),
                               {"backchannel_logout_uri": uri})


def _verify(app, token: str, alg: str = "ES256") -> tuple[dict, dict]:
    keys = KeySet.import_key_set(app.test_client().get("/jwks.json").get_json())
    decoded = jwt.decode(token, keys, algorithms=[alg])
    return dict(decoded.header), dict(decoded.claims)


def _id_token_claims(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))


def test_discovery_advertises_back_channel_logout(world):
    app, _ = world
    doc = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True


def test_rp_initiated_logout_sends_a_signed_logout_token(world, rp, sessions, ctx, receiver):
    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    r = http.get("/logout/end-session", query_string={"id_token_hint": body["id_token"]})
    assert r.status_code == 200
    [token] = receiver.tokens
    assert receiver.content_types == ["application/x-www-form-urlencoded"]
    header, claims = _verify(app, token)
    assert header["typ"] == "logout+jwt" and header["alg"] == "ES256"
    id_claims = _id_token_claims(body["id_token"])
    assert claims["iss"] == flow.ISSUER and claims["aud"] == rp["client_id"]
    assert claims["sub"] == str(w["clerk_account"]) and claims["sid"] == id_claims["sid"]
    assert claims["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}}
    assert "nonce" not in claims and claims["jti"] and claims["exp"] > claims["iat"]



def test_an_rs256_client_gets_an_rs256_logout_token(world, rp, sessions, ctx, receiver):
    """§2.4: signed as the client's ID tokens are (its id_token_signed_response_alg)."""
    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    with sessions.begin() as s:
        apps.get_app(s, rp["client_id"]).id_token_signed_response_alg = "RS256"
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope=OFFLINE)
    assert json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "==="))[
        "alg"] == "RS256"
    assert http.get("/logout/end-session", query_string={
        "id_token_hint": body["id_token"]}).status_code == 200
    [token] = receiver.tokens
    header, claims = _verify(app, token, alg="RS256")
    assert header["alg"] == "RS256" and header["typ"] == "logout+jwt"
    assert claims["aud"] == rp["client_id"] and claims["sub"] == str(w["clerk_account"])

def test_logout_and_freeze_send_to_every_app_with_a_grant(world, rp, sessions, ctx,
                                                          receiver):
    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    other = flow._client(sessions, ctx, public=True, redirect_uris=(flow.SPA_REDIRECT,))
    http = signed_in(app, w["clerk_account"])
    tokens_for(http, rp)
    tokens_for(http, other)  # no back-channel URI: nothing sent to it
    csrf = fields(text(http.get("/account")))["csrf_token"]
    assert http.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert len(receiver.tokens) == 1
    assert _verify(app, receiver.tokens[0])[1]["aud"] == rp["client_id"]
    # freeze from another device: every session's apps are told
    phone, laptop = signed_in(app, w["clerk_account"]), signed_in(app, w["clerk_account"])
    tokens_for(phone, rp)
    tokens_for(laptop, rp)
    csrf = fields(text(phone.get("/account")))["csrf_token"]
    r = phone.post("/account/freeze", data={"csrf_token": csrf, "confirm": "yes"})
    assert r.status_code == 303
    sids = {_verify(app, t)[1]["sid"] for t in receiver.tokens[1:]}
    assert len(receiver.tokens) == 3 and len(sids) == 2


def test_a_failing_receiver_is_audited_and_the_logout_succeeds(world, rp, sessions, ctx,
                                                               receiver):
    app, w = world
    receiver.status = 500
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp)
    r = http.get("/logout/end-session", query_string={"id_token_hint": body["id_token"]})
    assert r.status_code == 200 and len(receiver.tokens) == 1
    with sessions() as s:
        row = s.scalar(select(AuditEvent).where(
            AuditEvent.action == "oidc.backchannel_logout_failed"))
        assert row is not None
        assert json.loads(row.summary) == {"client_id": rp["client_id"], "error": "status_500"}


def test_an_unreachable_receiver_times_out_quickly(world, rp, sessions, ctx, monkeypatch):
    import socket

    app, w = world
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _register(sessions, ctx, rp["client_id"], f"http://127.0.0.1:{port}/bcl")
    monkeypatch.setattr(backchannel, "TIMEOUT", 0.5)
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp)
    r = http.get("/logout/end-session", query_string={"id_token_hint": body["id_token"]})
    assert r.status_code == 200
    with sessions() as s:
        row = s.scalar(select(AuditEvent).where(
            AuditEvent.action == "oidc.backchannel_logout_failed"))
        assert row is not None and json.loads(row.summary)["error"]


def test_operator_freeze_tells_the_apps(world, rp, sessions, ctx, receiver, cli_env):
    """``idp account freeze`` (the operator's freeze) sends logout tokens after its
    commit, as the user's own freeze does."""
    from tests.idp.support import run

    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    http = signed_in(app, w["clerk_account"])
    tokens_for(http, rp)
    result = run(cli_env, "account", "freeze", "clerk", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "frozen"
    assert len(receiver.tokens) == 1
    header, claims = _verify(app, receiver.tokens[0])
    assert header["typ"] == "logout+jwt" and claims["aud"] == rp["client_id"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]


def test_scim_active_false_and_delete_tell_the_apps(world, rp, sessions, ctx, receiver):
    """An HR system's freeze (``active: false``) or removal (DELETE) through SCIM sends
    logout tokens after its commit, as the other freezes do."""
    from tests.scim.conftest import Client
    from tests.scim.conftest import mint

    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    with sessions.begin() as s:
        hr, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name="人事系统", grant_types=("client_credentials",), scope=("scim",),
            status="online"))
        apps.set_directory_access(s, ctx, hr, scope_node_ids=[w["edu"]], hidden_node_ids=[],
                                  upward=False)
        hr_id = hr.client_id
    scim = Client(app, mint(app, hr_id))
    tokens_for(signed_in(app, w["clerk_account"]), rp)
    r = scim.ops(f"/Users/{w['clerk']}", {"op": "replace", "value": {"active": False}})
    assert r.status_code in (200, 204), r.get_data(as_text=True)
    assert len(receiver.tokens) == 1
    assert _verify(app, receiver.tokens[0])[1]["sub"] == str(w["clerk_account"])
    r = scim.ops(f"/Users/{w['clerk']}", {"op": "replace", "value": {"active": True}})
    assert r.status_code in (200, 204)
    tokens_for(signed_in(app, w["clerk_account"]), rp)
    assert scim.delete(f"/Users/{w['clerk']}").status_code == 204
    assert len(receiver.tokens) == 2


def _grant_reasons(sessions, account_id) -> set[str | None]:
    from directory.models import OAuthGrant

    with sessions() as s:
        return set(s.scalars(select(OAuthGrant.revoke_reason).where(
            OAuthGrant.account_id == account_id)))


def test_a_password_change_at_sign_in_revokes_every_grant_and_tells_the_apps(
        world, rp, sessions, ctx, dsettings, receiver):
    """OWASP ASVS 3.3.3: the person's own change (here the forced one after an
    administrator's temporary password) ends their sessions in every app, refresh tokens
    included, and each app with a back-channel URI is told after the commit."""
    from directory import accounts
    from tests.idp.test_login_support import PASSWORD
    from tests.idp.test_login_support import login
    from tests.idp.test_login_support import step

    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    held = tokens_for(signed_in(app, w["clerk_account"]), rp, scope=OFFLINE)
    with sessions.begin() as s:
        accounts.set_password(s, dsettings, ctx, w["clerk_account"], PASSWORD,
                              must_change=True)
    client = app.test_client()
    page = login(client, "clerk", PASSWORD)
    done = step(client, page, "/login/password", new_password="a fresh long passphrase",
                confirm="a fresh long passphrase")
    assert done.status_code == 303
    assert _grant_reasons(sessions, w["clerk_account"]) == {"password_changed"}
    assert len(receiver.tokens) == 1
    assert _verify(app, receiver.tokens[0])[1]["sub"] == str(w["clerk_account"])
    again = flow.refresh(client, rp, held["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_a_password_change_through_scim_me_revokes_every_grant_and_tells_the_apps(
        world, rp, sessions, ctx, dsettings, receiver):
    from directory import accounts
    from idp import tokens
    from idp.runtime import runtime
    from tests.idp.test_login_support import PASSWORD
    from tests.scim.conftest import Client

    app, w = world
    _register(sessions, ctx, rp["client_id"], receiver.uri)
    held = tokens_for(signed_in(app, w["clerk_account"]), rp, scope=OFFLINE)
    with sessions.begin() as s:
        accounts.set_password(s, dsettings, ctx, w["clerk_account"], PASSWORD)
        portal, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name="个人中心", grant_types=("client_credentials",), scope=("openid", "scim"),
            status="online"))
        portal_id = portal.client_id
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=str(w["clerk_account"]), client_id=portal_id,
                                         scope="openid scim")
    me = Client(app, token)
    r = me.ops("/Me", {"op": "replace", "path": "password", "value": "a fresh long passphrase"})
    assert r.status_code in (200, 204), r.get_data(as_text=True)
    assert _grant_reasons(sessions, w["clerk_account"]) == {"password_changed"}
    assert len(receiver.tokens) == 1
    again = flow.refresh(app.test_client(), rp, held["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
