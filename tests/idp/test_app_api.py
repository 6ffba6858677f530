"""Apps reading the directory with their own token, from the outside: only their scope,
hidden nodes only when granted by name, the higher-level directory only what units share
upward (开放共享范围); graded admins authorise apps inside their unit only; temporary
accounts reach only their listed apps; deactivated people exist for admins with scope."""

from __future__ import annotations

import datetime as dt

import pytest

from directory import accounts
from directory import apps
from directory import people
from directory import rules
from directory import tags
from directory.db import utcnow
from directory.errors import DomainError
from directory.models import Node
from tests import factories as f
from tests.idp.support import app_bearer
from tests.idp.support import bearer
from tests.idp.support import without_request_id


@pytest.fixture
def oa(world, sessions, ctx):
    """An online app authorised for the education bureau (区教育局)."""
    _, w = world
    with sessions.begin() as s:
        a = apps.register(s, ctx, client_id="oa", name="协同办公", unit_node_id=w["edu"],
                          status="online")
        apps.set_directory_access(s, ctx, a, scope_node_ids=[w["edu"]], hidden_node_ids=[],
                                  upward=False)
    return "oa"


@pytest.fixture
def admins(world, sessions, dsettings, ctx):
    _, w = world
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
        town_admin = accounts.create(s, dsettings, ctx, username="town-admin",
                                     account_type="graded_admin")
        rules.grant(s, ctx, town_admin.id, [w["town"]], ["apps", "visibility", "accounts"])
        return {"boss": boss.id, "town": town_admin.id}


def ids(items) -> set[str]:
    return {i["person_id"] for i in items}


def test_app_reads_its_scope_and_nothing_else(world, oa) -> None:
    app, w = world
    client, h = app.test_client(), app_bearer(app, oa)
    me = client.get("/api/v1/me", headers=h).get_json()
    assert me["app"]["client_id"] == "oa" and [n["id"] for n in me["nodes"]] == [str(w["edu"])]
    listed = client.get(f"/api/v1/nodes/{w['edu']}/people?limit=100", headers=h).get_json()
    assert str(w["clerk"]) in ids(listed["items"]) and str(w["spy"]) not in ids(listed["items"])
    assert len(listed["items"]) == 8  # the clerk and seven 科员; not the hidden 督查室
    kids = client.get(f"/api/v1/nodes/{w['edu']}/children", headers=h).get_json()["items"]
    assert [k["id"] for k in kids] == [str(w["office"])]
    person = client.get(f"/api/v1/people/{w['clerk']}", headers=h).get_json()
    assert person["mode"] == "direct" and person["mobile"] == "13812345678"
    assert person["id_number_masked"] is None
    unknown = client.get(f"/api/v1/people/{f.uid()}", headers=h)
    for outside in (f"/api/v1/people/{w['villager']}", f"/api/v1/people/{w['spy']}",
                    f"/api/v1/people/{w['leader']}"):
        r = client.get(outside, headers=h)
        assert r.status_code == 404
        assert without_request_id(r.get_json()) == without_request_id(unknown.get_json())
    for node in ("town", "secret", "gov", "root"):
        assert client.get(f"/api/v1/nodes/{w[node]}", headers=h).status_code == 404
    found = client.get("/api/v1/people/search?q=li", headers=h).get_json()["items"]
    assert [i["name"] for i in found] == ["李娜"] and found[0]["mode"] == "direct"
    assert client.get("/api/v1/people/search?q=张伟", headers=h).get_json()["items"] == []
    assert client.get("/api/v1/people/search?q=赵敏", headers=h).get_json()["items"] == []


