"""RFC 7644 §3.11 ``/Me`` writes: a person changes their own email and password through an
app's token issued to them with the ``scim`` scope, and nothing HR maintains
(policies.self_service); every refusal writes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from directory import accounts
from directory import people
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AuditEvent
from directory.models import BrowserSession
from directory.models import Person
from idp import sessions as browser_sessions
from idp import tokens
from idp.app import runtime
from policies import self_service
from tests.scim.conftest import Client
from tests.scim.conftest import scim_error

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GOV = "urn:govidp:params:scim:schemas:extension:gov:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PASSWORD = "an old long passphrase"
NEW = "a brand new passphrase"




def _token(app, account_id, client_id: str, scope: str = "openid scim",
           extra: dict | None = None) -> str:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject=str(account_id), client_id=client_id,
                                        scope=scope, extra=extra)


@pytest.fixture
def account(world, ids, sessions, dsettings, ctx):
    """李娜 (clerk) signs in as li.na; her record holds what HR maintains."""
    with sessions.begin() as s:
        people.update(s, dsettings, ctx, uuid.UUID(ids["clerk"]), people.PersonData(
            email="li.na@qp.gov.cn", office_phone="021-59700000", rank="四级主任科员",
            position="科员", external_id="hr-0001"))
        row = accounts.create(s, dsettings, ctx, username="li.na", account_type="user",
                              person_id=uuid.UUID(ids["clerk"]), password=PASSWORD,
                              must_change_password=False)
        return row.id


@pytest.fixture
def me(world, ids, account):
    app, _ = world
    return Client(app, _token(app, account, ids["edu_client"]))


def _state(sessions, ids) -> dict:
    """Everything a refused write must leave as it was."""
    with sessions() as s:
        person = s.get_one(Person, uuid.UUID(ids["clerk"]))
        row = s.scalar(select(Account).where(Account.person_id == person.id))
        return {c.key: getattr(person, c.key) for c in Person.__table__.columns} | {
            "password_hash": row.password_hash, "status": row.status,
            "must_change": row.must_change_password}


def _events(sessions, action: str) -> list[AuditEvent]:
    with sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.data
    return response.get_json(force=True)


# -- what a person changes ------------------------------------------------------------------

def test_the_allowlist_is_email_and_password() -> None:
    assert self_service.SELF_SERVICE == {"email", "password"}
    assert self_service.check_field("mobile").rule == "self_service.administered"
    assert not self_service.check_writer(by_proxy=True).allowed


def test_patch_replaces_the_email_audited_with_the_person_as_actor(me, ids, sessions,
                                                                   account):
    before = me.get("/Me")
    response = me.ops("/Me", {"op": "replace", "path": "emails",
                              "value": [{"value": "lina@qp.gov.cn", "type": "work"}]})
    body = _ok(response)
    assert body["emails"] == [{"value": "lina@qp.gov.cn", "type": "work"}]
    assert response.headers["Location"].endswith(f"/Users/{ids['clerk']}")
    assert response.headers["ETag"] != before.headers["ETag"]
    assert body["meta"]["version"] == response.headers["ETag"]
    with sessions() as s:
        assert s.get_one(Person, uuid.UUID(ids["clerk"])).email == "lina@qp.gov.cn"
    updated = _events(sessions, "person.updated")[-1]
    assert updated.actor == f"account:{account}" and updated.target_id == ids["clerk"]


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": 'emails[type eq "work"].value', "value": "lina@qp.gov.cn"},
    {"op": "replace", "value": {"emails": [{"value": "lina@qp.gov.cn"}]}},
    {"op": "Replace", "path": "emails", "value": {"value": "lina@qp.gov.cn"}},
], ids=["value-filter", "pathless", "entra-case"])
def test_patch_dialects_reach_the_email(me, ids, sessions, operation):
    _ok(me.ops("/Me", operation))
    with sessions() as s:
        assert s.get_one(Person, uuid.UUID(ids["clerk"])).email == "lina@qp.gov.cn"


def test_patch_removes_the_email(me, ids, sessions):
    body = _ok(me.ops("/Me", {"op": "remove", "path": "emails"}))
    assert "emails" not in body
    with sessions() as s:
        assert not s.get_one(Person, uuid.UUID(ids["clerk"])).email


def test_a_patch_that_changes_nothing_writes_no_field(me, sessions):
    _ok(me.ops("/Me", {"op": "replace", "path": "title", "value": "科员"},
               {"op": "replace", "path": "emails[type eq \"work\"].value",
                "value": "li.na@qp.gov.cn"}))
    assert _events(sessions, "person.updated")[-1].actor == "test:admin"


@pytest.mark.parametrize(("body", "detail"), [
    ({"op": "add", "path": "emails", "value": [{"value": "second@qp.gov.cn"}]}, "one address"),
    ({"op": "replace", "path": "emails", "value": [{"value": "not an address"}]}, "email"),
    ({"op": "replace", "path": "emails", "value": [{"value": 42}]}, "string"),
], ids=["two", "not-an-address", "not-a-string"])
def test_an_email_that_cannot_be_stored_is_invalid_value(me, ids, sessions, body, detail):
    before = _state(sessions, ids)
    assert detail in scim_error(me.ops("/Me", body), 400, "invalidValue")["detail"]
    assert _state(sessions, ids) == before


# -- what HR maintains ---------------------------------------------------------------------

HR_OWNED = [
    ("displayName", {"op": "replace", "path": "displayName", "value": "李小娜"}),
    ("title", {"op": "replace", "path": "title", "value": "科长"}),
    ("phoneNumbers", {"op": "replace", "path": 'phoneNumbers[type eq "mobile"].value',
                      "value": "13900000000"}),
    ("phoneNumbers", {"op": "add", "path": "phoneNumbers",
                      "value": [{"value": "021-1234", "type": "work"}]}),
    ("active", {"op": "replace", "path": "active", "value": False}),
    ("externalId", {"op": "replace", "path": "externalId", "value": "mine"}),
    (f"{GOV}:officePhone", {"op": "replace", "path": f"{GOV}:officePhone", "value": "1"}),
    (f"{GOV}:visibilityClass", {"op": "replace", "path": f"{GOV}:visibilityClass",
                                "value": "Q1"}),
    (f"{GOV}:rank", {"op": "replace", "value": {GOV: {"rank": "一级巡视员"}}}),
    (f"{GOV}:notSearchable", {"op": "replace", "path": f"{GOV}:notSearchable",
                              "value": True}),
    (f"{GOV}:posts", {"op": "remove", "path": f"{GOV}:posts"}),
    (f"{GOV}:nationalIdNumber", {"op": "add", "path": f"{GOV}:nationalIdNumber",
                                 "value": "110101199003074578"}),
    (f"{ENTERPRISE}:employeeNumber", {"op": "add", "path": f"{ENTERPRISE}:employeeNumber",
                                      "value": "007"}),
]


@pytest.mark.parametrize(("name", "operation"), HR_OWNED,
                         ids=[f"{n.rsplit(':', 1)[-1]}-{i}" for i, (n, _o) in
                              enumerate(HR_OWNED)])
def test_patch_of_what_hr_maintains_is_403_and_writes_nothing(me, ids, sessions, name,
                                                              operation):
    before = _state(sessions, ids)
    detail = scim_error(me.ops("/Me", operation), 403)["detail"]
    assert detail.startswith("self_service.administered") and f"'{name}'" in detail
    assert _state(sessions, ids) == before


def test_an_allowed_change_beside_a_refused_one_is_not_written(me, ids, sessions):
    before = _state(sessions, ids)
    scim_error(me.ops("/Me", {"op": "replace", "path": "emails",
                          "value": [{"value": "lina@qp.gov.cn"}]},
                  {"op": "replace", "path": "password", "value": NEW},
                  {"op": "replace", "path": "title", "value": "科长"}), 403)
    assert _state(sessions, ids) == before


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "name.formatted", "value": "李小娜"},
    {"op": "add", "path": "groups", "value": [{"value": str(uuid.uuid4())}]},
    {"op": "replace", "path": "userName", "value": "lina"},
    {"op": "replace", "path": "id", "value": str(uuid.uuid4())},
], ids=["name", "groups", "userName", "id"])
def test_patch_of_a_read_only_or_immutable_attribute_is_mutability(me, ids, sessions,
                                                                   operation):
    before = _state(sessions, ids)
    scim_error(me.ops("/Me", operation), 400, "mutability")
    assert _state(sessions, ids) == before


# -- PUT -------------------------------------------------------------------------------------

def _document(me) -> dict:
    return me.get("/Me").get_json(force=True)


def test_put_of_the_read_document_with_a_new_email(me, ids, sessions):
    doc = _document(me)
    before = _state(sessions, ids)
    doc["emails"] = [{"value": "lina@qp.gov.cn", "type": "work"}]
    body = _ok(me.put("/Me", doc))
    assert body["emails"] == [{"value": "lina@qp.gov.cn", "type": "work"}]
    after = _state(sessions, ids)
    assert after.pop("email") == "lina@qp.gov.cn"
    assert {k: v for k, v in after.items() if k not in ("version", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("email", "version", "updated_at")}


def test_put_leaves_what_it_does_not_name_as_it_is(me, ids, sessions):
    """PUT /Me never wipes what HR maintains: what it leaves out is not asserted."""
    doc = _document(me)
    body = _ok(me.put("/Me", {"schemas": [USER], "userName": "LI.NA",
                              "emails": [{"value": "lina@qp.gov.cn"}]}))
    for key in ("displayName", "title", "phoneNumbers", "externalId", GOV):
        assert body[key] == doc[key]
    with sessions() as s:
        person = s.get_one(Person, uuid.UUID(ids["clerk"]))
        assert (person.email, person.rank, person.office_phone) == (
            "lina@qp.gov.cn", "四级主任科员", "021-59700000")


def test_put_ignores_read_only_values(me, ids):
    doc = _document(me)
    doc["groups"] = [{"value": str(uuid.uuid4())}]
    doc["meta"] = {"version": 'W/"999"'}
    doc["name"] = {"formatted": "别人"}
    doc[ENTERPRISE]["department"] = "别处"
    body = _ok(me.put("/Me", doc))
    assert body["displayName"] == "李娜" and body.get("groups") == _document(me).get("groups")


@pytest.mark.parametrize(("name", "change"), [
    ("displayName", lambda doc: doc.update(displayName="李小娜")),
    ("title", lambda doc: doc.update(title="")),
    ("phoneNumbers", lambda doc: doc.update(phoneNumbers=[])),
    (f"{GOV}:posts", lambda doc: doc[GOV].update(posts=[])),
    (f"{GOV}:visibilityClass", lambda doc: doc[GOV].update(visibilityClass="Q1")),
    (f"{GOV}:nationalIdNumber", lambda doc: doc[GOV].update(nationalIdNumber="x")),
    (f"{ENTERPRISE}:manager", lambda doc: doc[ENTERPRISE].update(
        manager={"value": str(uuid.uuid4())})),
], ids=["displayName", "title-cleared", "phones-cleared", "posts", "class", "id-number",
        "manager"])
def test_put_that_would_change_what_hr_maintains_is_403(me, ids, sessions, name, change):
    doc = _document(me)
    change(doc)
    before = _state(sessions, ids)
    detail = scim_error(me.put("/Me", doc), 403)["detail"]
    assert f"'{name}'" in detail
    assert _state(sessions, ids) == before


def test_put_of_another_user_name_is_mutability(me, ids, sessions):
    doc = _document(me)
    doc["userName"] = "someone.else"
    before = _state(sessions, ids)
    scim_error(me.put("/Me", doc), 400, "mutability")
    assert _state(sessions, ids) == before


# -- passwords -----------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "code"), [
    ("short7!", "idp.password.too_short"),
    ("LI.NA", "idp.password.too_short"),
    ("li.na.li.na", None),
    ("password1", "idp.password.common"),
    ("Qwertyuiop", "idp.password.common"),
    (PASSWORD, "idp.password.reused"),
], ids=["short", "username-short", "fine", "common", "common-case", "current"])
def test_a_password_goes_through_the_sign_in_rules(me, ids, sessions, password, code):
    before = _state(sessions, ids)
    response = me.ops("/Me", {"op": "replace", "path": "password", "value": password})
    if code is None:
        _ok(response)
        return
    assert scim_error(response, 400, "invalidValue")["detail"].startswith(code + ":")
    assert _state(sessions, ids) == before


def test_the_login_name_is_refused_as_a_password(world, ids, sessions, dsettings, ctx):
    app, _ = world
    with sessions.begin() as s:
        row = accounts.create(s, dsettings, ctx, username="zhao.min.long",
                              account_type="user", person_id=uuid.UUID(ids["spy"]))
    client = Client(app, _token(app, row.id, ids["edu_client"]))
    body = scim_error(client.ops("/Me", {"op": "replace", "path": "password",
                                     "value": "Zhao.Min.Long"}), 400, "invalidValue")
    assert body["detail"].startswith("idp.password.username:")


def test_a_password_change_ends_every_browser_session(world, me, sessions, dsettings,
                                                      account):
    app, _ = world
    rt = runtime(app)
    with sessions.begin() as s:
        row = s.get_one(Account, account)
        row.must_change_password = True
        browser_sessions.start(s, rt.settings, row)
        browser_sessions.start(s, rt.settings, row)
    body = _ok(me.ops("/Me", {"op": "replace", "path": "password", "value": NEW}))
    assert "password" not in body
    with sessions() as s:
        row = s.get_one(Account, account)
        assert accounts.check_password(s, dsettings, row, NEW)
        assert not accounts.check_password(s, dsettings, row, PASSWORD)
        assert row.must_change_password is False
        ended = s.scalars(select(BrowserSession).where(
            BrowserSession.account_id == account)).all()
        assert len(ended) == 2 and {e.end_reason for e in ended} == {"password_changed"}
    changed = _events(sessions, "account.password_changed")[-1]
    assert changed.actor == f"account:{account}" and changed.target_id == str(account)
    assert NEW not in changed.summary
    assert _events(sessions, "account.password_reset") == []


def test_put_changes_the_password_and_the_email_in_one_transaction(me, ids, sessions,
                                                                    dsettings, account):
    _ok(me.put("/Me", {"schemas": [USER], "password": NEW,
                       "emails": [{"value": "lina@qp.gov.cn"}]}))
    with sessions() as s:
        assert accounts.check_password(s, dsettings, s.get_one(Account, account), NEW)
        assert s.get_one(Person, uuid.UUID(ids["clerk"])).email == "lina@qp.gov.cn"
    before = _state(sessions, ids)
    scim_error(me.put("/Me", {"schemas": [USER], "password": "password1",
                          "emails": [{"value": "other@qp.gov.cn"}]}), 400, "invalidValue")
    assert _state(sessions, ids) == before


def test_service_provider_config_advertises_change_password(edu):
    body = _ok(edu.get("/ServiceProviderConfig"))
    assert body["changePassword"] == {"supported": True}
    password = next(a for a in _ok(edu.get(f"/Schemas/{USER}"))["attributes"]
                    if a["name"] == "password")
    assert password["mutability"] == "writeOnly" and "/Me" in password["description"]


# -- ETags -----------------------------------------------------------------------------------

def test_if_match_is_honoured_as_for_users(me, edu, ids, sessions):
    tag = me.get("/Me").headers["ETag"]
    assert edu.get(f"/Users/{ids['clerk']}").headers["ETag"] == tag
    assert me.get("/Me", headers={"If-None-Match": tag}).status_code == 304
    change = {"op": "replace", "path": "emails", "value": [{"value": "lina@qp.gov.cn"}]}
    done = me.ops("/Me", change, headers={"If-Match": tag})
    _ok(done)
    assert edu.get(f"/Users/{ids['clerk']}").headers["ETag"] == done.headers["ETag"]
    before = _state(sessions, ids)
    stale = {"op": "replace", "path": "emails", "value": [{"value": "x@qp.gov.cn"}]}
    scim_error(me.ops("/Me", stale, headers={"If-Match": tag}), 412)
    scim_error(me.put("/Me", {"emails": [{"value": "x@qp.gov.cn"}]}, headers={"If-Match": tag}),
           412)
    assert _state(sessions, ids) == before
    _ok(me.ops("/Me", stale, headers={"If-Match": done.headers["ETag"]}))
    _ok(me.ops("/Me", change, headers={"If-Match": "*"}))


# -- what /Me does not do --------------------------------------------------------------------

def test_post_and_delete_are_403(me, ids, sessions):
    before = _state(sessions, ids)
    created = scim_error(me.post("/Me", {"schemas": [USER], "userName": "li.na2",
                                     "displayName": "李娜"}), 403)
    assert created["detail"].startswith("self_service.administered")
    scim_error(me.delete("/Me"), 403)
    assert _state(sessions, ids) == before
    assert me.get("/Me").status_code == 200


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_an_apps_token_keeps_the_501(edu, method):
    response = edu.http.open("/scim/v2/Me", method=method, json={},
                             headers=edu._headers(None))
    scim_error(response, 501)


def test_a_proxys_token_reads_but_writes_nothing(world, ids, sessions, account):
    app, _ = world
    proxy = Client(app, _token(app, account, ids["edu_client"],
                               extra={"act": {"sub": str(uuid.uuid4())}}))
    assert proxy.get("/Me").status_code == 200
    before = _state(sessions, ids)
    for response in (
            proxy.ops("/Me", {"op": "replace", "path": "password", "value": NEW}),
            proxy.put("/Me", {"emails": [{"value": "lina@qp.gov.cn"}]})):
        assert scim_error(response, 403)["detail"].startswith("self_service.proxy")
    assert _state(sessions, ids) == before


@pytest.mark.parametrize("how", ["frozen", "deactivated"])
def test_a_frozen_or_deactivated_persons_token_is_dead(world, me, ids, sessions, ctx,
                                                        account, how):
    with sessions.begin() as s:
        if how == "frozen":
            accounts.freeze(s, ctx, account)
        else:
            people.deactivate(s, ctx, uuid.UUID(ids["clerk"]), "retired")
    before = _state(sessions, ids)
    for response in (me.get("/Me"),
                     me.ops("/Me", {"op": "replace", "path": "password", "value": NEW}),
                     me.put("/Me", {"emails": [{"value": "lina@qp.gov.cn"}]}),
                     me.post("/Me", {}), me.delete("/Me")):
        scim_error(response, 401)
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    after = _state(sessions, ids)
    assert after == before
    assert after["status"] == (AccountStatus.FROZEN if how == "frozen"
                               else AccountStatus.DEACTIVATED)


def test_an_expired_token_is_refused(world, ids, account):
    app, _ = world
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=str(account), client_id=ids["edu_client"],
                                         scope="scim", ttl=-3600)
    scim_error(Client(app, token).ops("/Me", {"op": "replace", "path": "password",
                                          "value": NEW}), 401)


def test_without_the_scim_scope_nothing_is_written(world, ids, sessions, account):
    app, _ = world
    client = Client(app, _token(app, account, ids["edu_client"], scope="openid"))
    before = _state(sessions, ids)
    scim_error(client.ops("/Me", {"op": "replace", "path": "password", "value": NEW}), 403)
    assert _state(sessions, ids) == before


def test_state_helper_sees_a_change(me, ids, sessions) -> None:
    """The refusal tests compare this snapshot: it must notice a real change."""
    before = _state(sessions, ids)
    _ok(me.ops("/Me", {"op": "replace", "path": "emails",
                       "value": [{"value": "lina@qp.gov.cn"}]}))
    assert _state(sessions, ids) != before
