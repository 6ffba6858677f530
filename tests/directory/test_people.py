"""The lifecycle of a person (DOMAIN.md §2): add, update, transfer, second, concurrent
posts, removal, deactivation; validation; atomicity of each command."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from directory import accounts
from directory import people
from directory import queries
from directory import tags
from directory import tree
from directory.errors import DomainError
from directory.models import Account
from directory.models import AccountStatus
from directory.models import DeactivationReason
from directory.models import Node
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import PostKind
from directory.models import TagMember
from tests import factories as f
from tests.directory.helpers import audit_actions
from tests.directory.helpers import count
from tests.directory.helpers import last_audit
from tests.directory.helpers import summary


@pytest.fixture
def t(session, ctx):
    with session.begin():
        tree_ = f.qingpu(session, ctx)
        tree_["residential"] = f.node(session, ctx, tree_["gov"], "机关居委会",
                                      type="residential")
        return tree_


@pytest.fixture
def zhang(session, ctx, dsettings, t):
    with session.begin():
        return f.person(session, dsettings, ctx, t["office"], "张伟")


def refused(exc_info, code, field):
    return (exc_info.value.code, exc_info.value.field) == (code, field)


# --- add ------------------------------------------------------------------------------

def test_add_with_primary_post(session, sessions, ctx, dsettings, t):
    mobile, id_number = f.mobile(), f.id_number()
    with session.begin():
        p = people.add(session, dsettings, ctx,
                       people.PersonData(name="张伟", mobile=mobile, id_number=id_number,
                                         gender="male", staffing_type="在编", email="zw@x.cn"),
                       people.PostSpec(node_id=t["office"].id, title="科员", sort_order=3))
    with sessions() as s:
        stored = s.get_one(Person, p.id)
        assert (stored.name_pinyin, stored.name_initials) == ("zhangwei", "zw")
        assert (stored.status, stored.gender, stored.email) == ("active", "male", "zw@x.cn")
        assert people.reveal(s, dsettings, stored, "mobile") == mobile
        assert people.reveal(s, dsettings, stored, "id_number") == id_number
        (post,) = queries.active_posts(s, p.id)
        assert (post.kind, post.node_id, post.node_path, post.title, post.sort_order) == (
            PostKind.PRIMARY, t["office"].id, t["office"].path, "科员", 3)
    event = last_audit(sessions)
    assert (event.action, event.target_id) == ("person.added", str(p.id))
    assert summary(event)["visibility_class"] == "Q3"


@pytest.mark.parametrize(("at", "explicit", "expected"), [
    ("office", None, "Q3"),
    ("edu", None, "Q3"),
    ("root", None, "Q3"),
    ("streets", None, "Q4"),
    ("town", None, "Q4"),
    ("village", None, "Q4"),
    ("residential", None, "Q4"),
    (None, None, "Q3"),
    ("edu", "Q1", "Q1"),
    ("town", "Q2", "Q2"),
    ("village", "Q3", "Q3"),
], ids=["office", "department", "root", "streets-category", "town", "village",
        "residential-outside-streets", "no-post", "explicit-Q1", "explicit-Q2-in-town",
        "explicit-Q3-in-village"])
def test_add_class_defaults(session, ctx, dsettings, t, at, explicit, expected):
    with session.begin():
        p = f.person(session, dsettings, ctx, t[at] if at else None,
                     visibility_class=explicit)
    assert p.visibility_class == expected
    assert p.visibility_class_explicit is (explicit is not None)


@pytest.mark.parametrize(("data", "code", "field"), [
    ({"name": None}, "directory.person.name", "name"),
    ({"name": " "}, "directory.person.name", "name"),
    ({"gender": "x"}, "directory.person.gender", "gender"),
    ({"staffing_type": "合同"}, "directory.person.staffing_type", "staffing_type"),
    ({"visibility_class": "Q5"}, "directory.person.visibility_class", "visibility_class"),
    ({"id_number": "110105194912310021"}, "directory.person.id_number_checksum", "id_number"),
    ({"id_number": f.id_number(birth="19490231")}, "directory.person.id_number_birthdate",
     "id_number"),
    ({"id_number": "11010519491231002"}, "directory.person.id_number_format", "id_number"),
    ({"id_number": "11010519491231002Y"}, "directory.person.id_number_format", "id_number"),
    ({"mobile": "12812345678"}, "directory.person.mobile_format", "mobile"),
    ({"mobile": "1381234567"}, "directory.person.mobile_format", "mobile"),
    ({"mobile": "+1 415 555 0100"}, "directory.person.mobile_format", "mobile"),
], ids=["no-name", "blank-name", "gender", "staffing", "class", "id-checksum", "id-date",
        "id-short", "id-letter", "mobile-prefix", "mobile-short", "mobile-foreign"])
def test_add_invalid_writes_nothing(session, sessions, ctx, dsettings, t, data, code, field):
    events = audit_actions(sessions)
    with session.begin():  # even a caller that carries on and commits has nothing written
        with pytest.raises(DomainError) as exc:
            people.add(session, dsettings, ctx,
                       people.PersonData(**{"name": "张伟", **data}),
                       people.PostSpec(node_id=t["office"].id))
    assert refused(exc, code, field)
    assert count(sessions, Person) == 0
    assert count(sessions, Post) == 0
    assert audit_actions(sessions) == events


@pytest.mark.parametrize("column", ["mobile", "id_number"])
def test_add_duplicate_sensitive_value(session, sessions, ctx, dsettings, t, column):
    value = f.mobile() if column == "mobile" else f.id_number(seq=7)
    with session.begin():
        f.person(session, dsettings, ctx, t["office"], **{column: value})
    formatted = "+86 " + value if column == "mobile" else value.lower()
    with pytest.raises(DomainError) as exc:
        with session.begin():
            f.person(session, dsettings, ctx, t["edu"], "李娜", **{column: formatted})
    assert refused(exc, f"directory.person.{column}_taken", column)
    assert count(sessions, Person) == 1


@pytest.mark.parametrize("op", ["add", "second", "concurrent", "transfer"])
def test_post_in_abolished_node_refused(session, sessions, ctx, dsettings, t, zhang, op):
    with session.begin():
        gone = f.node(session, ctx, t["gov"], "已撤销")
        tree.abolish(session, ctx, gone.id)
    spec, persons = people.PostSpec(node_id=gone.id), count(sessions, Person)
    with session.begin():  # refused before any write, even if the caller commits
        with pytest.raises(DomainError) as exc:
            if op == "add":
                people.add(session, dsettings, ctx, people.PersonData(name="李娜"), spec)
            elif op == "second":
                people.second(session, ctx, zhang.id, spec, dt.date(2025, 1, 1),
                              dt.date(2025, 6, 30))
            elif op == "concurrent":
                people.add_concurrent(session, ctx, zhang.id, spec)
            else:
                people.transfer(session, ctx, zhang.id, spec)
    assert refused(exc, "directory.node.abolished", "node_id")
    assert count(sessions, Person) == persons
    assert count(sessions, Post, Post.node_id == gone.id) == 0
    assert count(sessions, Post, Post.person_id == zhang.id, Post.active) == 1


# --- update, transfer, second, concurrent posts, removal ------------------------------

def test_update_fields_and_mobile(session, sessions, ctx, dsettings, zhang):
    old, new = people.reveal(session, dsettings, zhang, "mobile"), f.mobile()
    with session.begin():
        people.update(session, dsettings, ctx, zhang.id,
                      people.PersonData(name="张卫", mobile=new, rank="四级主任科员"))
    with sessions() as s:
        stored = s.get_one(Person, zhang.id)
        assert (stored.name, stored.name_pinyin, stored.rank) == ("张卫", "zhangwei", "四级主任科员")
        assert people.find_by_mobile(s, dsettings, new).id == zhang.id
        assert people.find_by_mobile(s, dsettings, old) is None
    event = last_audit(sessions)
    assert event.action == "person.updated"
    assert summary(event) == {"changed": {"name": "张卫", "mobile": "[set]",
                                          "rank": "四级主任科员"}}


@pytest.mark.parametrize(("data", "code", "field"), [
    ({"mobile": "taken"}, "directory.person.mobile_taken", "mobile"),
    ({"gender": "x"}, "directory.person.gender", "gender"),
    ({"id_number": "110105194912310021"}, "directory.person.id_number_checksum", "id_number"),
], ids=["mobile-taken", "gender", "id-checksum"])
def test_update_refused_writes_nothing(session, sessions, ctx, dsettings, t, zhang, data,
                                       code, field):
    with session.begin():
        other = f.person(session, dsettings, ctx, t["edu"], "李娜")
        if data.get("mobile") == "taken":
            data = {"mobile": people.reveal(session, dsettings, other, "mobile")}
    events, zhang_id = audit_actions(sessions), zhang.id  # the refusal expires zhang
    with session.begin():  # the caller carries on and commits: still nothing written
        with pytest.raises(DomainError) as exc:
            people.update(session, dsettings, ctx, zhang_id,
                          people.PersonData(name="张卫", rank="一级科员", **data))
    assert refused(exc, code, field)
    with sessions() as s:
        stored = s.get_one(Person, zhang_id)
        assert (stored.name, stored.rank, stored.gender) == ("张伟", None, "unspecified")
    assert audit_actions(sessions) == events


def test_transfer(session, sessions, ctx, dsettings, t, zhang):
    with session.begin():
        old = queries.primary_post(session, zhang.id)
        new = people.transfer(session, ctx, zhang.id,
                              people.PostSpec(node_id=t["village"].id, title="村主任"))
    with sessions() as s:
        ended = s.get_one(Post, old.id)
        assert not ended.active and ended.ended_at is not None
        current = queries.primary_post(s, zhang.id)
        assert (current.id, current.node_id, current.node_path) == (
            new.id, t["village"].id, t["village"].path)
        assert s.get_one(Person, zhang.id).visibility_class == "Q4"
    assert summary(last_audit(sessions))["to_node"] == str(t["village"].id)


def test_transfer_keeps_explicit_class(session, ctx, dsettings, t):
    with session.begin():
        p = f.person(session, dsettings, ctx, t["edu"], visibility_class="Q2")
        people.transfer(session, ctx, p.id, people.PostSpec(node_id=t["town"].id))
        assert p.visibility_class == "Q2"


def test_second_with_dates(session, sessions, ctx, dsettings, t, zhang):
    start, end = dt.date(2025, 3, 1), dt.date(2025, 8, 31)
    with session.begin():
        post = people.second(session, ctx, zhang.id, people.PostSpec(node_id=t["town"].id),
                             start, end)
        same_day = people.second(session, ctx, zhang.id, people.PostSpec(node_id=t["edu"].id),
                                 start, start)
        with pytest.raises(DomainError) as exc:
            people.second(session, ctx, zhang.id, people.PostSpec(node_id=t["gov"].id),
                          end, start)
    assert refused(exc, "directory.post.dates", "end_date")
    with sessions() as s:
        stored = s.get_one(Post, post.id)
        assert (stored.kind, stored.start_date, stored.end_date) == ("secondment", start, end)
        assert s.get_one(Post, same_day.id).end_date == start
        assert s.get_one(Person, zhang.id).visibility_class == "Q3"  # primary decides
    assert audit_actions(sessions)[-2:] == ["person.seconded", "person.seconded"]


def test_concurrent_post_and_end_post(session, sessions, ctx, dsettings, t, zhang):
    with session.begin():
        post = people.add_concurrent(session, ctx, zhang.id, people.PostSpec(node_id=t["town"].id))
        for node in (t["town"], t["office"]):
            with pytest.raises(DomainError) as exc:
                people.add_concurrent(session, ctx, zhang.id, people.PostSpec(node_id=node.id))
            assert refused(exc, "directory.post.duplicate", "node_id")
        primary = queries.primary_post(session, zhang.id)
        with pytest.raises(DomainError) as exc:
            people.end_post(session, ctx, primary.id)
        assert refused(exc, "directory.post.primary", "post_id")
        people.end_post(session, ctx, post.id)
        with pytest.raises(DomainError) as exc:
            people.end_post(session, ctx, post.id)
        assert refused(exc, "directory.post.not_found", "post_id")
    with sessions() as s:
        assert [p.id for p in queries.active_posts(s, zhang.id)] == [primary.id]
    assert audit_actions(sessions)[-2:] == ["post.added", "post.ended"]


def test_remove_from_node(session, sessions, ctx, dsettings, t, zhang):
    with session.begin():
        people.add_concurrent(session, ctx, zhang.id, people.PostSpec(node_id=t["town"].id))
        assert people.remove_from_node(session, ctx, zhang.id, t["town"].id) == 1
        with pytest.raises(DomainError) as exc:
            people.remove_from_node(session, ctx, zhang.id, t["town"].id)
    assert refused(exc, "directory.post.not_found", "node_id")
    with sessions() as s:
        assert [r.person_id for r in queries.subtree_members(s, s.get_one(Node, t["town"].id))
                ] == []
        assert queries.primary_post(s, zhang.id).node_id == t["office"].id
    assert summary(last_audit(sessions)) == {"node": str(t["town"].id), "posts": 1}


# --- deactivate -----------------------------------------------------------------------

@pytest.mark.parametrize("reason", [r.value for r in DeactivationReason])
def test_deactivate(session, sessions, ctx, dsettings, t, zhang, reason):
    with session.begin():
        people.add_concurrent(session, ctx, zhang.id, people.PostSpec(node_id=t["town"].id))
        account = accounts.create(session, dsettings, ctx, username="zhangwei",
                                  account_type="user", person_id=zhang.id)
        tag = tags.create(session, ctx, name="值班", owner_node_id=t["edu"].id)
        tags.add_member(session, ctx, tag.id, person_id=zhang.id)
        people.deactivate(session, ctx, zhang.id, reason, note="离职")
    with sessions() as s:
        stored = s.get_one(Person, zhang.id)
        assert (stored.status, stored.deactivation_reason) == (PersonStatus.DEACTIVATED, reason)
        assert stored.deactivated_at is not None
        assert queries.active_posts(s, zhang.id) == []
        assert s.scalar(select(Post.id).where(Post.person_id == zhang.id)) is not None
        assert s.get_one(Account, account.id).status == AccountStatus.DEACTIVATED
        assert s.scalar(select(TagMember.id).where(TagMember.person_id == zhang.id)) is None
        assert queries.subtree_members(s, s.get_one(Node, t["root"].id)) == []
    assert summary(last_audit(sessions)) == {"reason": reason, "note": "离职"}


def test_deactivate_refused(session, ctx, zhang):
    with session.begin():
        with pytest.raises(DomainError) as exc:
            people.deactivate(session, ctx, zhang.id, "fired")
        assert refused(exc, "directory.person.deactivation_reason", "reason")
        people.deactivate(session, ctx, zhang.id, "retired")
        with pytest.raises(DomainError) as exc:
            people.deactivate(session, ctx, zhang.id, "retired")
        assert refused(exc, "directory.person.deactivated", "person_id")


def test_initials_match_pypinyins_first_letters():
    """Initials come from the one pinyin conversion when every character is an item;
    whatever the name, they equal pypinyin's FIRST_LETTER style."""
    import random

    from pypinyin import Style
    from pypinyin import lazy_pinyin

    from directory.models import Person
    from directory.people import _set_name

    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x4E00, 0x9FA5)] + list("·- ab1Z")
    names = ["张伟", "欧阳娜娜", "单于", "曾参", "吕布", "重庆", "Anna张", "张 三",
             "阿卜杜·热合曼", "𠀀明", "李2", "王AB", "a"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))).strip() or "王"
              for _ in range(3000)]
    for name in names:
        person = Person()
        _set_name(person, name)
        assert person.name_initials == "".join(
            lazy_pinyin(name, style=Style.FIRST_LETTER)).lower(), name
        assert person.name_pinyin == "".join(lazy_pinyin(name)).lower()