def test_hidden_node_only_when_granted_by_name(world, oa, admins) -> None:
    app, w = world
    client, h = app.test_client(), app_bearer(app, oa)
    assert client.get(f"/api/v1/people/{w['spy']}", headers=h).status_code == 404
    r = client.put("/api/v1/admin/apps/oa/directory-access", headers=bearer(app, admins["boss"]),
                   json={"scope_node_ids": [str(w["edu"])], "hidden_node_ids": [str(w["secret"])]})
    assert r.status_code == 200 and r.get_json()["hidden_node_ids"] == [str(w["secret"])]
    assert client.get(f"/api/v1/people/{w['spy']}", headers=h).status_code == 200
    kids = client.get(f"/api/v1/nodes/{w['edu']}/children", headers=h).get_json()["items"]
    assert {k["id"] for k in kids} == {str(w["office"]), str(w["secret"])}
    assert [i["name"] for i in client.get("/api/v1/people/search?q=赵",
                                          headers=h).get_json()["items"]] == ["赵敏"]
    # a grant must name a hidden node where the app reads
    bad = client.put("/api/v1/admin/apps/oa/directory-access",
                     headers=bearer(app, admins["boss"]),
                     json={"scope_node_ids": [str(w["edu"])],
                           "hidden_node_ids": [str(w["office"])]})
    assert bad.status_code == 400 and bad.get_json()["field"] == "hidden_node_ids"


def test_app_token_must_be_online_and_carry_the_directory_scope(world, oa, sessions,
                                                                ctx) -> None:
    app, w = world
    client = app.test_client()
    r = client.get("/api/v1/me", headers=app_bearer(app, oa, scope="openid"))
    assert r.status_code == 403 and r.get_json()["error"] == "insufficient_scope"
    assert "insufficient_scope" in r.headers["WWW-Authenticate"]
    with sessions.begin() as s:
        apps.register(s, ctx, client_id="trial", name="试点应用", status="testing")
    for client_id in ("trial", "nobody"):
        r = client.get("/api/v1/me", headers=app_bearer(app, client_id))
        assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


def test_app_token_acts_for_no_person(world, oa) -> None:
    app, w = world
    client, h = app.test_client(), app_bearer(app, oa)
    assert client.get("/api/v1/admin/visibility/rules", headers=h).status_code == 403
    assert client.post("/api/v1/contact-requests", headers=h,
                       json={"target_id": str(w["clerk"])}).status_code == 403
    assert client.get(f"/api/v1/admin/visibility/explain?viewer={w['clerk']}"
                      f"&target={w['clerk']}", headers=h).status_code == 403


