"""RFC 7644 §3.14: ETags from the version columns; If-Match is checked atomically
(UPDATE … WHERE version = ?), so of two writers with the same ETag one wins and the other
gets 412, and nothing is lost."""

from __future__ import annotations

import threading

from tests.scim.conftest import new_user


def _user(edu) -> dict:
    response = edu.post("/Users", new_user("etag.user", title="科员"))
    assert response.status_code == 201
    return response.get_json(force=True)


def test_every_resource_carries_its_etag(edu, ids):
    user = _user(edu)
    got = edu.get(f"/Users/{user['id']}")
    assert got.headers["ETag"] == user["meta"]["version"] == got.get_json(force=True)[
        "meta"]["version"]
    assert got.headers["ETag"].startswith('W/"')
    for path in (f"/OrgUnits/{ids['office']}", f"/Groups/{ids['tag']}"):
        response = edu.get(path)
        assert response.headers["ETag"] == response.get_json(force=True)["meta"]["version"]


def test_if_none_match_is_304(edu):
    user = _user(edu)
    response = edu.get(f"/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert response.status_code == 304


def test_if_match_current_version_succeeds_and_changes_the_etag(edu):
    user = _user(edu)
    response = edu.ops(f"/Users/{user['id']}", {"op": "replace", "path": "title",
                                                "value": "科长"},
                       headers={"If-Match": user["meta"]["version"]})
    assert response.status_code == 200
    assert response.headers["ETag"] != user["meta"]["version"]


def test_stale_if_match_is_412_for_patch_put_and_delete(edu):
    user = _user(edu)
    stale = {"If-Match": user["meta"]["version"]}
    edu.ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "科长"})
    for response in (
            edu.ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"},
                    headers=stale),
            edu.put(f"/Users/{user['id']}", new_user("etag.user"), headers=stale),
            edu.delete(f"/Users/{user['id']}", headers=stale),
            edu.ops(f"/Users/{user['id']}", {"op": "replace", "path": "title", "value": "x"},
                    headers={"If-Match": "garbage"})):
        assert response.status_code == 412, response.data
        assert response.get_json(force=True)["status"] == "412"
    assert edu.get(f"/Users/{user['id']}").get_json(force=True)["title"] == "科长"


def test_concurrent_patches_with_the_same_etag_one_wins(world, edu):
    user = _user(edu)
    app, _ = world
    results: list[int] = []
    barrier = threading.Barrier(2)

    def patch(title: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.patch(
            f"/scim/v2/Users/{user['id']}", headers={
                "Authorization": f"Bearer {edu.token}", "If-Match": user["meta"]["version"]},
            json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations": [{"op": "replace", "path": "title", "value": title}]})
        results.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(t,)) for t in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412]
    assert edu.get(f"/Users/{user['id']}").get_json(force=True)["title"] in ("甲", "乙")


def test_group_and_org_unit_etags_change_on_write(edu, ids):
    group = edu.get(f"/Groups/{ids['tag']}")
    edu.ops(f"/Groups/{ids['tag']}", {"op": "replace", "path": "displayName", "value": "抗旱"})
    stale = edu.ops(f"/Groups/{ids['tag']}", {"op": "replace", "path": "displayName",
                                              "value": "x"},
                    headers={"If-Match": group.headers["ETag"]})
    assert stale.status_code == 412
    unit = edu.get(f"/OrgUnits/{ids['section']}")
    edu.ops(f"/OrgUnits/{ids['section']}", {"op": "replace", "path": "shortName",
                                            "value": "文书"})
    assert edu.get(f"/OrgUnits/{ids['section']}").headers["ETag"] != unit.headers["ETag"]
