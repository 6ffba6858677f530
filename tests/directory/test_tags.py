"""Tags (标签): create with shares, members, removal, sharing, deletion, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import people
from directory import tags
from directory import tree
from directory.errors import DomainError
from directory.models import Node
from directory.models import Tag
from directory.models import TagMember
from directory.models import TagShare
from tests import factories as f
from tests.directory.helpers import audit_actions
from tests.directory.helpers import count
from tests.directory.helpers import last_audit
from tests.directory.helpers import summary


@pytest.fixture
def t(session, ctx, dsettings):
    """Ids (not objects: a rolled-back refusal expires objects, and reloading one outside
    a transaction would hold SQLite's write lock) of a tree and two people."""
    with session.begin():
        nodes = f.qingpu(session, ctx)
        nodes["zhang"] = f.person(session, dsettings, ctx, nodes["office"], "张伟")
        nodes["li"] = f.person(session, dsettings, ctx, nodes["town"], "李娜")
        return {k: v.id for k, v in nodes.items()}


@pytest.fixture
def tag(session, ctx, t):
    with session.begin():
        return tags.create(session, ctx, name="防汛值班", owner_node_id=t["edu"],
                           shared_with=[t["town"], t["gov"]], description="汛期").id


def members(sessions, tag_id):
    """The member rows as a set, checking there is no duplicate row."""
    with sessions() as s:
        rows = [(m.person_id, m.node_id)
                for m in s.scalars(select(TagMember).where(TagMember.tag_id == tag_id))]
    assert len(rows) == len(set(rows)), rows
    return set(rows)


def shares(sessions, tag_id):
    with sessions() as s:
        return set(s.scalars(select(TagShare.node_id).where(TagShare.tag_id == tag_id)))


def code_field(exc_info):
    return exc_info.value.code, exc_info.value.field


def test_create_with_shares(sessions, t, tag):
    with sessions() as s:
        stored = s.get_one(Tag, tag)
        assert (stored.name, stored.owner_node_id, stored.description) == (
            "防汛值班", t["edu"], "汛期")
    assert shares(sessions, tag) == {t["town"], t["gov"]}
    event = last_audit(sessions)
    assert (event.action, event.target_id) == ("tag.created", str(tag))
    assert summary(event) == {"name": "防汛值班", "owner": str(t["edu"]),
                              "shared_with": [str(t["town"]), str(t["gov"])]}


def test_create_with_repeated_share(session, sessions, ctx, t):
    with session.begin():
        tag = tags.create(session, ctx, name="重复共享", owner_node_id=t["edu"],
                          shared_with=[t["town"], t["town"]]).id
    assert shares(sessions, tag) == {t["town"]}


def test_same_name_under_another_owner(session, ctx, t, tag):
    with session.begin():
        assert tags.create(session, ctx, name="防汛值班", owner_node_id=t["town"]).id != tag


@pytest.mark.parametrize(("case", "code", "field"), [
    ("name_taken", "directory.tag.name_taken", "name"),
    ("blank_name", "directory.tag.name", "name"),
    ("long_name", "directory.tag.name", "name"),
    ("unknown_owner", "directory.node.not_found", "owner_node_id"),
    ("abolished_owner", "directory.node.abolished", "owner_node_id"),
    ("unknown_share", "directory.node.not_found", "shared_with"),
], ids=["name-taken", "blank-name", "long-name", "unknown-owner", "abolished-owner",
        "unknown-share"])
def test_create_refused(session, sessions, ctx, t, tag, case, code, field):
    with session.begin():
        gone = f.node(session, ctx, session.get(Node, t["gov"]), "已撤销").id
        tree.abolish(session, ctx, gone)
    kw = {"name": "新标签", "owner_node_id": t["edu"]}
    kw.update({"name_taken": {"name": " 防汛值班 "}, "blank_name": {"name": " "},
               "long_name": {"name": "长" * 101}, "unknown_owner": {"owner_node_id": f.uid()},
               "abolished_owner": {"owner_node_id": gone},
               "unknown_share": {"shared_with": [f.uid()]}}[case])
    events = audit_actions(sessions)
    with session.begin():  # refused before any write: nothing lands even if the caller commits
        with pytest.raises(DomainError) as exc:
            tags.create(session, ctx, **kw)
    assert code_field(exc) == (code, field)
    assert count(sessions, Tag) == 1
    assert audit_actions(sessions) == events


def test_members(session, sessions, ctx, t, tag):
    with session.begin():
        tags.add_member(session, ctx, tag, person_id=t["zhang"])
        tags.add_member(session, ctx, tag, node_id=t["village"])
    assert members(sessions, tag) == {(t["zhang"], None), (None, t["village"])}
    assert summary(last_audit(sessions)) == {"person_id": None, "node_id": str(t["village"])}
    cases = [
        ({}, "directory.tag.member", "member"),
        ({"person_id": t["li"], "node_id": t["town"]}, "directory.tag.member", "member"),
        ({"person_id": t["zhang"]}, "directory.tag.member_exists", "member"),
        ({"node_id": t["village"]}, "directory.tag.member_exists", "member"),
        ({"person_id": f.uid()}, "directory.person.not_found", "person_id"),
        ({"node_id": f.uid()}, "directory.node.not_found", "node_id"),
    ]
    for kw, code, field in cases:
        with pytest.raises(DomainError) as exc:
            with session.begin():
                tags.add_member(session, ctx, tag, **kw)
        assert code_field(exc) == (code, field), kw
    with pytest.raises(DomainError) as exc:
        with session.begin():
            tags.add_member(session, ctx, f.uid(), person_id=t["li"])
    assert code_field(exc) == ("directory.tag.not_found", "tag_id")
    assert len(members(sessions, tag)) == 2


def test_deactivated_person_cannot_join(session, ctx, t, tag):
    with session.begin():
        people.deactivate(session, ctx, t["li"], "retired")
        with pytest.raises(DomainError) as exc:
            tags.add_member(session, ctx, tag, person_id=t["li"])
    assert code_field(exc) == ("directory.person.deactivated", "person_id")


def test_remove_member(session, sessions, ctx, t, tag):
    with session.begin():
        tags.add_member(session, ctx, tag, person_id=t["zhang"])
        tags.add_member(session, ctx, tag, person_id=t["li"])
        tags.add_member(session, ctx, tag, node_id=t["village"])
        tags.remove_member(session, ctx, tag, person_id=t["zhang"])
        tags.remove_member(session, ctx, tag, node_id=t["village"])
    assert members(sessions, tag) == {(t["li"], None)}
    assert audit_actions(sessions)[-2:] == ["tag.member_removed", "tag.member_removed"]
    for kw, code in (({"person_id": t["zhang"]}, "directory.tag.not_member"),
                     ({}, "directory.tag.member"),
                     ({"person_id": t["li"], "node_id": t["town"]}, "directory.tag.member")):
        with pytest.raises(DomainError) as exc:
            with session.begin():
                tags.remove_member(session, ctx, tag, **kw)
        assert exc.value.code == code, kw
    assert members(sessions, tag) == {(t["li"], None)}


def test_set_shares(session, sessions, ctx, t, tag):
    with session.begin():
        tags.set_shares(session, ctx, tag, [t["village"], t["root"], t["village"]])
    assert shares(sessions, tag) == {t["village"], t["root"]}
    assert last_audit(sessions).action == "tag.shared"
    with pytest.raises(DomainError) as exc:
        with session.begin():
            tags.set_shares(session, ctx, tag, [t["gov"], f.uid()])
    assert code_field(exc) == ("directory.node.not_found", "shared_with")
    assert shares(sessions, tag) == {t["village"], t["root"]}
    with session.begin():
        tags.set_shares(session, ctx, tag, [])
    assert shares(sessions, tag) == set()


def test_delete(session, sessions, ctx, t, tag):
    with session.begin():
        tags.add_member(session, ctx, tag, person_id=t["zhang"])
        tags.delete_tag(session, ctx, tag)
    assert count(sessions, Tag) == count(sessions, TagMember) == count(sessions, TagShare) == 0
    event = last_audit(sessions)
    assert (event.action, summary(event)) == ("tag.deleted", {"name": "防汛值班"})
    with pytest.raises(DomainError) as exc:
        with session.begin():
            tags.delete_tag(session, ctx, tag)
    assert code_field(exc) == ("directory.tag.not_found", "tag_id")


def test_audit_trail(sessions, session, ctx, t, tag):
    with session.begin():
        tags.add_member(session, ctx, tag, person_id=t["zhang"])
        tags.remove_member(session, ctx, tag, person_id=t["zhang"])
        tags.set_shares(session, ctx, tag, [t["root"]])
        tags.delete_tag(session, ctx, tag)
    tail = [e for e in audit_actions(sessions) if e.startswith("tag.")]
    assert tail == ["tag.created", "tag.member_added", "tag.member_removed", "tag.shared",
                    "tag.deleted"]


def test_merged_node_membership_follows_without_duplicate(session, sessions, ctx, t, tag):
    town, village, office = t["town"], t["village"], t["office"]
    with session.begin():
        for node_id in (village, office):
            tags.add_member(session, ctx, tag, node_id=node_id)
        other = tags.create(session, ctx, name="村务", owner_node_id=town).id
        tags.add_member(session, ctx, other, node_id=village)
        tree.merge(session, ctx, village, office)
    assert members(sessions, tag) == {(None, office)}
    assert members(sessions, other) == {(None, office)}
