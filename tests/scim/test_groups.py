"""Groups are tags (标签): members are Users and OrgUnits; owner and sharing in our
extension."""

from __future__ import annotations

from scim import schemas as s


def _group(name: str = "值班", members: list | None = None, **extra) -> dict:
    return {"schemas": [s.GROUP], "displayName": name, "members": members or [], **extra}


def test_create_with_user_and_org_unit_members(edu, ids):
    response = edu.post("/Groups", _group(members=[
        {"value": ids["clerk"], "type": "User"}, {"value": ids["section"]}],
        **{s.GOV_GROUP: {"sharedWith": [ids["office"]]}}))
    assert response.status_code == 201, response.data
    body = response.get_json(force=True)
    members = {(m["value"], m["type"]) for m in body["members"]}
    assert members == {(ids["clerk"], "User"), (ids["section"], "OrgUnit")}
    assert body[s.GOV_GROUP] == {"ownerNode": ids["edu"], "sharedWith": [ids["office"]]}
    user = edu.get(f"/Users/{ids['clerk']}").get_json(force=True)
    assert body["id"] in {g["value"] for g in user["groups"]}


def test_members_outside_the_scope_are_refused(edu, ids):
    response = edu.post("/Groups", _group(members=[{"value": ids["villager"]}]))
    assert response.status_code == 400


def test_patch_members_add_remove_and_rename(edu, ids):
    uri = f"/Groups/{ids['tag']}"
    response = edu.ops(uri, {"op": "add", "path": "members",
                             "value": [{"value": ids["office"], "type": "OrgUnit"}]},
                       {"op": "remove", "path": f'members[value eq "{ids["clerk"]}"]'},
                       {"op": "replace", "path": "displayName", "value": "防汛抗旱"})
    assert response.status_code == 204 and response.data == b""
    body = edu.get(uri).get_json(force=True)
    assert body["displayName"] == "防汛抗旱"
    assert [m["value"] for m in body["members"]] == [ids["office"]]


def test_patch_answers_200_with_the_group_when_attributes_are_requested(edu, ids):
    response = edu.ops(f"/Groups/{ids['tag']}", {"op": "replace", "path": "displayName",
                                                 "value": "新名"}, attributes="displayName")
    assert response.status_code == 200
    assert response.get_json(force=True)["displayName"] == "新名"


def test_excluded_members(edu, ids):
    body = edu.get(f"/Groups/{ids['tag']}", excludedAttributes="members").get_json(force=True)
    assert "members" not in body and body["displayName"] == "防汛"


def test_invisible_members_are_neither_listed_nor_removed(edu, town, ids, sessions):
    from directory import audit
    from directory import tags
    with sessions.begin() as s_:
        import uuid
        tags.add_member(s_, audit.Context(actor="test"), uuid.UUID(ids["tag"]),
                        person_id=uuid.UUID(ids["villager"]))
    body = edu.get(f"/Groups/{ids['tag']}").get_json(force=True)
    assert ids["villager"] not in {m["value"] for m in body["members"]}
    edu.put(f"/Groups/{ids['tag']}", _group("防汛"))
    with sessions() as s_:
        from sqlalchemy import select

        from directory.models import TagMember
        left = set(s_.scalars(select(TagMember.person_id).where(
            TagMember.tag_id == uuid.UUID(ids["tag"]))))
    assert left == {uuid.UUID(ids["villager"])}


def test_groups_of_another_unit_are_404(town, ids):
    assert town.get(f"/Groups/{ids['tag']}").status_code == 404
    assert town.get("/Groups").get_json(force=True)["totalResults"] == 0


def test_delete(edu, ids):
    assert edu.delete(f"/Groups/{ids['tag']}").status_code == 204
    assert edu.get(f"/Groups/{ids['tag']}").status_code == 404
