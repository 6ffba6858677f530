"""Registering user-facing clients: public clients (``--public``: auth method none, no
secret, authorization code + refresh token by default), what a registration may combine
(policies.apps.client_problem), and each token endpoint auth method in the code flow."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from directory import apps
from directory.errors import DomainError
from directory.models import App
from tests.idp import test_oidc_flow as flow
from tests.idp.support import run
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for


def test_cli_creates_a_public_client(cli_env, sessions) -> None:
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "移动办公", "--public",
            "--redirect-uri", "http://127.0.0.1/callback", "--redirect-uri",
            "https://m.example.gov.cn/cb", "--scope", "openid", "--scope", "offline_access",
            "--state", "online", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert "client_secret" not in out and out["token_endpoint_auth_method"] == "none"
    assert out["grant_types"] == ["authorization_code", "refresh_token"]
    assert out["redirect_uris"] == ["http://127.0.0.1/callback", "https://m.example.gov.cn/cb"]
    with sessions() as s:
        app = s.scalar(select(App).where(App.client_id == out["client_id"]))
        assert app is not None and app.client_secret_hash is None


@pytest.mark.parametrize("args,message", [
    (["--public"], "public clients"),
    (["--public", "--redirect-uri", "https://a.example/cb", "--grant-type",
      "client_credentials"], "public client cannot use the client credentials"),
    (["--grant-type", "authorization_code"], "needs a redirect URI"),
    (["--grant-type", "refresh_token"], "needs the authorization code grant"),
    (["--grant-type", "implicit"], "grant_types"),
    (["--grant-type", "password"], "grant_types"),
    (["--grant-type", "authorization_code", "--redirect-uri", "https://a.example/cb#x"],
     "fragment"),
])
def test_cli_refusals(cli_env, args, message) -> None:
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "x", *args)
    assert r.exit_code != 0 and message in r.output


def test_confidential_code_client_from_the_cli_gets_a_secret(cli_env) -> None:
    assert run(cli_env, "init").exit_code == 0
    r = run(cli_env, "client", "create", "--name", "公文", "--grant-type", "authorization_code",
            "--redirect-uri", "https://oa.example.gov.cn/cb", "--scope", "openid", "--json")
    out = json.loads(r.output)
    assert out["client_secret"] and out["token_endpoint_auth_method"] == "client_secret_basic"


@pytest.mark.parametrize("grant_types,method,code", [
    (("client_credentials",), "none", "directory.app.public_client_credentials"),
    (("authorization_code",), "client_secret_basic", "directory.app.redirect_uri_required"),
    (("refresh_token",), "none", "directory.app.refresh_without_code"),
    ((), "client_secret_basic", "directory.app.no_grant_type"),
    (("implicit",), "none", "directory.app.grant_type"),
    (("authorization_code",), "client_secret_jwt", "directory.app.auth_method"),
])
def test_registration_refusals(world, sessions, ctx, grant_types, method, code) -> None:
    with sessions.begin() as s, pytest.raises(DomainError) as exc:
        apps.create_client(s, ctx, apps.ClientSpec(name="x", grant_types=grant_types,
                                                   auth_method=method))
    assert exc.value.code == code


def test_client_secret_post_in_the_code_flow(world, sessions, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        row, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="邮件", grant_types=("authorization_code",), scope=("openid",),
            redirect_uris=(flow.RP_REDIRECT,), auth_method="client_secret_post",
            status="applied"))
        row.status = apps.AppStatus.ONLINE
        client = {"client_id": row.client_id, "secret": secret, "public": False,
                  "redirect_uri": flow.RP_REDIRECT}
    http = signed_in(app, w["clerk_account"])
    code, verifier = flow.get_code(http, client, scope="openid")
    basic = flow.exchange(http, client, code, verifier)  # basic: not this client's method
    assert basic.status_code == 401 and basic.get_json()["error"] == "invalid_client"
    r = http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": flow.RP_REDIRECT,
        "code_verifier": verifier, "client_id": client["client_id"], "client_secret": secret})
    assert r.status_code == 200 and r.get_json()["id_token"]


def test_public_client_cannot_use_client_credentials(world, sessions, ctx) -> None:
    app, _ = world
    client = flow._client(sessions, ctx, public=True, redirect_uris=(flow.SPA_REDIRECT,))
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials",
                                                     "client_id": client["client_id"]})
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"


def test_public_client_with_a_secret_is_refused(world, sessions, ctx) -> None:
    app, w = world
    client = flow._client(sessions, ctx, public=True, redirect_uris=(flow.SPA_REDIRECT,))
    http = signed_in(app, w["clerk_account"])
    code, verifier = flow.get_code(http, client)
    r = flow.exchange(http, client, code, verifier, client_secret="guess")
    assert r.status_code in (400, 401) and r.get_json()["error"] == "invalid_client"
    assert tokens_for(http, client)["access_token"]
