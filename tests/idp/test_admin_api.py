"""Admin endpoints from the outside: scope and permission checks on the caller's grant,
404 outside scope, delegation only downward, and the effects seen by users."""

from __future__ import annotations

from directory import accounts
from directory import rules
from tests.idp.support import bearer


def _admins(sessions, dsettings, ctx, w):
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
        town_admin = accounts.create(s, dsettings, ctx, username="town-admin",
                                     account_type="graded_admin")
        rules.grant(s, ctx, town_admin.id, [w["town"]], ["visibility", "people"])
        junior = accounts.create(s, dsettings, ctx, username="junior",
                                 account_type="graded_admin")
        return boss.id, town_admin.id, junior.id


def test_users_are_refused(world) -> None:
    app, w = world
    r = app.test_client().get("/api/v1/admin/visibility/rules",
                              headers=bearer(app, w["villager_account"]))
    assert r.status_code == 403


def test_matrix_is_system_admin_only_overrides_need_scope(world, sessions, dsettings,
                                                          ctx) -> None:
    app, w = world
    boss, town_admin, _ = _admins(sessions, dsettings, ctx, w)
    client = app.test_client()
    cell = {"viewer_class": "Q4", "target_class": "Q3", "mode": "none"}
    assert client.put("/api/v1/admin/visibility/rules", json=cell,
                      headers=bearer(app, town_admin)).status_code == 403
    outside = client.put("/api/v1/admin/visibility/rules", json=cell | {"node_id": str(w["edu"])},
                         headers=bearer(app, town_admin))
    assert outside.status_code == 404
    inside = client.put("/api/v1/admin/visibility/rules", json=cell | {"node_id": str(w["town"])},
                        headers=bearer(app, town_admin))
    assert inside.status_code == 200
    # the villager (Q4, primary post under the town) no longer sees Q3 people
    person = client.get(f"/api/v1/people/{w['clerk']}", headers=bearer(app, w["villager_account"]))
    assert person.status_code == 404
    bad = client.put("/api/v1/admin/visibility/rules", json=cell | {"viewer_class": "Q9"},
                     headers=bearer(app, boss))
    assert bad.status_code == 400 and bad.get_json()["field"] == "viewer_class"
    # the deployment matrix is readable by every admin; overrides only inside one's scope
    with sessions.begin() as s:
        rules.set_rule(s, ctx, "Q1", "Q4", "searchable", w["edu"])
    listed = client.get("/api/v1/admin/visibility/rules", headers=bearer(app, town_admin))
    assert {(r["viewer_class"], r["target_class"], r["mode"]) for r in
            listed.get_json()["items"]} == {("Q4", "Q3", "none"), ("Q4", "Q1", "searchable")}
    everything = client.get("/api/v1/admin/visibility/rules", headers=bearer(app, boss))
    assert len(everything.get_json()["items"]) == 3


def test_hide_a_node_and_allow_a_person(world, sessions, dsettings, ctx) -> None:
    app, w = world
    _, town_admin, _ = _admins(sessions, dsettings, ctx, w)
    client, admin = app.test_client(), bearer(app, town_admin)
    clerk = bearer(app, w["clerk_account"])
    assert client.get(f"/api/v1/people/{w['villager']}", headers=clerk).status_code == 200
    r = client.put(f"/api/v1/admin/nodes/{w['village']}/hidden", json={"hidden": True},
                   headers=admin)
    assert r.status_code == 200
    assert client.get(f"/api/v1/people/{w['villager']}", headers=clerk).status_code == 404
    allow = client.post(f"/api/v1/admin/nodes/{w['village']}/allow",
                        json={"person_id": str(w["clerk"])}, headers=admin)
    assert allow.status_code == 201
    assert client.get(f"/api/v1/people/{w['villager']}", headers=clerk).status_code == 200
    elsewhere = client.put(f"/api/v1/admin/nodes/{w['office']}/hidden", json={"hidden": True},
                           headers=admin)
    assert elsewhere.status_code == 404


def test_not_searchable_flag(world, sessions, dsettings, ctx) -> None:
    app, w = world
    _, town_admin, _ = _admins(sessions, dsettings, ctx, w)
    client = app.test_client()
    r = client.put(f"/api/v1/admin/people/{w['villager']}/not-searchable",
                   json={"not_searchable": True}, headers=bearer(app, town_admin))
    assert r.status_code == 200
    assert client.get(f"/api/v1/people/{w['villager']}",
                      headers=bearer(app, w["clerk_account"])).status_code == 404
    outside = client.put(f"/api/v1/admin/people/{w['clerk']}/not-searchable",
                         json={"not_searchable": True}, headers=bearer(app, town_admin))
    assert outside.status_code == 404


def test_grants_only_downward(world, sessions, dsettings, ctx) -> None:
    app, w = world
    _, town_admin, junior = _admins(sessions, dsettings, ctx, w)
    client, admin = app.test_client(), bearer(app, town_admin)
    ok = client.post("/api/v1/admin/grants", json={
        "account_id": str(junior), "node_ids": [str(w["village"])],
        "permissions": ["visibility"]}, headers=admin)
    assert ok.status_code == 201
    wider = client.post("/api/v1/admin/grants", json={
        "account_id": str(junior), "node_ids": [str(w["streets"])],
        "permissions": ["visibility"]}, headers=admin)
    assert wider.status_code == 403 and wider.get_json()["message"] == "delegate.scope_exceeds"
    more = client.post("/api/v1/admin/grants", json={
        "account_id": str(junior), "node_ids": [str(w["village"])],
        "permissions": ["visibility", "apps"]}, headers=admin)
    assert more.status_code == 403 and more.get_json()["message"] == \
        "delegate.permissions_exceed"
    self_raise = client.post("/api/v1/admin/grants", json={
        "account_id": str(town_admin), "node_ids": [str(w["root"])],
        "permissions": ["visibility"]}, headers=admin)
    assert self_raise.status_code == 403


def test_id_number_masked_for_admins_revealed_only_explicitly(world, sessions, dsettings,
                                                              ctx) -> None:
    from sqlalchemy import select

    from directory.models import AuditEvent
    from tests import factories as f

    app, w = world
    with sessions.begin() as s:
        hr = accounts.create(s, dsettings, ctx, username="hr-admin", account_type="graded_admin")
        rules.grant(s, ctx, hr.id, [w["edu"]], ["people"])
        hr_id = hr.id
    client, admin = app.test_client(), bearer(app, hr_id)
    full = f.id_number()
    read = client.get(f"/api/v1/people/{w['clerk']}", headers=admin).get_json()
    assert read["id_number_masked"] == full[:3] + "*" * 11 + full[-4:]
    user_read = client.get(f"/api/v1/people/{w['clerk']}",
                           headers=bearer(app, w["villager_account"])).get_json()
    assert user_read["id_number_masked"] is None
    revealed = client.post(f"/api/v1/admin/people/{w['clerk']}/reveal-id-number",
                           headers=admin).get_json()
    assert revealed["id_number"] == full
    with sessions() as s:
        events = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "person.id_number_revealed")).all()
    assert len(events) == 1 and full not in events[0].summary
    outside = client.post(f"/api/v1/admin/people/{w['villager']}/reveal-id-number",
                          headers=admin)
    assert outside.status_code == 404
