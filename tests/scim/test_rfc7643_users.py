"""Users (RFC 7643 §4.1, RFC 7644 §3.3–§3.6): people and their accounts, with the
enterprise extension and ours (posts and the person fields of DOMAIN.md §2)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from directory.models import Account
from directory.models import AccountStatus
from directory.models import AuditEvent
from directory.models import BrowserSession
from directory.models import Person
from directory.models import PersonStatus
from scim import schemas as s
from tests.factories import id_number
from tests.scim.conftest import new_user


def _full(ids: dict, **extra) -> dict:
    return new_user("chen.jing", **{
        "externalId": "hr-0001", "title": "科长",
        "emails": [{"value": "chen@qp.gov.cn", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "13912345678", "type": "mobile"}],
        "password": "initial-Passw0rd",
        s.GOV_USER: {"posts": [{"node": ids["office"], "kind": "primary", "title": "科长",
                                "order": 3},
                               {"node": ids["section"], "kind": "concurrent", "title": "顾问"}],
                     "visibilityClass": "Q2", "staffingType": "在编", "rank": "四级主任科员",
                     "positionLevel": "科级", "politicalStatus": "中共党员",
                     "leadershipDivision": "分管人事", "officePhone": "021-59720000",
                     "gender": "female", "notSearchable": True,
                     "nationalIdNumber": id_number(seq=321)},
        **extra})


def test_create_returns_the_user_with_location_and_etag(edu, ids):
    response = edu.post("/Users", _full(ids))
    assert response.status_code == 201, response.data
    body = response.get_json(force=True)
    assert response.headers["Location"] == body["meta"]["location"]
    assert response.headers["ETag"] == body["meta"]["version"]
    assert body["userName"] == "chen.jing" and body["displayName"] == "王芳"
    assert body["active"] is True and body["externalId"] == "hr-0001"
    assert body["emails"][0]["value"] == "chen@qp.gov.cn"
    assert {"value": "13912345678", "type": "mobile"} in body["phoneNumbers"]
    gov = body[s.GOV_USER]
    assert gov["visibilityClass"] == "Q2" and gov["notSearchable"] is True
    assert gov["staffingType"] == "在编" and gov["gender"] == "female"
    assert "nationalIdNumber" not in gov and "password" not in body
    kinds = {p["kind"]: p for p in gov["posts"]}
    assert kinds["primary"]["node"] == ids["office"] and kinds["primary"]["order"] == 3
    assert kinds["concurrent"]["node"] == ids["section"]
    assert body[s.ENTERPRISE] == {"organization": "上海市青浦区教育局", "department": "办公室"}
    again = edu.get(f"/Users/{body['id']}").get_json(force=True)
    assert again == body


def test_create_writes_the_account_with_an_initial_password(edu, ids, sessions):
    body = edu.post("/Users", _full(ids)).get_json(force=True)
    with sessions() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == uuid.UUID(body["id"])))
        assert account.username == "chen.jing" and account.password_hash
        assert account.must_change_password is True
        person = s_.get(Person, uuid.UUID(body["id"]))
        assert person.id_number_enc and person.id_number_hash
        actors = set(s_.scalars(select(AuditEvent.actor).where(
            AuditEvent.target_id.in_([body["id"], str(account.id)]))))
        assert actors == {f"app:{ids['edu_client']}"}


def test_user_name_is_unique_case_insensitively(edu, ids):
    assert edu.post("/Users", new_user("li.lei")).status_code == 201
    response = edu.post("/Users", new_user("LI.LEI"))
    assert response.status_code == 409
    assert response.get_json(force=True)["scimType"] == "uniqueness"


def test_external_id_is_unique_per_client(edu, town, ids):
    assert edu.post("/Users", new_user("a.one", externalId="E1")).status_code == 201
    clash = edu.post("/Users", new_user("a.two", externalId="E1"))
    assert clash.status_code == 409 and clash.get_json(force=True)["scimType"] == "uniqueness"
    assert town.post("/Users", new_user("a.three", externalId="E1")).status_code == 201


def test_a_post_outside_the_scope_is_refused(edu, ids):
    body = new_user("x.out", **{s.GOV_USER: {"posts": [{"node": ids["village"]}]}})
    response = edu.post("/Users", body)
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "invalidValue"


def test_active_false_freezes_and_ends_every_session(edu, ids, sessions):
    created = edu.post("/Users", _full(ids)).get_json(force=True)
    pid = uuid.UUID(created["id"])
    with sessions.begin() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == pid))
        s_.add(BrowserSession(id="a" * 64, account_id=account.id,
                              expires_at=account.created_at.replace(year=2099)))
    response = edu.ops(f"/Users/{pid}", {"op": "replace", "value": {"active": False}})
    assert response.status_code == 200 and response.get_json(force=True)["active"] is False
    with sessions() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == pid))
        assert account.status == AccountStatus.FROZEN
        assert s_.get(BrowserSession, "a" * 64).end_reason == "frozen"
        assert "account.frozen" in set(s_.scalars(select(AuditEvent.action).where(
            AuditEvent.actor == f"app:{ids['edu_client']}")))
    back = edu.ops(f"/Users/{pid}", {"op": "replace", "path": "active", "value": True})
    assert back.get_json(force=True)["active"] is True


def test_delete_deactivates_and_keeps_the_record(edu, ids, sessions):
    created = edu.post("/Users", _full(ids)).get_json(force=True)
    assert edu.delete(f"/Users/{created['id']}").status_code == 204
    assert edu.get(f"/Users/{created['id']}").status_code == 404
    with sessions() as s_:
        person = s_.get(Person, uuid.UUID(created["id"]))
        assert person.status == PersonStatus.DEACTIVATED
        assert person.deactivation_reason.value == "other"
        event = s_.scalar(select(AuditEvent).where(AuditEvent.action == "person.deactivated"))
        assert ids["edu_client"] in event.summary and event.actor.startswith("app:")
    assert edu.delete(f"/Users/{created['id']}").status_code == 404


def test_put_replaces_fields_and_posts(edu, ids):
    created = edu.post("/Users", _full(ids)).get_json(force=True)
    body = new_user("chen.jing", displayName="陈静", **{
        s.GOV_USER: {"posts": [{"node": ids["section"], "kind": "primary", "title": "科员"}],
                     "visibilityClass": "Q3"}})
    response = edu.put(f"/Users/{created['id']}", body)
    assert response.status_code == 200, response.data
    out = response.get_json(force=True)
    assert out["displayName"] == "陈静" and "title" not in out and "emails" not in out
    assert [(p["node"], p["kind"]) for p in out[s.GOV_USER]["posts"]] == [
        (ids["section"], "primary")]
    assert out["meta"]["version"] != created["meta"]["version"]


def test_put_cannot_change_the_user_name(edu, ids):
    created = edu.post("/Users", new_user("keep.me")).get_json(force=True)
    response = edu.put(f"/Users/{created['id']}", new_user("other.name"))
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "mutability"


def test_secondment_needs_dates(edu, ids):
    body = new_user("jie.diao", **{s.GOV_USER: {"posts": [
        {"node": ids["office"], "kind": "primary"},
        {"node": ids["section"], "kind": "secondment", "start": "2026-01-01",
         "end": "2026-06-30"}]}})
    created = edu.post("/Users", body)
    assert created.status_code == 201, created.data
    posts = created.get_json(force=True)[s.GOV_USER]["posts"]
    second = next(p for p in posts if p["kind"] == "secondment")
    assert (second["start"], second["end"]) == ("2026-01-01", "2026-06-30")
    body[s.GOV_USER]["posts"][1].pop("end")
    body["userName"] = "jie.diao2"
    assert edu.post("/Users", body).status_code == 400


def test_a_bad_value_is_invalid_value_and_nothing_is_written(edu, sessions):
    with sessions() as s_:
        before = s_.query(Person).count()
    bad = new_user("bad.gender", **{s.GOV_USER: {"gender": "robot"}})
    response = edu.post("/Users", bad)
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "invalidValue"
    with sessions() as s_:
        assert s_.query(Person).count() == before


def test_user_principal_names_are_user_names(edu, sessions):
    response = edu.post("/Users", new_user("Li.Na@QP.gov.cn"))
    assert response.status_code == 201, response.data
    body = response.get_json(force=True)
    assert body["userName"] == "Li.Na@QP.gov.cn"
    with sessions() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == uuid.UUID(body["id"])))
        assert account.username == "li.na.qp.gov.cn"
    found = edu.get("/Users", filter='userName eq "li.na@qp.gov.cn"').get_json(force=True)
    assert [r["id"] for r in found["Resources"]] == [body["id"]]
    clash = edu.post("/Users", new_user("LI.NA@qp.gov.cn"))
    assert clash.status_code == 409 and clash.get_json(force=True)["scimType"] == "uniqueness"
    assert edu.post("/Users", new_user("li.na.qp.gov.cn")).status_code == 409


def test_the_same_post_replayed_concurrently_makes_one_user(world, edu, sessions):
    import threading

    app, _ = world
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/scim/v2/Users", json=new_user("replay@qp.gov.cn"),
                                    headers={"Authorization": f"Bearer {edu.token}"}).status_code)

    threads = [threading.Thread(target=post) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409, 409]
    with sessions() as s_:
        assert s_.query(Person).filter(Person.name == "王芳").count() == 1


@pytest.mark.parametrize("body", [
    {"title": "x" * 101},
    {"externalId": "e" * 256},
    {s.GOV_USER: {"rank": "r" * 65}},
    {s.GOV_USER: {"officePhone": "1" * 41}},
    {s.GOV_USER: {"posts": ["not an object"]}},
    {s.GOV_USER: {"posts": [{"node": 5}]}},
    {s.GOV_USER: {"notSearchable": "yes"}},
    {"active": "maybe"},
    {"emails": [{"value": "a" * 250 + "@x.cn"}]},
    {"displayName": {"a": 1}},
], ids=lambda b: next(iter(b)) if next(iter(b)) != s.GOV_USER else next(iter(b[s.GOV_USER])))
def test_bad_values_are_invalid_value(edu, body):
    response = edu.post("/Users", new_user("bad.value", **body))
    assert response.status_code == 400, response.data
    assert response.get_json(force=True)["scimType"] in ("invalidValue", "invalidSyntax")


def test_password_change_through_patch(edu, ids, sessions):
    created = edu.post("/Users", new_user("pw.user")).get_json(force=True)
    with sessions() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == uuid.UUID(created["id"])))
        assert account.password_hash is None
    response = edu.ops(f"/Users/{created['id']}", {"op": "replace", "path": "password",
                                                   "value": "new-Passw0rd!"})
    assert response.status_code == 200 and "password" not in response.get_json(force=True)
    with sessions() as s_:
        account = s_.scalar(select(Account).where(Account.person_id == uuid.UUID(created["id"])))
        assert account.password_hash and account.must_change_password
    short = edu.ops(f"/Users/{created['id']}", {"op": "replace", "path": "password",
                                                "value": "short"})
    assert short.status_code == 400
