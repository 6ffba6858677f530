"""RFC 7644 §3.7: Bulk with bulkId references (a node and its people in one request),
failOnErrors, circular references, maxOperations and maxPayloadSize (413)."""

from __future__ import annotations

from directory import audit
from directory import scim_store
from directory.models import Node
from directory.models import Person
from scim import batch
from scim import schemas as s
from tests.directory.helpers import audit_events


def _bulk(*operations, **extra) -> dict:
    return {"schemas": [s.BULK_REQUEST], "Operations": list(operations), **extra}


def _user(name: str, node_ref: str) -> dict:
    return {"schemas": [s.USER], "userName": name, "displayName": name,
            s.GOV_USER: {"posts": [{"node": node_ref, "kind": "primary"}]}}


def test_a_node_and_its_people_in_one_request(edu, ids):
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": _user("bulk.one",
                                                                          "bulkId:n1")},
        {"method": "POST", "path": "/OrgUnits", "bulkId": "n1", "data": {
            "displayName": "新科室", "code": "BULK-1", "parent": ids["office"]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
            "displayName": "新组", "members": [{"value": "bulkId:u1"},
                                              {"value": "bulkId:n1"}]}},
        {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {
            "schemas": [s.PATCH_OP], "Operations": [
                {"op": "replace", "path": "title", "value": "科员"}]}}))
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["schemas"] == [s.BULK_RESPONSE]
    statuses = [(o.get("bulkId"), o["status"]) for o in body["Operations"]]
    assert statuses == [("u1", "201"), ("n1", "201"), ("g1", "201"), (None, "200")]
    user_id = body["Operations"][0]["location"].rsplit("/", 1)[-1]
    node_id = body["Operations"][1]["location"].rsplit("/", 1)[-1]
    user = edu.get(f"/Users/{user_id}").get_json(force=True)
    assert user[s.GOV_USER]["posts"][0]["node"] == node_id and user["title"] == "科员"
    group = edu.get(body["Operations"][2]["location"].split("/scim/v2")[1]).get_json(force=True)
    assert {m["value"] for m in group["members"]} == {user_id, node_id}


def test_circular_references_are_409(edu, ids):
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {
            "displayName": "甲", "members": [{"value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {
            "displayName": "乙", "members": [{"value": "bulkId:a"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "c", "data": {"displayName": "丙"}}))
    ops = response.get_json(force=True)["Operations"]
    assert [o["status"] for o in ops] == ["409", "409", "201"]


def test_unknown_bulk_id_and_fail_on_errors(edu, ids, sessions):
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": _user("ok.one",
                                                                         "bulkId:none")},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"userName": "b!d"}},
        {"method": "POST", "path": "/Users", "bulkId": "z", "data": _user("never.made",
                                                                         ids["office"])},
        failOnErrors=2))
    ops = response.get_json(force=True)["Operations"]
    assert [o["status"] for o in ops] == ["400", "400"]
    assert ops[0]["response"]["scimType"] == "invalidValue"
    with sessions() as s_:
        assert s_.query(Person).filter(Person.name == "never.made").count() == 0


def test_too_many_operations_is_413(edu):
    ops = [{"method": "DELETE", "path": f"/Users/{i}"} for i in range(s.MAX_OPERATIONS + 1)]
    response = edu.post("/Bulk", _bulk(*ops))
    assert response.status_code == 413
    assert response.get_json(force=True)["status"] == "413"


def test_too_large_a_payload_is_413_and_nothing_is_written(edu, ids, sessions):
    with sessions() as s_:
        before = s_.query(Node).count()
    big = {"method": "POST", "path": "/OrgUnits", "bulkId": "n", "data": {
        "displayName": "大", "code": "BIG", "parent": ids["office"], "type": "x" * s.MAX_PAYLOAD}}
    response = edu.post("/Bulk", _bulk(big))
    assert response.status_code == 413
    with sessions() as s_:
        assert s_.query(Node).count() == before