def test_app_reads_tags_of_its_scope(world, oa, sessions, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        mine = tags.create(s, ctx, name="教育督导", owner_node_id=w["edu"])
        tags.add_member(s, ctx, mine.id, node_id=w["edu"])
        tags.add_member(s, ctx, mine.id, person_id=w["villager"])
        theirs = tags.create(s, ctx, name="防汛", owner_node_id=w["town"])
    client, h = app.test_client(), app_bearer(app, oa)
    listed = client.get("/api/v1/tags", headers=h).get_json()["items"]
    assert [t["name"] for t in listed] == ["教育督导"]
    assert client.get(f"/api/v1/tags/{theirs.id}/people", headers=h).status_code == 404
    members = client.get(f"/api/v1/tags/{mine.id}/people?limit=100", headers=h).get_json()
    # the villager is tagged but outside the app's scope; the spy is hidden
    assert len(members["items"]) == 8 and str(w["villager"]) not in ids(members["items"])


def test_higher_level_directory_sees_only_what_units_share(world, admins, sessions,
                                                           ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        apps.register(s, ctx, client_id="city", name="市级通讯录", status="online")
    client = app.test_client()
    boss, town = bearer(app, admins["boss"]), bearer(app, admins["town"])
    access = {"scope_node_ids": [str(w["root"])], "upward": True}
    assert client.put("/api/v1/admin/apps/city/directory-access", headers=town,
                      json=access).status_code == 404  # not an app of the town
    assert client.put("/api/v1/admin/apps/city/directory-access", headers=boss,
                      json=access).status_code == 200
    h = app_bearer(app, "city")
    assert client.get("/api/v1/me", headers=h).get_json()["nodes"] == []  # nothing shared yet
    assert client.get(f"/api/v1/people/{w['villager']}", headers=h).status_code == 404
    # the town shares its subtree; it may not decide for the education bureau
    assert client.put(f"/api/v1/admin/nodes/{w['edu']}/share-upward", headers=town,
                      json={"share": True}).status_code == 404
    assert client.put(f"/api/v1/admin/nodes/{w['town']}/share-upward", headers=town,
                      json={"share": "yes"}).status_code == 400
    assert client.put(f"/api/v1/admin/nodes/{w['town']}/share-upward", headers=town,
                      json={"share": True}).status_code == 200
    assert [n["id"] for n in client.get("/api/v1/me", headers=h).get_json()["nodes"]] == [
        str(w["town"])]
    assert client.get(f"/api/v1/people/{w['villager']}", headers=h).status_code == 200
    assert client.get(f"/api/v1/people/{w['clerk']}", headers=h).status_code == 404
    people_of_town = client.get(f"/api/v1/nodes/{w['town']}/people", headers=h).get_json()
    assert ids(people_of_town["items"]) == {str(w["villager"])}
    # the village withholds itself below the shared town
    assert client.put(f"/api/v1/admin/nodes/{w['village']}/share-upward", headers=town,
                      json={"share": False}).status_code == 200
    assert client.get(f"/api/v1/people/{w['villager']}", headers=h).status_code == 404
    assert client.get(f"/api/v1/nodes/{w['town']}/children", headers=h).get_json()[
        "items"] == []
    # an ordinary app with the same scope is not limited by sharing
    with sessions.begin() as s:
        plain = apps.register(s, ctx, client_id="plain", name="区级应用", status="online")
        apps.set_directory_access(s, ctx, plain, scope_node_ids=[w["root"]], hidden_node_ids=[],
                                  upward=False)
    assert client.get(f"/api/v1/people/{w['villager']}",
                      headers=app_bearer(app, "plain")).status_code == 200


def test_graded_admin_authorises_apps_inside_their_unit(world, admins, sessions, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        apps.register(s, ctx, client_id="town-oa", name="镇协同", unit_node_id=w["town"],
                      status="online")
        apps.register(s, ctx, client_id="edu-oa", name="教育协同", unit_node_id=w["edu"],
                      status="online")
    client, town = app.test_client(), bearer(app, admins["town"])
    url = "/api/v1/admin/apps/town-oa/directory-access"
    assert client.put(url, headers=town, json={"scope_node_ids": [str(w["edu"])]}
                      ).status_code == 404
    assert client.put(url, headers=town, json={"scope_node_ids": [str(w["town"])],
                                               "upward": True}).status_code == 403
    bad = client.put(url, headers=town, json={"scope_node_ids": str(w["village"])})
    assert bad.status_code == 400 and "scope_node_ids" in bad.get_json()["message"]
    r = client.put(url, headers=town, json={"scope_node_ids": [str(w["village"])]})
    assert r.status_code == 200 and r.get_json()["scope_node_ids"] == [str(w["village"])]
    assert client.get(url, headers=town).get_json()["upward"] is False
    assert client.get("/api/v1/admin/apps/edu-oa/directory-access",
                      headers=town).status_code == 404
    # a system admin widened the app beyond the town: the town admin can no longer rewrite it
    boss = bearer(app, admins["boss"])
    assert client.put(url, headers=boss, json={"scope_node_ids": [str(w["town"]),
                                                                  str(w["edu"])]}
                      ).status_code == 200
    r = client.put(url, headers=town, json={"scope_node_ids": [str(w["town"])]})
    assert r.status_code == 403
    assert set(client.get(url, headers=boss).get_json()["scope_node_ids"]) == {
        str(w["town"]), str(w["edu"])}


def test_temporary_account_reaches_listed_apps_only(world, admins, sessions, dsettings,
                                                    ctx, oa) -> None:
    app, w = world
    with sessions.begin() as s:
        temp = f.person(s, dsettings, ctx, s.get_one(Node, w["village"]), "孙临时")
        account = accounts.create(s, dsettings, ctx, username="sun-temp",
                                  account_type="temporary",
                                  expires_at=utcnow() + dt.timedelta(days=30),
                                  person_id=temp.id)
        apps.register(s, ctx, client_id="mail", name="邮件", status="online")
    client, town = app.test_client(), bearer(app, admins["town"])
    r = client.get("/api/v1/me", headers=bearer(app, account.id, client_id="oa"))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"
    url = f"/api/v1/admin/accounts/{account.id}/apps"
    assert client.put(url, headers=town, json={"client_ids": "oa"}).status_code == 400
    r = client.put(url, headers=town, json={"client_ids": ["oa", "nope"]})
    assert r.status_code == 400 and r.get_json()["field"] == "client_ids"
    assert client.get(url, headers=town).get_json()["client_ids"] == []  # nothing written
    assert client.put(url, headers=town, json={"client_ids": ["oa"]}).status_code == 200
    assert client.get(url, headers=town).get_json()["client_ids"] == ["oa"]
    assert client.get("/api/v1/me", headers=bearer(app, account.id, client_id="oa")
                      ).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(app, account.id, client_id="mail")
                      ).status_code == 401
    # only temporary accounts carry a list; the clerk's account is outside the town admin
    clerk = f"/api/v1/admin/accounts/{w['villager_account']}/apps"
    r = client.put(clerk, headers=town, json={"client_ids": ["oa"]})
    assert r.status_code == 400 and r.get_json()["error"] == "directory.account.apps_not_temporary"
    assert client.put(f"/api/v1/admin/accounts/{w['clerk_account']}/apps", headers=town,
                      json={"client_ids": ["oa"]}).status_code == 404


def test_temporary_account_is_never_an_administrator(world, sessions, dsettings, ctx) -> None:
    _, w = world
    with sessions.begin() as s:
        account = accounts.create(s, dsettings, ctx, username="temp-admin",
                                  account_type="temporary",
                                  expires_at=utcnow() + dt.timedelta(days=10))
    with sessions.begin() as s, pytest.raises(DomainError) as exc:
        rules.grant(s, ctx, account.id, [w["town"]], ["people"])
    assert exc.value.code == "directory.grant.temporary" and exc.value.field == "account_id"


def test_deactivated_person_exists_for_admins_with_scope_only(world, admins, sessions,
                                                              ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        people.deactivate(s, ctx, w["villager"], "retired")
    client = app.test_client()
    r = client.get(f"/api/v1/people/{w['villager']}", headers=bearer(app, admins["town"]))
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "deactivated"
    assert [p["node_id"] for p in body["posts"]] == [str(w["village"])]
    assert client.get(f"/api/v1/people/{w['villager']}",
                      headers=bearer(app, w["clerk_account"])).status_code == 404


def test_hidden_allow_list_tag_counts_through_a_tagged_node(world, sessions, ctx) -> None:
    """A tag on the clerk's node puts the clerk on a hidden node's tag allow-list."""
    app, w = world
    client, h = app.test_client(), bearer(app, w["clerk_account"])
    assert client.get(f"/api/v1/people/{w['spy']}", headers=h).status_code == 404
    with sessions.begin() as s:
        tag = tags.create(s, ctx, name="督查联络", owner_node_id=w["edu"])
        tags.add_member(s, ctx, tag.id, node_id=w["office"])
        rules.allow_hidden(s, ctx, w["secret"], tag_id=tag.id)
    assert client.get(f"/api/v1/people/{w['spy']}", headers=h).status_code == 200
    assert client.get(f"/api/v1/people/{w['spy']}",
                      headers=bearer(app, w["villager_account"])).status_code == 404


def test_explain_names_the_rule_for_an_app(world, oa, admins) -> None:
    app, w = world
    client, boss = app.test_client(), bearer(app, admins["boss"])
    base = "/api/v1/admin/visibility/explain?app=oa&target="
    for who, mode, rule in (("clerk", "direct", "app.scope"), ("spy", "none", "hidden"),
                            ("villager", "none", "app.scope")):
        body = client.get(base + str(w[who]), headers=boss).get_json()
        assert (body["app"], body["mode"], body["rule"]) == ("oa", mode, rule), who
    assert client.get(base.replace("app=oa", "app=nope") + str(w["clerk"]),
                      headers=boss).status_code == 404