# --- a person's own record (self-service) ---------------------------------------------


@pytest.fixture
def own(session, ctx, dsettings, zhang):
    with session.begin():
        account = accounts.create(session, dsettings, ctx, username="zhang.wei",
                                  account_type="user", person_id=zhang.id,
                                  password="Old-pass-2026!")
        return zhang.id, account.id


@pytest.mark.parametrize(("fields", "by_proxy", "code", "field"), [
    ({"email": "emails"}, True, "self_service.proxy", None),
    ({"email": "emails", "mobile": "phoneNumbers"}, False, "self_service.administered",
     "phoneNumbers"),
    ({"name": "displayName"}, False, "self_service.administered", "displayName"),
])
def test_change_own_record_decides_by_the_policy_and_writes_nothing_refused(
        session, ctx, dsettings, own, fields, by_proxy, code, field):
    """The self-service rule lives in the command: whichever adapter calls it, a proxy or
    an administered field is FORBIDDEN with the rule's code, and nothing is written."""
    person_id, account_id = own
    with session.begin():
        with pytest.raises(DomainError) as exc:
            people.change_own_record(session, dsettings, ctx, person_id, account_id, fields,
                                     by_proxy=by_proxy, emails=["new@qp.gov.cn"])
        assert exc.value.kind.value == "forbidden" and refused(exc, code, field)
    with session.begin():
        assert session.get(Person, person_id).email is None


@pytest.mark.parametrize(("emails", "code"), [
    (["a@qp.gov.cn", "b@qp.gov.cn"], "directory.person.email_count"),
    (["not an address"], "directory.person.email_invalid"),
])
def test_change_own_record_keeps_one_valid_email(session, ctx, dsettings, own, emails, code):
    person_id, account_id = own
    with session.begin():
        with pytest.raises(DomainError) as exc:
            people.change_own_record(session, dsettings, ctx, person_id, account_id,
                                     {"email": "emails"}, by_proxy=False, emails=emails)
        assert refused(exc, code, "email")


def test_change_own_record_writes_the_email_and_the_password(session, ctx, dsettings, own):
    person_id, account_id = own
    with session.begin():
        people.change_own_record(session, dsettings, ctx, person_id, account_id,
                                 {"email": "emails", "password": "password"}, by_proxy=False,
                                 emails=[" new@qp.gov.cn "], password="A-new-pass-2026!")
    with session.begin():
        assert session.get(Person, person_id).email == "new@qp.gov.cn"
        assert accounts.check_password(session, dsettings, session.get(Account, account_id),
                                       "A-new-pass-2026!")
