"""RFC 7644 §3.5.2: PATCH add/remove/replace, with and without paths, value filters in
paths, path-less replace with a value object, primary handling, readOnly → mutability."""

from __future__ import annotations

import pytest

from scim import schemas as s
from tests.scim.conftest import new_user


@pytest.fixture
def user(edu, ids):
    body = new_user("patch.me", title="科员", emails=[
        {"value": "p@qp.gov.cn", "type": "work", "primary": True}])
    response = edu.post("/Users", body)
    assert response.status_code == 201, response.data
    return response.get_json(force=True)


def _ok(response) -> dict:
    assert response.status_code == 200, response.data
    return response.get_json(force=True)


def _refused(response, scim_type: str) -> None:
    assert response.status_code == 400, response.data
    assert response.get_json(force=True)["scimType"] == scim_type


def test_replace_with_path(edu, user):
    out = _ok(edu.ops(f"/Users/{user['id']}", {"op": "replace", "path": "title",
                                               "value": "科长"}))
    assert out["title"] == "科长"


def test_add_and_remove_simple_attributes(edu, user):
    uri = f"/Users/{user['id']}"
    out = _ok(edu.ops(uri, {"op": "add", "path": f"{s.GOV_USER}:rank", "value": "一级科员"}))
    assert out[s.GOV_USER]["rank"] == "一级科员"
    out = _ok(edu.ops(uri, {"op": "remove", "path": f"{s.GOV_USER}:rank"},
                      {"op": "remove", "path": "title"}))
    assert "rank" not in out[s.GOV_USER] and "title" not in out


def test_pathless_replace_with_dotted_and_urn_keys(edu, user):
    out = _ok(edu.ops(f"/Users/{user['id']}", {"op": "replace", "value": {
        "displayName": "新名字", "title": "主任",
        f"{s.GOV_USER}:politicalStatus": "群众",
        s.GOV_USER: {"rank": "二级主任科员"},
        "nickName": "ignored: no schema defines it"}}))
    assert out["displayName"] == "新名字" and out["title"] == "主任"
    assert out[s.GOV_USER]["politicalStatus"] == "群众"
    assert out[s.GOV_USER]["rank"] == "二级主任科员"


def test_value_filter_paths(edu, user):
    uri = f"/Users/{user['id']}"
    out = _ok(edu.ops(uri, {"op": "replace", "path": 'emails[type eq "work"].value',
                            "value": "new@qp.gov.cn"}))
    assert out["emails"][0]["value"] == "new@qp.gov.cn"
    out = _ok(edu.ops(uri, {"op": "remove", "path": 'emails[value eq "new@qp.gov.cn"]'}))
    assert "emails" not in out
    out = _ok(edu.ops(uri, {"op": "add", "path": 'emails[type eq "work"].value',
                            "value": "again@qp.gov.cn"}))
    assert out["emails"][0]["value"] == "again@qp.gov.cn"
    _refused(edu.ops(uri, {"op": "remove", "path": 'emails[value eq "nobody@x"]'}), "noTarget")


def test_a_whole_extension_as_the_path(edu, user):
    uri = f"/Users/{user['id']}"
    out = _ok(edu.ops(uri, {"op": "add", "path": s.GOV_USER, "value": {"rank": "三级"}}))
    assert out[s.GOV_USER]["rank"] == "三级"
    out = _ok(edu.ops(uri, {"op": "replace", "path": s.ENTERPRISE,
                            "value": {"employeeNumber": "N-9"}}))
    assert out[s.ENTERPRISE]["employeeNumber"] == "N-9"


def test_posts_by_patch(edu, user, ids):
    uri = f"/Users/{user['id']}"
    out = _ok(edu.ops(uri, {"op": "add", "path": f"{s.GOV_USER}:posts", "value": [
        {"node": ids["section"], "kind": "concurrent", "title": "兼职"}]}))
    assert {p["kind"] for p in out[s.GOV_USER]["posts"]} == {"primary", "concurrent"}
    out = _ok(edu.ops(uri, {"op": "remove",
                            "path": f'{s.GOV_USER}:posts[kind eq "concurrent"]'}))
    assert [p["kind"] for p in out[s.GOV_USER]["posts"]] == ["primary"]


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": "id", "value": "00000000-0000-0000-0000-000000000000"},
    {"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"},
    {"op": "add", "path": "groups", "value": [{"value": "x"}]},
    {"op": "replace", "path": "name.formatted", "value": "x"},
    {"op": "replace", "path": "userName", "value": "another.name"},
    {"op": "replace", "value": {"id": "00000000-0000-0000-0000-000000000000"}},
], ids=["id", "meta", "groups", "name.formatted", "userName", "pathless-id"])
def test_read_only_and_immutable_attributes_are_mutability(edu, user, op):
    _refused(edu.ops(f"/Users/{user['id']}", op), "mutability")


def test_pathless_replace_with_the_same_id_is_accepted(edu, user):
    out = _ok(edu.ops(f"/Users/{user['id']}", {"op": "replace", "value": {
        "id": user["id"], "title": "处长"}}))
    assert out["title"] == "处长" and out["id"] == user["id"]


@pytest.mark.parametrize("body, scim_type", [
    ({"Operations": [{"op": "explode", "path": "title"}]}, "invalidSyntax"),
    ({"Operations": "nope"}, "invalidSyntax"),
    ({"Operations": [{"op": "remove"}]}, "noTarget"),
    ({"Operations": [{"op": "replace", "path": "urn:nope:Thing:nickName", "value": "x"}]},
     "invalidPath"),
    ({"Operations": [{"op": "replace", "path": "title[", "value": "x"}]}, "invalidPath"),
    ({"Operations": [{"op": "replace", "path": 'emails[type eq]', "value": "x"}]},
     "invalidFilter"),
])
def test_malformed_patches(edu, user, body, scim_type):
    body = {"schemas": [s.PATCH_OP], **body}
    _refused(edu.patch(f"/Users/{user['id']}", body), scim_type)


def test_a_refused_patch_writes_nothing(edu, user):
    uri = f"/Users/{user['id']}"
    _refused(edu.ops(uri, {"op": "replace", "path": "title", "value": "改了"},
                     {"op": "replace", "path": "id", "value": "x"}), "mutability")
    assert edu.get(uri).get_json(force=True)["title"] == "科员"


def test_attributes_no_schema_defines_are_ignored(edu, user):
    out = _ok(edu.ops(f"/Users/{user['id']}",
                      {"op": "replace", "path": "nickName", "value": "x"},
                      {"op": "add", "path": 'addresses[type eq "work"].locality', "value": "青浦"},
                      {"op": "replace", "path": "title", "value": "主任"}))
    assert out["title"] == "主任" and "nickName" not in out and "addresses" not in out
