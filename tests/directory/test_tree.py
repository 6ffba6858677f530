"""The organisation tree: create, rename, reorder, move, merge, abolish, Q re-derivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory import queries
from directory import tree
from directory.errors import DomainError
from directory.models import PATH_TOKEN_WIDTH
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import Post
from tests import factories as f
from tests.directory.helpers import audit_actions
from tests.directory.helpers import count
from tests.directory.helpers import last_audit
from tests.directory.helpers import summary


@pytest.fixture
def t(session, ctx):
    with session.begin():
        return f.qingpu(session, ctx)


@pytest.fixture
def ids(t):
    """Node ids taken before any move: moves expire every loaded object, and reloading one
    outside a transaction would open one (and, on SQLite, hold the write lock)."""
    return {k: n.id for k, n in t.items()}


def member_names(s, node_id):
    return sorted(r.name for r in queries.subtree_members(s, s.get_one(Node, node_id)))


# --- create ---------------------------------------------------------------------------

def test_create_derives_level_path_and_order(session, ctx, t):
    with session.begin():
        leaf = f.node(session, ctx, t["office"], "文书科")
        second = f.node(session, ctx, t["office"], "档案科")
    assert [t[k].level for k in ("root", "gov", "edu", "office")] == [0, 1, 2, 3]
    assert leaf.level == 4
    assert leaf.path == t["office"].path + tree.path_token(leaf.id)
    assert len(leaf.path) == 5 * PATH_TOKEN_WIDTH
    assert t["root"].path == tree.path_token(t["root"].id)
    assert (leaf.short_name, leaf.sort_order, second.sort_order) == ("文书科", 10, 20)


def _bad_spec(case, t, session, ctx):
    if case == "code_taken":
        return tree.NewNode(name="重复", code=t["edu"].code, parent_id=t["gov"].id)
    if case == "unknown_parent":
        return tree.NewNode(name="孤儿", code=f.code(), parent_id=f.uid())
    if case == "second_root":
        return tree.NewNode(name="另一个区", code=f.code(), parent_id=None)
    if case == "abolished_parent":
        empty = f.node(session, ctx, t["gov"], "临时办")  # no posts, no children
        tree.abolish(session, ctx, empty.id)
        return tree.NewNode(name="下属", code=f.code(), parent_id=empty.id)
    if case == "blank_name":
        return tree.NewNode(name="  ", code=f.code(), parent_id=t["gov"].id)
    if case == "long_code":
        return tree.NewNode(name="长", code="C" * 65, parent_id=t["gov"].id)
    raise AssertionError(case)


@pytest.mark.parametrize(("case", "code", "field"), [
    ("code_taken", "directory.node.code_taken", "code"),
    ("unknown_parent", "directory.node.not_found", "parent_id"),
    ("second_root", "directory.node.root_exists", "parent_id"),
    ("abolished_parent", "directory.node.abolished", "parent_id"),
    ("blank_name", "directory.node.required", "name"),
    ("long_code", "directory.node.too_long", "code"),
], ids=["code-taken", "unknown-parent", "second-root", "abolished-parent", "blank-name",
        "long-code"])
def test_create_refused_writes_nothing(session, sessions, ctx, t, case, code, field):
    with session.begin():
        spec = _bad_spec(case, t, session, ctx)
    nodes, events = count(sessions, Node), len(audit_actions(sessions))
    with session.begin():  # the caller carries on and commits: still nothing written
        with pytest.raises(DomainError) as exc:
            tree.create(session, ctx, spec)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert count(sessions, Node) == nodes
    assert len(audit_actions(sessions)) == events


def test_create_too_deep(session, ctx, t):
    with session.begin():
        parent = t["office"]
        while parent.level < tree.MAX_DEPTH:
            parent = f.node(session, ctx, parent, f"第{parent.level + 1}层")
        with pytest.raises(DomainError) as exc:
            f.node(session, ctx, parent, "太深")
    assert (exc.value.code, exc.value.field) == ("directory.node.too_deep", "parent_id")


# --- rename, update, reorder ----------------------------------------------------------

def test_rename_records_node_renamed(session, sessions, ctx, t):
    with session.begin():
        tree.update_node(session, ctx, t["office"].id, name="综合办公室", short_name="综合办")
    event = last_audit(sessions)
    assert (event.action, event.target_id) == ("node.renamed", str(t["office"].id))
    assert summary(event) == {"before": {"name": "办公室", "short_name": "办公室"},
                              "after": {"name": "综合办公室", "short_name": "综合办"}}
    with sessions() as s:
        assert s.get_one(Node, t["office"].id).name == "综合办公室"


def test_update_other_fields_and_noop(session, sessions, ctx, t):
    with session.begin():
        tree.update_node(session, ctx, t["office"].id, hidden=True, type="internal")
    assert last_audit(sessions).action == "node.updated"
    before = audit_actions(sessions)
    with session.begin():
        tree.update_node(session, ctx, t["office"].id, hidden=True)  # no change, no record
    assert audit_actions(sessions) == before


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"code": "X1"}, "directory.node.field_readonly", "code"),
    ({"path": "abc", "name": "新"}, "directory.node.field_readonly", "path"),
    ({"name": ""}, "directory.node.required", "name"),
    ({"name": "新名", "short_name": "短" * 101}, "directory.node.too_long", "short_name"),
], ids=["code", "path", "blank-name", "long-short-name"])
def test_update_refused_writes_nothing(session, sessions, ctx, t, changes, code, field):
    events = audit_actions(sessions)
    with session.begin():  # even a caller that carries on and commits has nothing written
        with pytest.raises(DomainError) as exc:
            tree.update_node(session, ctx, t["office"].id, **changes)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert audit_actions(sessions) == events
    with sessions() as s:
        assert s.get_one(Node, t["office"].id).name == "办公室"


def test_reorder_children(session, sessions, ctx, t):
    with session.begin():
        a = f.node(session, ctx, t["gov"], "甲局")
        b = f.node(session, ctx, t["gov"], "乙局")
        tree.reorder(session, ctx, t["gov"].id, [b.id, t["edu"].id, a.id])
        with pytest.raises(DomainError) as exc:
            tree.reorder(session, ctx, t["gov"].id, [t["office"].id])
    assert (exc.value.code, exc.value.field) == ("directory.node.not_a_child", "child_ids")
    with sessions() as s:
        assert [n.name for n in queries.children(s, t["gov"].id)] == [
            "乙局", "上海市青浦区教育局", "甲局"]
    assert "node.reordered" in audit_actions(sessions)


# --- move -----------------------------------------------------------------------------

def test_move_rewrites_levels_paths_and_members(session, sessions, ctx, dsettings, t, ids):
    with session.begin():
        deep = f.node(session, ctx, t["office"], "文书科")
        ids["deep"] = deep.id
        f.person(session, dsettings, ctx, t["edu"], "甲")
        f.person(session, dsettings, ctx, deep, "乙")
        moved = tree.move(session, ctx, ids["edu"], ids["town"])
        assert moved.parent_id == ids["town"]
    with sessions() as s:
        town, edu, office, leaf = (s.get_one(Node, ids[k])
                                   for k in ("town", "edu", "office", "deep"))
        assert (edu.level, office.level, leaf.level) == (3, 4, 5)
        assert edu.path == town.path + tree.path_token(edu.id)
        assert office.path == edu.path + tree.path_token(office.id)
        assert leaf.path == office.path + tree.path_token(leaf.id)
        assert {p.node_path for p in s.scalars(select(Post))} == {edu.path, leaf.path}
        assert member_names(s, ids["town"]) == ["乙", "甲"]
        assert member_names(s, ids["gov"]) == []
    event = last_audit(sessions)
    assert event.action == "node.moved"
    assert summary(event) == {"from_parent": str(ids["gov"]), "to_parent": str(ids["town"])}


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
def test_move_into_own_subtree_is_a_cycle(session, sessions, ctx, t, target):
    with session.begin():
        leaf = f.node(session, ctx, t["office"], "文书科")
    dest = {"itself": t["edu"], "child": t["office"], "grandchild": leaf}[target]
    events = audit_actions(sessions)
    with session.begin():
        with pytest.raises(DomainError) as exc:
            tree.move(session, ctx, t["edu"].id, dest.id)
    assert (exc.value.code, exc.value.field) == ("directory.node.cycle", "parent_id")
    assert audit_actions(sessions) == events
    with sessions() as s:
        assert s.get_one(Node, t["edu"].id).path == t["edu"].path
        assert s.get_one(Node, leaf.id).path == leaf.path


@pytest.mark.parametrize(("case", "code", "field"), [
    ("root", "directory.node.root_immovable", "node_id"),
    ("abolished_parent", "directory.node.abolished", "parent_id"),
    ("unknown_parent", "directory.node.not_found", "parent_id"),
], ids=["root", "abolished-parent", "unknown-parent"])
def test_move_refused(session, ctx, t, case, code, field):
    with session.begin():
        gone = f.node(session, ctx, t["gov"], "已撤销")
        tree.abolish(session, ctx, gone.id)
        node, dest = {"root": (t["root"], t["gov"].id), "abolished_parent": (t["edu"], gone.id),
                      "unknown_parent": (t["edu"], f.uid())}[case]
        with pytest.raises(DomainError) as exc:
            tree.move(session, ctx, node.id, dest)
    assert (exc.value.code, exc.value.field) == (code, field)


# --- merge and abolish ----------------------------------------------------------------

def test_merge_moves_people_and_children(session, sessions, ctx, dsettings, t, ids):
    with session.begin():
        child = f.node(session, ctx, t["edu"], "督导室")
        p = f.person(session, dsettings, ctx, t["edu"], "甲")
        q = f.person(session, dsettings, ctx, child, "乙")
        ids.update(child=child.id, p=p.id, q=q.id)
        merged = tree.merge(session, ctx, ids["edu"], ids["gov"])
        assert merged.status == NodeStatus.ABOLISHED
    with sessions() as s:
        source, gov = s.get_one(Node, ids["edu"]), s.get_one(Node, ids["gov"])
        assert (source.status, source.merged_into_id) == (NodeStatus.ABOLISHED, gov.id)
        assert source.abolished_at is not None
        office, moved_child = s.get_one(Node, ids["office"]), s.get_one(Node, ids["child"])
        assert office.parent_id == moved_child.parent_id == gov.id
        assert office.level == moved_child.level == 2
        assert queries.primary_post(s, ids["p"]).node_id == gov.id
        assert queries.primary_post(s, ids["p"]).node_path == gov.path
        assert queries.primary_post(s, ids["q"]).node_path == moved_child.path
        assert source.id in {n.id for n in queries.children(s, gov.id, include_abolished=True)}
        assert source.id not in {n.id for n in queries.children(s, gov.id)}
        assert member_names(s, gov.id) == ["乙", "甲"]
    assert summary(last_audit(sessions)) == {"into": str(ids["gov"]), "children": 2, "posts": 1}


@pytest.mark.parametrize("target", ["itself", "descendant"])
def test_merge_into_own_subtree_refused(session, ctx, t, target):
    with session.begin():
        dest = t["edu"] if target == "itself" else t["office"]
        with pytest.raises(DomainError) as exc:
            tree.merge(session, ctx, t["edu"].id, dest.id)
    assert (exc.value.code, exc.value.field) == ("directory.node.cycle", "target_id")


@pytest.mark.parametrize("content", ["child", "person"])
def test_abolish_refused_when_not_empty(session, ctx, dsettings, t, content):
    with session.begin():
        if content == "person":
            f.person(session, dsettings, ctx, t["office"])
            node = t["office"]
        else:
            node = t["edu"]
        with pytest.raises(DomainError) as exc:
            tree.abolish(session, ctx, node.id)
    assert (exc.value.code, exc.value.field) == ("directory.node.not_empty", "node_id")


def test_abolish_empty_node_stays_readable(session, sessions, ctx, t):
    with session.begin():
        tree.abolish(session, ctx, t["office"].id)
    with sessions() as s:
        node = s.get_one(Node, t["office"].id)
        assert node.status == NodeStatus.ABOLISHED and node.abolished_at is not None
        assert queries.children(s, t["edu"].id) == []
        assert [n.id for n in queries.children(s, t["edu"].id, include_abolished=True)] == [
            node.id]
    assert last_audit(sessions).action == "node.abolished"


def test_abolish_with_move_content_to(session, sessions, ctx, dsettings, t, ids):
    with session.begin():
        p = f.person(session, dsettings, ctx, t["edu"], "甲")
        ids["p"] = p.id
        tree.abolish(session, ctx, ids["edu"], move_content_to=ids["gov"])
        with pytest.raises(DomainError) as exc:
            tree.abolish(session, ctx, ids["town"], move_content_to=ids["village"])
    assert (exc.value.code, exc.value.field) == ("directory.node.cycle", "move_content_to")
    with sessions() as s:
        assert s.get_one(Node, ids["edu"]).status == NodeStatus.ABOLISHED
        assert s.get_one(Node, ids["office"]).parent_id == ids["gov"]
        assert queries.primary_post(s, ids["p"]).node_id == ids["gov"]


def test_abolish_root_refused(session, ctx, t):
    with session.begin():
        with pytest.raises(DomainError) as exc:
            tree.abolish(session, ctx, t["root"].id)
    assert (exc.value.code, exc.value.field) == ("directory.node.root_immovable", "node_id")


# --- Q classes follow the tree --------------------------------------------------------

def test_move_under_streets_rederives_default_classes(session, sessions, ctx, dsettings, t,
                                                      ids):
    with session.begin():
        people = [f.person(session, dsettings, ctx, t["office"], "甲"),
                  f.person(session, dsettings, ctx, t["edu"], "乙", visibility_class="Q1"),
                  f.person(session, dsettings, ctx, t["office"], "丙", visibility_class="Q2")]
        person_ids = [p.id for p in people]
    assert [p.visibility_class for p in people] == ["Q3", "Q1", "Q2"]

    def classes():
        with sessions() as s:
            return [s.get_one(Person, pid).visibility_class.value for pid in person_ids]

    with session.begin():
        tree.move(session, ctx, ids["edu"], ids["streets"])
    assert classes() == ["Q4", "Q1", "Q2"]
    with session.begin():
        tree.move(session, ctx, ids["edu"], ids["gov"])
    assert classes() == ["Q3", "Q1", "Q2"]