def test_malformed_bulk_requests(edu):
    assert edu.post("/Bulk", {"Operations": "x"}).status_code == 400
    assert edu.post("/Bulk", _bulk({"method": "POST", "path": "/Users"})).status_code == 400
    response = edu.post("/Bulk", _bulk({"method": "GET", "path": "/Users"}))
    assert response.status_code == 400
    bad_path = edu.post("/Bulk", _bulk({"method": "POST", "path": "/Nope", "bulkId": "q",
                                        "data": {}}))
    assert bad_path.get_json(force=True)["Operations"][0]["status"] == "400"


def test_an_operation_after_a_failed_one_still_runs(edu, ids):
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": _user("dup.user",
                                                                         ids["office"])},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": _user("DUP.user",
                                                                         ids["office"])},
        {"method": "PATCH", "path": f"/Users/{ids['clerk']}", "data": {
            "schemas": [s.PATCH_OP], "Operations": [
                {"op": "replace", "path": "title", "value": "科员"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": {
            **_user("bad.gender", ids["office"]), s.GOV_USER: {"gender": "robot"}}},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": _user("after.fail",
                                                                         ids["office"])}))
    ops = response.get_json(force=True)["Operations"]
    assert [o["status"] for o in ops] == ["201", "409", "200", "400", "201"]
    assert ops[1]["response"]["scimType"] == "uniqueness"


def _plain(name: str, node: str, **extra) -> dict:
    return {**_user(name, node), "emails": [{"value": f"{name}@qp.gov.cn", "type": "work"}],
            **extra}


def test_a_run_of_plain_users_answers_as_single_posts_would(edu, ids, sessions):
    """Plain User POSTs are created together (scim/batch.py): each still gets its own
    answer, a refused one writes nothing, the others stand, with the same rows and audit
    records as a single POST makes."""
    mobile = {"phoneNumbers": [{"value": "13912345678", "type": "mobile"}]}
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": _plain(
            "run.one", ids["office"], externalId="HR-1", **mobile, **{
                s.ENTERPRISE: {"employeeNumber": "E-1"}})},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": _plain(
            "RUN.one", ids["office"])},                                   # userName twice
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": _plain(
            "run.two", ids["office"], **mobile)},                         # mobile twice
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": _plain(
            "run.three", ids["office"], externalId="HR-1")},              # externalId twice
        {"method": "POST", "path": "/Users", "bulkId": "e", "data": _plain(
            "run.four", ids["village"])},                                 # outside the scope
        {"method": "POST", "path": "/Users", "bulkId": "f", "data": _plain(
            "run.five", ids["office"], phoneNumbers=[{"value": "12", "type": "mobile"}])},
        {"method": "POST", "path": "/Users", "bulkId": "g", "data": {
            "schemas": [s.USER], "userName": "run.six", "displayName": "六"}},  # home node
    ))
    ops = response.get_json(force=True)["Operations"]
    assert [(o["bulkId"], o["status"]) for o in ops] == [
        ("a", "201"), ("b", "409"), ("c", "409"), ("d", "409"), ("e", "400"), ("f", "400"),
        ("g", "201")]
    assert [o["response"].get("scimType") for o in ops[1:4]] == ["uniqueness"] * 3
    assert all(o["version"] == 'W/"1"' for o in (ops[0], ops[6]))
    one = edu.get(ops[0]["location"].split("/scim/v2")[1]).get_json(force=True)
    assert (one["userName"], one["externalId"], one[s.ENTERPRISE]["employeeNumber"],
            one["phoneNumbers"], one["active"]) == (
        "run.one", "HR-1", "E-1", [{"value": "13912345678", "type": "mobile"}], True)
    assert one[s.GOV_USER]["posts"][0]["node"] == ids["office"]
    six = edu.get(ops[6]["location"].split("/scim/v2")[1]).get_json(force=True)
    assert six[s.GOV_USER]["posts"][0]["node"] == ids["edu"]
    found = edu.get("/Users", filter='userName sw "run."').get_json(force=True)
    assert sorted(r["userName"] for r in found["Resources"]) == ["run.one", "run.six"]
    single = edu.post("/Users", _plain("run.seven", ids["office"]))
    assert single.status_code == 201
    events = audit_events(sessions)
    actions = [e.action for e in events if e.actor.startswith("app:")]
    assert actions.count("person.added") == 3 and actions.count("account.created") == 3
    assert actions.count("person.scim_user_name_set") == 3
    assert sorted(e.action for e in events if e.target_id == one["id"]) == [
        "person.added", "person.enterprise_set", "person.scim_user_name_set"]
    with sessions() as s_:
        assert list(audit.verify(s_)) == []
        assert s_.query(Person).filter(Person.name.like("run.%")).count() == 2  # one, seven
        assert s_.query(Person).filter(Person.name == "六").count() == 1


