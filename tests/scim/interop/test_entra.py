"""Microsoft Entra ID provisioning, replayed: the requests of Microsoft's SCIM endpoint
guide (default "legacy" dialect) and of the compliant dialect (``aadOptscim062020``)."""

from __future__ import annotations

import pytest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _entra_user(upn: str = "Test_User_ab6490ee@testuser.com", external: str = "0a21f0f2"):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external, "userName": upn, "active": True,
        "emails": [{"primary": True, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
        ENTERPRISE: {"employeeNumber": "E-001", "department": "ignored: read-only"}}


def _ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def entra_user(edu):
    response = edu.post("/Users", _entra_user())
    assert response.status_code == 201, response.data
    return response.get_json(force=True)


def test_create_user_and_find_it_by_user_name(edu, entra_user):
    assert entra_user["userName"] == "Test_User_ab6490ee@testuser.com"
    assert entra_user["displayName"] == "givenName familyName"
    assert entra_user[ENTERPRISE]["employeeNumber"] == "E-001"
    found = edu.get("/Users", filter='userName eq "test_user_ab6490ee@testuser.com"')
    assert [r["id"] for r in found.get_json(force=True)["Resources"]] == [entra_user["id"]]
    empty = edu.get("/Users", filter='userName eq "non-existent user"').get_json(force=True)
    assert empty == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                     "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}


def test_legacy_capitalised_ops_and_string_booleans(edu, entra_user):
    uri = f"/Users/{entra_user['id']}"
    response = edu.patch(uri, _ops(
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Add", "path": "title", "value": "Engineer"}))
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["active"] is False and body["title"] == "Engineer"
    back = edu.patch(uri, _ops({"op": "Replace", "path": "active", "value": "True"}))
    assert back.get_json(force=True)["active"] is True
    gone = edu.patch(uri, _ops({"op": "Remove", "path": "title"}))
    assert "title" not in gone.get_json(force=True)


def test_legacy_manager_as_a_plain_string(edu, ids, entra_user):
    uri = f"/Users/{entra_user['id']}"
    response = edu.patch(uri, _ops({"op": "Add", "path": f"{ENTERPRISE}:manager",
                                    "value": ids["clerk"]}))
    assert response.status_code == 200, response.data
    manager = response.get_json(force=True)[ENTERPRISE]["manager"]
    assert manager["value"] == ids["clerk"] and manager["$ref"].endswith(ids["clerk"])
    removed = edu.patch(uri, _ops({"op": "Remove", "path": f"{ENTERPRISE}:manager"}))
    assert "manager" not in removed.get_json(force=True)[ENTERPRISE]


def test_legacy_pascal_case_attribute_names(edu, entra_user):
    response = edu.patch(f"/Users/{entra_user['id']}", _ops(
        {"op": "Replace", "path": "DisplayName", "value": "New Name"},
        {"op": "Replace", "value": {"Title": "Lead"}}))
    body = response.get_json(force=True)
    assert body["displayName"] == "New Name" and body["title"] == "Lead"


def test_legacy_group_create_with_microsoft_schema_and_bare_members(edu, entra_user):
    response = edu.post("/Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
        "meta": {"resourceType": "Group"}, "members": [entra_user["id"]]})
    assert response.status_code == 201, response.data
    body = response.get_json(force=True)
    assert [m["value"] for m in body["members"]] == [entra_user["id"]]


def test_legacy_member_removal_removes_only_the_listed_members(edu, ids, entra_user):
    group = f"/Groups/{ids['tag']}"
    add = edu.patch(group, _ops({"op": "Add", "path": "members", "value": [
        {"$ref": None, "value": entra_user["id"]}]}))
    assert add.status_code == 204, add.data
    remove = edu.patch(group, _ops({"op": "Remove", "path": "members",
                                    "value": [{"$ref": None, "value": entra_user["id"]}]}))
    assert remove.status_code == 204
    members = [m["value"] for m in edu.get(group).get_json(force=True)["members"]]
    assert members == [ids["clerk"]]  # never emptied


def test_group_queries(edu, ids):
    response = edu.get("/Groups", excludedAttributes="members", filter='displayName eq "防汛"')
    body = response.get_json(force=True)
    assert body["totalResults"] == 1 and "members" not in body["Resources"][0]
    check = edu.get("/Groups", filter=f'id eq "{ids["tag"]}" and members[value eq '
                                      f'"{ids["clerk"]}"]', excludedAttributes="members")
    assert check.get_json(force=True)["totalResults"] == 1


def test_compliant_pathless_replace_with_dotted_and_urn_keys(edu, entra_user):
    response = edu.patch(f"/Users/{entra_user['id']}", _ops({"op": "replace", "value": {
        "displayName": "Compliant Name", "name.givenName": "Given", "name.familyName": "Fam",
        f"{ENTERPRISE}:employeeNumber": "E-002", "active": False}}))
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["displayName"] == "Compliant Name" and body["active"] is False
    assert body[ENTERPRISE]["employeeNumber"] == "E-002"


def test_compliant_member_removal_by_value_filter(edu, ids, entra_user):
    group = f"/Groups/{ids['tag']}"
    edu.patch(group, _ops({"op": "add", "path": "members", "value": [
        {"value": entra_user["id"]}]}))
    response = edu.patch(group, _ops({"op": "remove",
                                      "path": f'members[value eq "{entra_user["id"]}"]'}))
    assert response.status_code == 204
    assert [m["value"] for m in edu.get(group).get_json(force=True)["members"]] == [
        ids["clerk"]]


def test_compliant_email_value_replace_and_add(edu, entra_user):
    uri = f"/Users/{entra_user['id']}"
    replaced = edu.patch(uri, _ops({"op": "replace", "path": 'emails[type eq "work"].value',
                                    "value": "new@contoso.com"}))
    assert replaced.get_json(force=True)["emails"][0]["value"] == "new@contoso.com"
    edu.patch(uri, _ops({"op": "remove", "path": 'emails[type eq "work"]'}))
    added = edu.patch(uri, _ops({"op": "add", "path": 'emails[type eq "work"].value',
                                 "value": "added@contoso.com"}))
    assert added.get_json(force=True)["emails"] == [
        {"value": "added@contoso.com", "type": "work"}]


def test_delete_then_get_is_404(edu, entra_user):
    assert edu.delete(f"/Users/{entra_user['id']}").status_code == 204
    assert edu.get(f"/Users/{entra_user['id']}").status_code == 404


def test_default_attribute_mapping_update(edu, entra_user):
    """Entra's default mapping sends attributes this server does not keep (addresses,
    preferredLanguage, name parts, fax) and the derived department: ignored, the rest
    applied, in one PATCH."""
    response = edu.patch(f"/Users/{entra_user['id']}", _ops(
        {"op": "Replace", "path": "displayName", "value": "Mapped Name"},
        {"op": "Replace", "path": "name.givenName", "value": "Mapped"},
        {"op": "Replace", "path": "name.familyName", "value": "Name"},
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Road"},
        {"op": "Add", "path": "preferredLanguage", "value": "zh-CN"},
        {"op": "Add", "path": 'phoneNumbers[type eq "fax"].value', "value": "021-1"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        {"op": "Replace", "path": "title", "value": "Manager"}))
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["displayName"] == "Mapped Name" and body["title"] == "Manager"
    assert body[ENTERPRISE]["department"] == "上海市青浦区教育局"
