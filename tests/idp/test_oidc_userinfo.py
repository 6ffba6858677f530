"""Userinfo (OIDC Core §5.3) and the claims of each scope (§5.4, ``org`` is ours): a
bearer access token with ``openid`` of a live grant; claims per granted scope only; never
the national ID number; posts under hidden nodes only for apps granted that node."""

from __future__ import annotations

import json

import pytest

from directory import accounts
from directory import apps
from tests.idp import test_oidc_flow as flow
from tests.idp.test_oidc_flow import bearer
from tests.idp.test_oidc_flow import signed_in
from tests.idp.test_oidc_flow import tokens_for

rp, spa = flow.rp, flow.spa  # the fixtures, shared


def claims_for(app, account_id, client, scope: str) -> dict:
    http = signed_in(app, account_id)
    body = tokens_for(http, client, scope=scope)
    r = http.get("/userinfo", headers=bearer(body["access_token"]))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("scope,expected", [
    ("openid", {"sub"}),
    ("openid profile", {"sub", "name", "preferred_username", "updated_at"}),
    ("openid phone", {"sub", "phone_number"}),
    ("openid email", {"sub"}),  # the clerk has no email in the directory
    ("openid org", {"sub", "org"}),
], ids=["openid", "profile", "phone", "email-absent", "org"])
def test_claims_per_scope(world, rp, scope, expected) -> None:
    app, w = world
    assert set(claims_for(app, w["clerk_account"], rp, scope)) == expected


def test_claim_values_and_no_id_number(world, rp, sessions, dsettings) -> None:
    app, w = world
    got = claims_for(app, w["clerk_account"], rp, "openid profile phone email org")
    assert got["sub"] == str(w["clerk_account"]) and got["name"] == "李娜"
    assert got["preferred_username"] == "clerk" and got["phone_number"] == "+8613812345678"
    org = got["org"]
    assert org["account_type"] == "user" and org["visibility_class"] in {"Q1", "Q2", "Q3", "Q4"}
    [post] = org["posts"]
    assert post["node_id"] == str(w["office"]) and post["title"] == "科员"
    assert post["kind"] == "primary" and post["node_path"][-1] == post["node_name"]
    assert len(post["node_path"]) >= 2
    from directory.models import Person

    with sessions() as s:
        from directory import people

        id_number = people.reveal(s, dsettings, s.get(Person, w["clerk"]), "id_number")
    text = json.dumps(got, ensure_ascii=False)
    assert id_number and id_number not in text and "id_number" not in text


def test_email_when_the_directory_has_one(world, rp, sessions) -> None:
    from directory.models import Person

    app, w = world
    with sessions.begin() as s:
        s.get(Person, w["villager"]).email = "zhangwei@example.gov.cn"
    got = claims_for(app, w["villager_account"], rp, "openid email")
    assert got["email"] == "zhangwei@example.gov.cn"


def test_hidden_post_only_for_an_app_granted_the_hidden_node(world, rp, sessions, ctx,
                                                             dsettings) -> None:
    app, w = world
    with sessions.begin() as s:
        spy = accounts.create(s, dsettings, ctx, username="spy", account_type="user",
                              person_id=w["spy"])
        spy_id = spy.id
    assert claims_for(app, spy_id, rp, "openid org")["org"]["posts"] == []
    with sessions.begin() as s:
        apps.set_directory_access(s, ctx, apps.get_app(s, rp["client_id"]),
                                  scope_node_ids=[w["edu"]], hidden_node_ids=[w["secret"]],
                                  upward=False)
    [post] = claims_for(app, spy_id, rp, "openid org")["org"]["posts"]
    assert post["node_id"] == str(w["secret"])


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_methods(world, rp, method) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope="openid")
    r = http.open("/userinfo", method=method, headers=bearer(body["access_token"]))
    assert r.status_code == 200 and r.get_json() == {"sub": str(w["clerk_account"])}


@pytest.mark.parametrize("header", [None, "Basic abc", "Bearer ", "Bearer nonsense"])
def test_missing_or_bad_token(world, header) -> None:
    app, _ = world
    r = app.test_client().get("/userinfo", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_app_own_token_is_not_a_userinfo_token(world, rp) -> None:
    from tests.idp.support import app_bearer

    app, _ = world
    r = app.test_client().get("/userinfo", headers=app_bearer(app, rp["client_id"], "openid"))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


def test_frozen_account_is_refused_within_one_request(world, rp, sessions, ctx) -> None:
    app, w = world
    http = signed_in(app, w["clerk_account"])
    body = tokens_for(http, rp, scope="openid profile")
    with sessions.begin() as s:
        accounts.freeze(s, ctx, w["clerk_account"])
    r = http.get("/userinfo", headers=bearer(body["access_token"]))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"
