"""Apps (#4, DOMAIN.md §6): the application form and its admin API, testers, and the
使用范围 enforced at /authorize ("no access to this app", audited, never a code)."""

from __future__ import annotations

import json

from sqlalchemy import select

from directory import accounts
from directory import app_access
from directory import apps
from directory import rules
from directory import tags
from directory.models import App
from directory.models import AuditEvent
from tests.idp import test_oidc_flow as flow
from tests.idp.support import bearer
from tests.idp.support import run
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import query
from tests.idp.test_oidc_flow import signed_in

rp = flow.rp  # the fixture, shared


def _policy(sessions, ctx, client_id, **lists):
    with sessions.begin() as s:
        app = apps.get_app(s, client_id)
        app_access.set_policy(s, ctx, app, node_ids=lists.get("nodes", []),
                              tag_ids=lists.get("tags", []),
                              account_types=lists.get("types", []))


def _refusals(sessions) -> list[dict]:
    with sessions() as s:
        rows = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "oauth.authorization_refused").order_by(AuditEvent.seq))
        return [json.loads(r.summary) | {"actor": r.actor} for r in rows]


def test_open_app_admits_everyone(world, rp):
    app, w = world
    assert "code" in query(authorize(signed_in(app, w["clerk_account"]), rp))


def test_subtree_policy_refuses_others_with_a_page_and_an_audit_record(world, rp, sessions,
                                                                        ctx):
    app, w = world
    _policy(sessions, ctx, rp["client_id"], nodes=[w["town"]])
    refused = authorize(signed_in(app, w["clerk_account"]), rp)
    assert refused.status_code == 403 and "Location" not in refused.headers
    body = refused.get_data(as_text=True)
    assert "无权使用此应用" in body and 'data-error="access_denied"' in body
    assert refused.headers["Cache-Control"] == "no-store"
    english = authorize(signed_in(app, w["clerk_account"]), rp, lang="en")
    assert "No access to this application" in english.get_data(as_text=True)
    [first, _] = _refusals(sessions)
    assert first["rule"] == "policy.outside" and first["reason"] == "no_access"
    assert first["actor"] == f"account:{w['clerk_account']}"
    # the villager works under the town
    assert "code" in query(authorize(signed_in(app, w["villager_account"]), rp))


def test_tag_and_account_type_policies(world, rp, sessions, ctx):
    app, w = world
    with sessions.begin() as s:
        tag = tags.create(s, ctx, name="应急值班", owner_node_id=w["edu"])
        tags.add_member(s, ctx, tag.id, node_id=w["village"])
        tag_id = tag.id
    _policy(sessions, ctx, rp["client_id"], nodes=[w["edu"]], tags=[tag_id])
    assert "code" in query(authorize(signed_in(app, w["villager_account"]), rp))
    assert "code" in query(authorize(signed_in(app, w["clerk_account"]), rp))
    _policy(sessions, ctx, rp["client_id"], types=["graded_admin"])
    assert authorize(signed_in(app, w["clerk_account"]), rp).status_code == 403
    assert _refusals(sessions)[-1]["rule"] == "policy.account_type"


def test_temporary_account_only_its_listed_apps(world, rp, sessions, dsettings, ctx):
    import datetime as dt

    app, w = world
    with sessions.begin() as s:
        temp = accounts.create(s, dsettings, ctx, username="vendor", account_type="temporary",
                               expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
        temp_id = temp.id
    assert authorize(signed_in(app, temp_id), rp).status_code == 403
    with sessions.begin() as s:
        apps.set_account_apps(s, ctx, s.get(type(temp), temp_id), [rp["client_id"]])
    assert "code" in query(authorize(signed_in(app, temp_id), rp))


def test_testing_app_is_refused_to_non_testers_by_the_policy(world, sessions, dsettings, ctx):
    _app, w = world
    with sessions.begin() as s:
        client, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name="试运行", grant_types=("authorization_code",),
            redirect_uris=("https://t.example.gov.cn/cb",), status="approved"))
        apps.set_status(s, ctx, client, "testing")
        clerk = s.get(accounts.Account, w["clerk_account"])
        assert app_access.decide(s, clerk, client).rule == "testing.not_tester"
        app_access.set_testers(s, ctx, client, [w["clerk_account"]])
        assert app_access.decide(s, clerk, client).rule == "testing.tester"
        villager = s.get(accounts.Account, w["villager_account"])
        assert not app_access.decide(s, villager, client).allowed


def _admins(sessions, dsettings, ctx, w):
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
        town = accounts.create(s, dsettings, ctx, username="town-admin",
                               account_type="graded_admin")
        rules.grant(s, ctx, town.id, [w["town"]], ["apps"])
        for code, unit in (("town-oa", w["town"]), ("edu-oa", w["edu"])):
            apps.register(s, ctx, client_id=code, name=code, unit_node_id=unit)
        return boss.id, town.id


