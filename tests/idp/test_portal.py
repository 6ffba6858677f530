"""The portal (统一移动工作门户, #4): the online apps the signed-in user may open."""

from __future__ import annotations

from directory import app_access
from directory import apps
from tests.idp.test_oidc_flow import signed_in


def _app(sessions, ctx, name, status="online", **profile):
    with sessions.begin() as s:
        app, _ = apps.create_client(s, ctx, apps.ClientSpec(
            name=name, grant_types=("authorization_code",),
            redirect_uris=(f"https://{len(name)}.example.gov.cn/cb",), status="approved"))
        for step in ("testing", "online", "offline"):
            apps.set_status(s, ctx, app, step)
            if step == status:
                break
        if profile:
            app_access.set_profile(s, ctx, app, profile)
        return app.client_id


def test_portal_lists_the_apps_the_user_may_open(world, sessions, ctx):
    app, w = world
    _app(sessions, ctx, "协同办公", url="https://oa.example.gov.cn/",
         icon_url="https://oa.example.gov.cn/icon.png")
    town_only = _app(sessions, ctx, "镇级审批", url="https://town.example.gov.cn/")
    with sessions.begin() as s:
        app_access.set_policy(s, ctx, apps.get_app(s, town_only), node_ids=[w["town"]],
                              tag_ids=[], account_types=[])
    _app(sessions, ctx, "维护中", status="offline")
    _app(sessions, ctx, "试运行中", status="testing")
    clerk = signed_in(app, w["clerk_account"]).get("/portal")
    assert clerk.status_code == 200
    body = clerk.get_data(as_text=True)
    assert "协同办公" in body and 'href="https://oa.example.gov.cn/"' in body
    assert 'src="https://oa.example.gov.cn/icon.png"' in body
    assert "镇级审批" not in body and "维护中" not in body and "试运行中" not in body
    assert '<html lang="zh-CN">' in body
    villager = signed_in(app, w["villager_account"]).get("/portal").get_data(as_text=True)
    assert "镇级审批" in villager and "协同办公" in villager
    for name, value in (("Cache-Control", "no-store"), ("X-Frame-Options", "DENY"),
                        ("Referrer-Policy", "no-referrer")):
        assert clerk.headers[name] == value
    assert "frame-ancestors 'none'" in clerk.headers["Content-Security-Policy"]


def test_portal_needs_a_session(world):
    app, _ = world
    r = app.test_client().get("/portal")
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/portal"
    assert r.headers["Cache-Control"] == "no-store"


def test_portal_is_empty_for_a_temporary_account_without_apps(world, sessions, dsettings, ctx):
    import datetime as dt

    from directory import accounts

    app, _ = world
    _app(sessions, ctx, "协同办公")
    with sessions.begin() as s:
        temp = accounts.create(s, dsettings, ctx, username="vendor", account_type="temporary",
                               expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
        temp_id = temp.id
    body = signed_in(app, temp_id).get("/portal").get_data(as_text=True)
    assert "协同办公" not in body and "暂无可用的应用" in body


def test_portal_follows_tags_types_and_temporary_listings(world, sessions, dsettings, ctx):
    import datetime as dt

    from directory import accounts
    from directory import tags

    app, w = world
    tagged = _app(sessions, ctx, "应急值班系统")
    admins_only = _app(sessions, ctx, "管理后台")
    with sessions.begin() as s:
        tag = tags.create(s, ctx, name="应急值班", owner_node_id=w["edu"])
        tags.add_member(s, ctx, tag.id, person_id=w["villager"])
        app_access.set_policy(s, ctx, apps.get_app(s, tagged), node_ids=[w["edu"]],
                              tag_ids=[tag.id], account_types=["user"])
        app_access.set_policy(s, ctx, apps.get_app(s, admins_only), node_ids=[], tag_ids=[],
                              account_types=["graded_admin"])
        temp = accounts.create(s, dsettings, ctx, username="vendor", account_type="temporary",
                               expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
        apps.set_account_apps(s, ctx, temp, [tagged])
        temp_id = temp.id
    villager = signed_in(app, w["villager_account"]).get("/portal").get_data(as_text=True)
    assert "应急值班系统" in villager and "管理后台" not in villager
    vendor = signed_in(app, temp_id).get("/portal").get_data(as_text=True)
    assert "应急值班系统" in vendor and "管理后台" not in vendor
