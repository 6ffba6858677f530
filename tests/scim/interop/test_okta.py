"""Okta provisioning, replayed: the requests of Okta's SCIM 2.0 guide."""

from __future__ import annotations

import pytest

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def okta_user(edu):
    response = edu.post("/Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Isaac.Brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": True, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": True})
    assert response.status_code == 201, response.data
    return response.get_json(force=True)


def test_user_name_lookup_is_case_insensitive(edu, okta_user):
    body = edu.get("/Users", filter='userName eq "isaac.brock@EXAMPLE.com"', startIndex="1",
                   count="100").get_json(force=True)
    assert [r["id"] for r in body["Resources"]] == [okta_user["id"]]


def test_deactivation_is_a_pathless_replace_never_a_delete(edu, okta_user):
    response = edu.patch(f"/Users/{okta_user['id']}", _ops(
        {"op": "replace", "value": {"active": False}}))
    assert response.status_code == 200 and response.get_json(force=True)["active"] is False
    assert edu.get(f"/Users/{okta_user['id']}").status_code == 200


def test_put_update_of_a_profile(edu, okta_user):
    body = {k: v for k, v in okta_user.items() if k not in ("meta", "groups")}
    body["displayName"] = "Isaac B."
    response = edu.put(f"/Users/{okta_user['id']}", body)
    assert response.status_code == 200, response.data
    assert response.get_json(force=True)["displayName"] == "Isaac B."


def test_group_rename_with_the_id_in_the_value(edu, ids):
    response = edu.patch(f"/Groups/{ids['tag']}", _ops({"op": "replace", "value": {
        "id": ids["tag"], "displayName": "Test SCIMv2"}}))
    assert response.status_code == 204, response.data
    body = edu.get(f"/Groups/{ids['tag']}").get_json(force=True)
    assert body["id"] == ids["tag"] and body["displayName"] == "Test SCIMv2"


def test_one_patch_removes_and_adds_members(edu, ids, okta_user):
    response = edu.patch(f"/Groups/{ids['tag']}", _ops(
        {"op": "remove", "path": f'members[value eq "{ids["clerk"]}"]'},
        {"op": "add", "path": "members", "value": [
            {"value": okta_user["id"], "display": "isaac.brock@example.com"}]}))
    assert response.status_code == 204, response.data
    members = [m["value"] for m in edu.get(f"/Groups/{ids['tag']}").get_json(
        force=True)["members"]]
    assert members == [okta_user["id"]]


def test_stable_pages_with_integer_parameters(edu, okta_user):
    for n in range(5):
        edu.post("/Users", {"userName": f"page{n}@example.com", "displayName": f"P{n}"})
    whole = [r["id"] for r in edu.get("/Users", count=100).get_json(force=True)["Resources"]]
    paged = []
    for start in range(1, len(whole) + 1, 2):
        paged += [r["id"] for r in edu.get("/Users", startIndex=start, count=2).get_json(
            force=True)["Resources"]]
    assert paged == whole


def test_a_group_of_a_thousand_members_in_one_patch(edu, ids, sessions, dsettings):
    import uuid

    from directory import audit
    from directory import people
    ctx = audit.Context(actor="test")
    with sessions.begin() as s_:
        office = uuid.UUID(ids["office"])
        new = [people.add(s_, dsettings, ctx, people.PersonData(name=f"员工{i}"),
                          people.PostSpec(office)).id for i in range(1000)]
    response = edu.patch(f"/Groups/{ids['tag']}", _ops(
        {"op": "add", "path": "members", "value": [{"value": str(p)} for p in new]}))
    assert response.status_code == 204, response.data
    body = edu.get(f"/Groups/{ids['tag']}").get_json(force=True)
    assert len(body["members"]) == 1001