def test_admin_api_sets_the_form_testers_and_policy(world, sessions, dsettings, ctx):
    app, w = world
    boss, town = _admins(sessions, dsettings, ctx, w)
    http = app.test_client()
    form = {"name": "朱家角协同办公", "contact_name": "陈静", "contact_phone": "021-59230000",
            "contact_email": "oa@zjj.example.gov.cn", "tech_lead_name": "刘工",
            "tech_lead_phone": "13900000000", "url": "https://oa.zjj.example.gov.cn/",
            "icon_url": "https://oa.zjj.example.gov.cn/icon.png",
            "access_modes": ["sso", "todo"], "needs_user_sync": True,
            "planned_date": "2026-12-01", "tester_ids": [str(w["villager_account"])],
            "access": {"node_ids": [str(w["village"])], "account_types": ["user"]}}
    r = http.put("/api/v1/admin/apps/town-oa", json=form, headers=bearer(app, town))
    assert r.status_code == 200, r.get_json()
    got = http.get("/api/v1/admin/apps/town-oa", headers=bearer(app, boss)).get_json()
    assert got["contact_name"] == "陈静" and got["access_modes"] == ["sso", "todo"]
    assert got["needs_user_sync"] is True and got["planned_date"] == "2026-12-01"
    assert got["tester_ids"] == [str(w["villager_account"])]
    assert got["access"] == {"node_ids": [str(w["village"])], "tag_ids": [],
                             "account_types": ["user"]}
    # another unit's app, or a subtree outside the admin's scope: 404
    assert http.get("/api/v1/admin/apps/edu-oa", headers=bearer(app, town)).status_code == 404
    outside = http.put("/api/v1/admin/apps/town-oa", json={"access": {
        "node_ids": [str(w["edu"])]}}, headers=bearer(app, town))
    assert outside.status_code == 404
    bad = http.put("/api/v1/admin/apps/town-oa", json={"access_modes": ["fax"]},
                   headers=bearer(app, town))
    assert bad.status_code == 400 and bad.get_json()["field"] == "access_modes"
    http_bcl = http.put("/api/v1/admin/apps/town-oa", headers=bearer(app, town),
                        json={"backchannel_logout_uri": "http://rp.example.gov.cn/bcl"})
    assert http_bcl.get_json()["error"] == "directory.app.backchannel_logout_uri"
    loopback = http.put("/api/v1/admin/apps/town-oa", headers=bearer(app, town),
                        json={"backchannel_logout_uri": "http://127.0.0.1:9/bcl"})
    assert loopback.status_code == 200
    # what GET answers can be PUT back as it is; read-only fields cannot change
    again = http.get("/api/v1/admin/apps/town-oa", headers=bearer(app, town)).get_json()
    assert http.put("/api/v1/admin/apps/town-oa", json=again,
                    headers=bearer(app, town)).get_json() == again
    moved = http.put("/api/v1/admin/apps/town-oa", json={"status": "online"},
                     headers=bearer(app, town))
    assert moved.status_code == 400
    users = http.get("/api/v1/admin/apps/town-oa", headers=bearer(app, w["clerk_account"]))
    assert users.status_code == 403


def test_cli_client_create_takes_the_form(cli_env, world, sessions):
    result = run(cli_env, "client", "create", "--name", "统一待办", "--public",
                 "--redirect-uri", "https://todo.example.gov.cn/cb", "--contact-name", "陈静",
                 "--tech-lead", "刘工", "--url", "https://todo.example.gov.cn/",
                 "--icon", "https://todo.example.gov.cn/i.png", "--access-mode", "sso",
                 "--access-mode", "todo", "--needs-user-sync",
                 "--backchannel-logout-uri", "https://todo.example.gov.cn/bcl", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["access_modes"] == ["sso", "todo"] and out["needs_user_sync"] is True
    with sessions() as s:
        row = s.scalar(select(App).where(App.client_id == out["client_id"]))
        assert row.tech_lead_name == "刘工"
        assert row.backchannel_logout_uri == "https://todo.example.gov.cn/bcl"
    refused = run(cli_env, "client", "create", "--name", "x", "--backchannel-logout-uri",
                  "http://example.gov.cn/bcl")
    assert refused.exit_code != 0 and "backchannel_logout_uri" in refused.output


def _testing_client(sessions, ctx) -> dict:
    return flow._client(sessions, ctx, public=False, redirect_uris=(flow.RP_REDIRECT,),
                        status="testing")


def test_testing_app_signs_in_first_then_refuses_non_testers(world, sessions, ctx):
    app, w = world
    client = _testing_client(sessions, ctx)
    anonymous = authorize(app.test_client(), client)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    refused = authorize(signed_in(app, w["clerk_account"]), client)
    assert refused.status_code == 403 and 'data-error="app_unavailable"' in refused.get_data(
        as_text=True)
    assert _refusals(sessions)[-1]["reason"] == "app_testing"


def test_testing_app_admits_its_testers(world, sessions, ctx):
    app, w = world
    client = _testing_client(sessions, ctx)
    with sessions.begin() as s:
        app_access.set_testers(s, ctx, apps.get_app(s, client["client_id"]),
                               [w["clerk_account"]])
    assert "code" in query(authorize(signed_in(app, w["clerk_account"]), client))
    assert authorize(signed_in(app, w["villager_account"]), client).status_code == 403
    # the tester completes the sign-in: the token endpoint serves a testing app's grants
    tester = signed_in(app, w["clerk_account"])
    body = flow.tokens_for(tester, client, scope="openid offline_access")
    assert body["access_token"] and body["id_token"]
    info = tester.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    # but not its own token: client credentials are for online apps only
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=flow.auth_headers(client))
    assert r.status_code == 400 and r.get_json()["error"] in (
        "unauthorized_client", "unsupported_grant_type")
