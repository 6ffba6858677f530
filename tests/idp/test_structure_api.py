"""Graded structure administration from the outside: level ≥ 4 inside scope applies at
once; level ≤ 3 files a change request that only a system administrator decides; the
tree changes only on approval; both steps are audited; outside scope is 404."""

from __future__ import annotations

from sqlalchemy import select

from directory import accounts
from directory import rules
from directory.models import AuditEvent
from directory.models import Node
from tests.idp.support import bearer


def _setup(sessions, dsettings, ctx, w):
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="boss", account_type="system_admin")
        edu_admin = accounts.create(s, dsettings, ctx, username="edu-admin",
                                    account_type="graded_admin")
        rules.grant(s, ctx, edu_admin.id, [w["edu"]], ["structure"])
        return boss.id, edu_admin.id


def _create(client, headers, parent, code):
    return client.post("/api/v1/admin/structure", headers=headers, json={
        "action": "create", "payload": {"parent_id": str(parent), "name": f"新机构{code}",
                                        "code": code}})


def test_level_4_applies_level_3_is_a_change_request(world, sessions, dsettings, ctx) -> None:
    app, w = world
    boss, edu_admin = _setup(sessions, dsettings, ctx, w)
    client, admin = app.test_client(), bearer(app, edu_admin)
    team = _create(client, admin, w["office"], "EDU-TEAM")  # office is level 3 → team level 4
    assert team.status_code == 200 and team.get_json()["status"] == "applied"
    body = _create(client, admin, w["edu"], "EDU-NEWBODY")  # would be level 3
    assert body.status_code == 202
    request_id = body.get_json()["change_request_id"]
    with sessions() as s:
        assert s.scalar(select(Node).where(Node.code == "EDU-NEWBODY")) is None
    refused = client.post(f"/api/v1/admin/change-requests/{request_id}/approve", headers=admin)
    assert refused.status_code == 403
    approved = client.post(f"/api/v1/admin/change-requests/{request_id}/approve",
                           headers=bearer(app, boss), json={"reason": "编制批复"})
    assert approved.get_json()["status"] == "approved"
    with sessions() as s:
        node = s.scalar(select(Node).where(Node.code == "EDU-NEWBODY"))
        assert node is not None and node.level == 3
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"change_request.filed", "change_request.approved", "node.created"} <= actions
    again = client.post(f"/api/v1/admin/change-requests/{request_id}/reject",
                        headers=bearer(app, boss))
    assert again.status_code == 412 and again.get_json()["error"] == "directory.change.decided"


def test_rejected_request_changes_nothing(world, sessions, dsettings, ctx) -> None:
    app, w = world
    boss, edu_admin = _setup(sessions, dsettings, ctx, w)
    client = app.test_client()
    r = client.post("/api/v1/admin/structure", headers=bearer(app, edu_admin), json={
        "action": "rename", "payload": {"node_id": str(w["office"]), "name": "综合办公室"}})
    assert r.status_code == 202
    rid = r.get_json()["change_request_id"]
    assert client.post(f"/api/v1/admin/change-requests/{rid}/reject",
                       headers=bearer(app, boss)).get_json()["status"] == "rejected"
    with sessions() as s:
        assert s.get(Node, w["office"]).name == "办公室"


def test_outside_scope_and_moves_out_of_scope(world, sessions, dsettings, ctx) -> None:
    app, w = world
    _, edu_admin = _setup(sessions, dsettings, ctx, w)
    client, admin = app.test_client(), bearer(app, edu_admin)
    assert _create(client, admin, w["village"], "X-1").status_code == 404
    team = _create(client, admin, w["office"], "EDU-T2").get_json()["node_id"]
    out = client.post("/api/v1/admin/structure", headers=admin, json={
        "action": "move", "payload": {"node_id": team, "parent_id": str(w["village"])}})
    assert out.status_code == 404
    bad = client.post("/api/v1/admin/structure", headers=admin,
                      json={"action": "explode", "payload": {}})
    assert bad.status_code == 400 and bad.get_json()["field"] == "action"


def test_system_admin_changes_central_levels_directly(world, sessions, dsettings, ctx) -> None:
    app, w = world
    boss, _ = _setup(sessions, dsettings, ctx, w)
    r = _create(app.test_client(), bearer(app, boss), w["gov"], "QP-NEW-DEPT")
    assert r.status_code == 200
    dup = _create(app.test_client(), bearer(app, boss), w["gov"], "QP-NEW-DEPT")
    assert dup.status_code == 409 and dup.get_json()["error"] == "directory.node.code_taken"