def test_a_run_the_database_refuses_goes_one_by_one(edu, ids, monkeypatch):
    """A concurrent writer may take a value between the run's checks and its INSERTs: the
    run's SAVEPOINT rolls back and each of its Users is created as any operation is."""
    original, runs = batch.create, []

    def refused_once(call, docs):
        runs.append(len(docs))
        if len(runs) == 1:  # the run of two; then each alone (batch.create_one)
            raise scim_store.IntegrityError("INSERT", {}, Exception("taken meanwhile"))
        return original(call, docs)

    monkeypatch.setattr(batch, "create", refused_once)
    response = edu.post("/Bulk", _bulk(
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": _plain("late.one",
                                                                          ids["office"])},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": _plain("LATE.one",
                                                                          ids["office"])}))
    ops = response.get_json(force=True)["Operations"]
    assert [o["status"] for o in ops] == ["201", "409"]
    assert runs == [2, 1, 1]
    assert edu.get(ops[0]["location"].split("/scim/v2")[1]).status_code == 200


def test_a_large_run_of_users_is_written_whole(edu, ids, sessions):
    """More plain Users than db.COPY_FROM in one request (PostgreSQL writes their posts,
    identities, accounts and audit records by COPY): each is there as a single POST makes
    it, and the audit chain verifies."""
    from directory import db

    count = 2 * db.COPY_FROM + 7
    ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": {
        **_user(f"copy.user.{i}", ids["office"]), "externalId": f"HR-COPY-{i}",
        "emails": [{"value": f"copy.{i}@example.gov.cn", "type": "work"}],
        s.ENTERPRISE: {"employeeNumber": f"E{i:04d}"}}} for i in range(count)]
    response = edu.post("/Bulk", _bulk(*ops))
    assert response.status_code == 200, response.data
    results = response.get_json(force=True)["Operations"]
    assert [o["status"] for o in results] == ["201"] * count
    single = edu.post("/Users", {**_user("copy.user.single", ids["office"]),
                                 "externalId": "HR-COPY-single",
                                 "emails": [{"value": "single@example.gov.cn", "type": "work"}],
                                 s.ENTERPRISE: {"employeeNumber": "E-single"}})
    assert single.status_code == 201, single.data
    reference = edu.get(f"/Users/{single.get_json(force=True)['id']}").get_json(force=True)

    def shape(doc: dict) -> dict:
        drop = {"id", "userName", "externalId", "emails", "meta", "phoneNumbers",
                "displayName", "name"}
        out = {k: v for k, v in doc.items() if k not in drop}
        out[s.ENTERPRISE] = {k: v for k, v in doc[s.ENTERPRISE].items()
                             if k != "employeeNumber"}
        return out

    for i in (0, db.COPY_FROM, count - 1):
        user = edu.get(results[i]["location"].split("/scim/v2")[1]).get_json(force=True)
        assert (user["userName"], user["externalId"]) == (f"copy.user.{i}", f"HR-COPY-{i}")
        assert user[s.ENTERPRISE]["employeeNumber"] == f"E{i:04d}"
        assert user["active"] is True
        assert shape(user) == shape(reference)
    found = edu.get("/Users", filter='userName sw "copy.user."', count="1").get_json(
        force=True)
    assert found["totalResults"] == count + 1
    with sessions() as session:
        assert list(audit.verify(session)) == []
    assert sum(e.action == "account.created" for e in audit_events(sessions)) >= count + 1
