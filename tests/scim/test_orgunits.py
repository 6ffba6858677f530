"""OrgUnits: tree nodes as a custom resource type; the level rule (levels 0–3 are
central, 000 §7) applies to clients scoped to a unit."""

from __future__ import annotations

from scim import schemas as s


def _unit(parent: str, code: str = "EDU-X1", **extra) -> dict:
    return {"schemas": [s.ORG_UNIT], "displayName": "教研室", "code": code, "parent": parent,
            **extra}


def test_a_unit_client_creates_below_level_3(edu, ids):
    response = edu.post("/OrgUnits", _unit(ids["office"], shortName="教研", order=7,
                                           type="internal", externalId="hr-unit-1"))
    assert response.status_code == 201, response.data
    body = response.get_json(force=True)
    assert body["level"] == 4 and body["parent"] == ids["office"] and body["order"] == 7
    assert body["shortName"] == "教研" and body["externalId"] == "hr-unit-1"
    assert body["unit"] is False and body["hidden"] is False and body["status"] == "active"
    assert response.headers["Location"].endswith(f"/OrgUnits/{body['id']}")


def test_a_unit_client_cannot_create_or_change_levels_0_to_3(edu, ids):
    refused = edu.post("/OrgUnits", _unit(ids["edu"]))  # would be level 3
    assert refused.status_code == 403
    assert edu.ops(f"/OrgUnits/{ids['office']}", {"op": "replace", "path": "displayName",
                                                  "value": "综合办"}).status_code == 403
    assert edu.delete(f"/OrgUnits/{ids['office']}").status_code == 403


def test_a_central_client_maintains_the_central_levels(central, ids):
    response = central.post("/OrgUnits", _unit(ids["gov"], code="GOV-NEW"))
    assert response.status_code == 201, response.data
    assert response.get_json(force=True)["level"] == 2


def test_outside_the_scope_the_parent_does_not_exist(edu, ids):
    response = edu.post("/OrgUnits", _unit(ids["village"]))
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "invalidValue"


def test_update_move_reorder_and_abolish_at_level_4_and_below(edu, ids):
    created = edu.post("/OrgUnits", _unit(ids["office"])).get_json(force=True)
    uri = f"/OrgUnits/{created['id']}"
    out = edu.ops(uri, {"op": "replace", "value": {"displayName": "教研中心", "order": 2,
                                                   "hidden": False, "unit": False}})
    assert out.status_code == 200, out.data
    assert out.get_json(force=True)["displayName"] == "教研中心"
    moved = edu.ops(uri, {"op": "replace", "path": "parent", "value": ids["section"]})
    assert moved.status_code == 200, moved.data
    assert moved.get_json(force=True)["level"] == 5
    assert edu.ops(uri, {"op": "replace", "path": "level", "value": 9}).status_code == 400
    assert edu.ops(uri, {"op": "replace", "path": "code", "value": "NEW"}).status_code == 400
    assert edu.delete(uri).status_code == 204
    assert edu.get(uri).status_code == 404


def test_code_is_unique(edu, ids):
    assert edu.post("/OrgUnits", _unit(ids["office"], code="DUP")).status_code == 201
    clash = edu.post("/OrgUnits", _unit(ids["office"], code="DUP"))
    assert clash.status_code == 409
    assert clash.get_json(force=True)["scimType"] == "uniqueness"


def test_a_node_with_people_is_not_abolished(edu, ids):
    created = edu.post("/OrgUnits", _unit(ids["office"])).get_json(force=True)
    user = {"schemas": [s.USER], "userName": "in.node", "displayName": "某人",
            s.GOV_USER: {"posts": [{"node": created["id"]}]}}
    assert edu.post("/Users", user).status_code == 201
    assert edu.delete(f"/OrgUnits/{created['id']}").status_code == 400


def test_listing_is_scoped(edu, ids):
    listed = {r["id"] for r in edu.get("/OrgUnits").get_json(force=True)["Resources"]}
    assert listed == {ids["edu"], ids["office"], ids["section"], ids["secret"]}
